// Seeded input generators. Example i of a stream depends only on (seed, i),
// so a run is reproducible with any number of threads.
//  - uniform:     lengths uniform in 1..N, symbols and query uniform.
//  - adversarial: length N; queries at the positions whose codes are most
//                 coherent with another (from the network's certificate),
//                 the competing position holding a different symbol.
//  - mixed:       alternates uniform and adversarial.
// Other tasks follow the same idea (docs/evaluation.md); nearest neighbour's
// adversarial inputs are sets at the margin, and no generated input ever
// breaks the task's margin.
#pragma once

#include "spec/TaskSpec.h"

#include <cstdint>
#include <vector>

namespace handwire {

struct Example {
  std::vector<int32_t> tokens;
  int64_t label = 0;
  bool adversarial = false;
};

// Hints about where a particular network is weakest (e.g. the code's most
// coherent pairs, as 1-based positions). Empty hints give plain worst cases.
struct AdversarialHints {
  std::vector<std::pair<int64_t, int64_t>> coherentPositions;
};

class ExampleGenerator {
public:
  ExampleGenerator(const TaskSpec &task, InputDistribution dist, uint64_t seed,
                   AdversarialHints hints = {});
  // Fills `out` with example number `index` of the stream.
  void generate(uint64_t index, Example &out) const;

private:
  const TaskSpec &task_;
  InputDistribution dist_;
  uint64_t seed_;
  AdversarialHints hints_;
};

} // namespace handwire
