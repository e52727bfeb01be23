// Stage "construct", first half: which construction realizes a model of the
// spec, and whether its weights fit in memory, decided before anything is
// allocated. Refusals name the constructions that exist, the lower bound that
// is the reason where there is one, and the cheapest legal alternative.
#pragma once

#include "spec/TaskSpec.h"
#include "support/Diagnostics.h"

#include <cstdint>

namespace handwire {

class Construction;

struct CompileOptions {
  // Emit a network even if its certificate does not hold (for experiments:
  // the eval report then shows what an uncertified model gets wrong).
  bool allowUncertified = false;
  // Refuse to build networks whose weights would need more memory than this.
  int64_t memoryLimitBytes = int64_t(8) << 30;
};

// The construction for one model of the spec (by task, architecture and
// layers), or nullptr with an error naming the ones that exist, the lower bound
// where one is the reason, and the cheapest model of another depth or
// architecture that fits in memoryLimitBytes.
const Construction *selectConstruction(
    const Spec &spec, const ModelSpec &model, DiagnosticEngine &diags,
    int64_t memoryLimitBytes = CompileOptions{}.memoryLimitBytes);

// selectConstruction, then the memory check: nullptr with an error if the
// weights would exceed options.memoryLimitBytes (with the cheapest model of
// another depth or architecture that fits, if any). Allocates nothing.
const Construction *planConstruction(const Spec &spec, const ModelSpec &model,
                                     const CompileOptions &options,
                                     DiagnosticEngine &diags);

} // namespace handwire
