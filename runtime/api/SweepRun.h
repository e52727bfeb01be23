// A sweep from a program: the spec's models compiled and evaluated at every
// length, as `handwire sweep` runs them (runtime/sweep: the scheduler, the
// point runner), returned as rows instead of written to files.
#pragma once

#include "spec/TaskSpec.h"
#include "sweep/SweepTable.h"

#include <atomic>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace handwire::api {

struct SweepRequest {
  std::string spec;                   // a .task file
  std::vector<std::string> overrides; // "block.field=value" (not max_length)
  std::vector<int64_t> lengths;       // N; sorted and deduplicated here
  std::vector<std::string> models;    // by name; empty: all
  int64_t samples = 200;              // inputs per point, at most
  std::optional<uint64_t> seed;       // none: the spec's
  std::optional<InputDistribution> inputs;
  double timeBudgetSeconds = 10; // of evaluation per point; 0: none
  double inputTimeLimit = 300;   // seconds per input (InputCostModel)
  int jobs = 0;                  // cores; 0: all
  bool pointsAtOnce = false;     // --parallel points
  bool allowUncertified = false;
  int64_t memoryLimitBytes = int64_t(1) << 30; // per point
};

// Runs the sweep; `cancel` (optional) stops it between inputs, `poll` is
// called on the calling thread every tick (e.g. to set `cancel`). Throws
// SpecError for a spec that fails without N, InvalidArgument for a bad
// request (no lengths, task.max_length overridden, an unknown model).
std::vector<SweepRow> runSweep(const SweepRequest &request,
                               std::atomic<bool> *cancel = nullptr,
                               const std::function<void()> &poll = {});

} // namespace handwire::api
