// Specs built in code, so that stage tests do not depend on the parser.
#pragma once

#include "spec/TaskSpec.h"
#include "spec/Vocabulary.h"

#include <string>
#include <vector>

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

// f(tokens) for every index-lookup input s_1..s_n IDX_p with n <= N.
template <typename F>
void forAllIndexLookupInputs(const TaskSpec &task, F &&f) {
  const Vocabulary voc = vocabularyOf(task);
  const int64_t V = voc.symbolCount;
  for (int64_t n = 1; n <= task.maxLength; ++n) {
    std::vector<int32_t> tokens(static_cast<size_t>(n + 1), 0);
    int64_t combos = 1;
    for (int64_t i = 0; i < n; ++i)
      combos *= V;
    for (int64_t code = 0; code < combos; ++code) {
      int64_t x = code;
      for (int64_t i = 0; i < n; ++i, x /= V)
        tokens[i] = static_cast<int32_t>(x % V);
      for (int64_t p = 1; p <= n; ++p) {
        tokens[n] = static_cast<int32_t>(voc.firstIndexToken + p - 1);
        f(tokens);
      }
    }
  }
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

// One model of every construction in the registry at N (nearest neighbour:
// d = 8, L = 4, margin 1/4; associative recall: 16 keys, values {a, b, c, d}).
// Tests that iterate it also check that it covers the registry, so a new
// construction cannot be left out.
struct ConstructionCase {
  const char *name;
  Spec spec;
  int model; // index into spec.models
};

inline std::vector<ConstructionCase> everyConstruction(int64_t N) {
  using A = Architecture;
  Spec hewitt = taskSpec(TaskKind::BoundedDyck, N);
  hewitt.models[0].construction = "hewitt";
  Spec nn = taskSpec(TaskKind::NearestNeighbour, N, 2, A::Transformer);
  nn.task.dimension = 8;
  nn.task.labels = 4;
  nn.task.margin = 0.25;
  nn.models[0].code = CodeFamily::Rademacher;
  nn.models[0].seed = 7;
  Spec nnRnn = taskSpec(TaskKind::NearestNeighbour, N);
  nnRnn.task = nn.task;
  Spec ar = taskSpec(TaskKind::AssociativeRecall, N, 1, A::Transformer);
  ar.task.keys = 16;
  Spec arRnn = taskSpec(TaskKind::AssociativeRecall, N);
  arRnn.task = ar.task;
  return {{"AssociativeRecallTransformer", ar, 0},
          {"AssociativeRecallRnn", arRnn, 0},
          {"IndexLookupTransformer", indexLookupSpec(N), 0},
          {"IndexLookupRnn", indexLookupSpec(N), 1},
          {"BoundedDyckRnn", taskSpec(TaskKind::BoundedDyck, N), 0},
          {"BoundedDyckHewittRnn", hewitt, 0},
          {"BoundedDyckTransformer4L",
           taskSpec(TaskKind::BoundedDyck, N, 4, A::Transformer), 0},
          {"EqualityTransformer2L",
           taskSpec(TaskKind::StringEquality, N, 2, A::Transformer), 0},
          {"EqualityTransformer1L",
           taskSpec(TaskKind::StringEquality, N, 1, A::Transformer), 0},
          {"EqualityRnn", taskSpec(TaskKind::StringEquality, N), 0},
          {"DisjointnessTransformer2L",
           taskSpec(TaskKind::Disjointness, N, 2, A::Transformer), 0},
          {"DisjointnessTransformer1L",
           taskSpec(TaskKind::Disjointness, N, 1, A::Transformer), 0},
          {"DisjointnessRnn", taskSpec(TaskKind::Disjointness, N), 0},
          {"NearestNeighbourTransformer", nn, 0},
          {"NearestNeighbourRnn", nnRnn, 0}};
}

} // namespace handwire::testing
