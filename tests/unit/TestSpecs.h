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

// One model of `arch` with `layers` layers on a task over {a, b, c, d}.
inline Spec taskSpec(TaskKind kind, int64_t N, int layers = 1,
                     Architecture arch = Architecture::RNN) {
  Spec s;
  s.task.kind = kind;
  s.task.maxLength = N;
  s.task.alphabet = {"a", "b", "c", "d"};
  ModelSpec m;
  m.name = "m";
  m.arch = arch;
  m.layers = layers;
  s.models = {m};
  return s;
}

} // namespace handwire::testing
