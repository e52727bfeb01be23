// One model evaluated with the backends chooseBackends() picked: the raw
// result and what the reports derive from it (accuracy, throughput, whether
// the backends agree), in one plain struct that `eval`'s text printer and
// JSON writer both read, and `sweep` turns into a row.
#pragma once

#include "backends/Backends.h"
#include "eval/Evaluate.h"

#include <optional>
#include <vector>

namespace handwire {

struct BackendSummary {
  BackendResult result;
  double accuracy = 0;        // 1 - mismatches / samples (0 with no input)
  double inputsPerSecond = 0; // per thread: samples / seconds in the backend
};

struct ModelEvalReport {
  EvalResult result;
  std::vector<BackendSummary> backends; // as result.backends
  std::optional<JitCompileTimes> jit;   // if the JIT ran
  // With more than one backend: they agree if their decisions do and their
  // logits are within logitTolerance.
  bool compared = false;
  double logitTolerance = 0;
  bool agree = true;

  // Mismatches summed over the backends, plus one if they disagree.
  int64_t failures() const;
};

// Runs `evaluate` over `backends` (which must be ok()) and summarises it.
ModelEvalReport evaluateModel(const TaskSpec &task, const Network &net,
                              const ForwardBackends &backends,
                              const EvalOptions &options);

} // namespace handwire
