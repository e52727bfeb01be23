// One point of a sweep, run: the spec at that N, the network built,
// verified and certified, the forward pass chosen as `eval --backend auto`
// chooses it (Backends.h), the cost model consulted, and the model evaluated
// on generated inputs, as `eval` does; everything recorded in a SweepRow.
#pragma once

#include "backends/Backends.h"
#include "Pipeline.h"
#include "eval/EvalSettings.h"
#include "sweep/InputCostModel.h"
#include "sweep/Sweep.h"

#include <atomic>
#include <optional>
#include <string>
#include <vector>

namespace handwire {

// The spec at every length of a sweep: parsed once, analysed at each N.
struct SweepSpecs {
  Spec base; // with the overrides, at the spec's own max_length
  std::vector<int64_t> lengths;
  std::vector<Spec> atLength;      // per length (the base where it failed)
  std::vector<std::string> errors; // per length: empty, or why it failed
};

// Parses `path` once and analyses it with `overrides`, then at every
// length with task.max_length=N added. An error without N goes to `diags`
// and gives nullopt; an error at one N refuses that N only (errors[i]).
std::optional<SweepSpecs>
loadSweepSpecs(const std::string &path,
               const std::vector<std::string> &overrides,
               const std::vector<int64_t> &lengths, DiagnosticEngine &diags);

// The first error in `diags` and the notes that follow it, on one line.
std::string firstError(const DiagnosticEngine &diags);

struct PointSettings {
  CompileOptions compile;
  EvalOverrides eval; // samples, seed and inputs over the spec's
  int evalThreads = 1;
  double timeBudgetSeconds = 0; // the scheduler's; named in the row's reason
  double inputTimeLimit = 0;    // seconds per input (InputCostModel)
  const std::atomic<bool> *interrupted = nullptr; // e.g. by SIGINT
};

class SweepPointRunner {
public:
  SweepPointRunner(const SweepSpecs &specs, PointSettings settings)
      : specs_(specs), settings_(std::move(settings)),
        costs_(settings_.inputTimeLimit) {}
  // Thread-safe: points run on several workers.
  SweepRow run(const SweepPoint &p, PointSlot &slot);

private:
  SweepRow describe(const SweepPoint &p) const;
  std::optional<Network> build(const Spec &spec, const ModelSpec &model,
                               SweepRow &row) const;
  void evaluateInto(const Spec &spec, const Network &net,
                    const ForwardBackends &backends, double flops,
                    PointSlot &slot, SweepRow &row);

  const SweepSpecs &specs_;
  PointSettings settings_;
  InputCostModel costs_;
};

} // namespace handwire
