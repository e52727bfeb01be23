// How an evaluation is set up from a spec's eval block and the command line,
// and the --write-decisions file format, shared by `eval` and `sweep`.
#pragma once

#include "eval/Evaluate.h"
#include "spec/TaskSpec.h"

#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

namespace handwire {

// What the command line may change of a spec's eval block.
struct EvalOverrides {
  int64_t samples = 0;                     // 0: the spec's
  std::optional<uint64_t> seed;            // none: the spec's
  std::optional<InputDistribution> inputs; // none: the spec's
};

// The spec's samples, seed and input distribution, each replaced by its
// override where one is given. Threads, progress and cancellation are left
// at their defaults for the caller.
EvalOptions evalOptionsFor(const EvalSpec &spec, const EvalOverrides &o);

// "uniform", "adversarial", "mixed" (inputDistributionName's names).
std::optional<InputDistribution>
inputDistributionByName(const std::string &name);

// The first line of a --write-decisions file.
extern const char *const kDecisionFileHeader;
// One line per input, "MODEL DECISION EXPECTED TOKEN...", so that other
// runtimes (tests/onnx, tests/export) can replay the inputs.
void writeDecisionLines(std::ostream &out, const std::string &model,
                        const std::vector<DecisionRecord> &records);

} // namespace handwire
