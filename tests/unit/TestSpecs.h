// Specs built in code, so that stage tests do not depend on the parser.
#pragma once

#include "spec/TaskSpec.h"

#include <string>

namespace handwire::testing {

inline Spec indexLookupSpec(int64_t N, int V = 4, double coherence = 0.5,
                            uint64_t seed = 7) {
  Spec s;
  s.file = "<test>";
  s.task.kind = TaskKind::IndexLookup;
  s.task.maxLength = N;
  for (int c = 0; c < V; ++c)
    s.task.alphabet.push_back(std::string(1, static_cast<char>('a' + c)));
  ModelSpec tf;
  tf.name = "transformer";
  tf.arch = Architecture::Transformer;
  tf.coherence = coherence;
  tf.seed = seed;
  ModelSpec rnn;
  rnn.name = "rnn";
  rnn.arch = Architecture::RNN;
  s.models = {tf, rnn};
  return s;
}

} // namespace handwire::testing
