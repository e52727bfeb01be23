// Seeded input generators. Example i of a stream depends only on (seed, i),
// so a run is reproducible with any number of threads.
//  - uniform:     each task's typical inputs (index lookup: lengths uniform
//                 in 1..N, symbols and query uniform).
//  - adversarial: each task's worst cases (index lookup: length N; queries at
//                 the positions whose codes are most coherent with another,
//                 from the network's certificate, the competing position
//                 holding a different symbol).
//  - mixed:       alternates uniform and adversarial.
// The generators themselves are part of each task's definition
// (tasks/*Task.cpp, docs/evaluation.md); no generated input ever breaks the
// task's promise (e.g. nearest neighbour's margin).
#pragma once

#include "spec/TaskSpec.h"
#include "tasks/TaskDefinition.h"

#include <cstdint>
#include <vector>

namespace handwire {

class ExampleGenerator {
public:
  ExampleGenerator(const TaskSpec &task, InputDistribution dist, uint64_t seed,
                   AdversarialHints hints = {});
  // Fills `out` with example number `index` of the stream.
  void generate(uint64_t index, Example &out) const;

private:
  const TaskSpec &task_;
  const TaskDefinition &definition_;
  InputDistribution dist_;
  uint64_t seed_;
  AdversarialHints hints_;
};

} // namespace handwire
