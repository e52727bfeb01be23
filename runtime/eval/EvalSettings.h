// How an evaluation is set up from a spec's eval block and the command line,
// and the --write-decisions file format, shared by `eval` and `sweep`.
#pragma once

#include "eval/Evaluate.h"
#include "spec/TaskSpec.h"

#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <utility>
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

// Continuous inputs (models with F > 0) would make those lines megabytes
// long, so they go to a binary sidecar FILE.features (docs/export.md): per
// line of FILE, in order, a uint32 count of non-zero rows, then count x
// (uint32 position, F float32), little-endian; rows not listed are zero. A
// model with F = 0 writes count 0 for each of its lines.
inline constexpr const char *kDecisionFeaturesSuffix = ".features";
// The '#' line of FILE that names the sidecar (a file name, relative to
// FILE's directory) and gives F of each model (name, F), in order:
// "# features: F MODEL=F ...; <layout>; sidecar: NAME\n" (NAME is the rest
// of the line, so it may hold spaces).
std::string decisionFeaturesComment(
    const std::string &sidecar,
    const std::vector<std::pair<std::string, int64_t>> &dims);
// The sidecar's part for `records` of a model with F numbers per position
// (each record's features: empty, or tokens.size() x F floats).
void writeDecisionFeatures(std::ostream &out,
                           const std::vector<DecisionRecord> &records,
                           int64_t F);

// The inputs of model `model` in a decisions file written by the functions
// above, in order: index (the line's place among all input lines), tokens,
// expected answer, recorded decision and, if the file names a sidecar,
// features (tokens.size() x F, zero rows filled in). Throws UserError naming
// the file and line (or the sidecar and record) on anything malformed, and
// when `model` has no inputs.
std::vector<DecisionRecord> readDecisionRecords(const std::string &path,
                                                const std::string &model);

} // namespace handwire
