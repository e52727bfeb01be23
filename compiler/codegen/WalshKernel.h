// The Walsh head's kernel (ForwardPlan.h, WalshHeadPlan), compiled ahead of
// time and called from the JIT's forward pass (EmitWalsh.cpp). Nothing in it
// depends on a constant of the model that the JIT could fold: its loops run
// over the plan's tables and over block sizes known only per block, and
// JIT-compiling them cost half of a two-layer model's compile time.
#pragma once

#include "codegen/ForwardPlan.h"

#include <cstdint>

namespace handwire {

// The head's output (before its output matrix) for every row t < length,
// written over row t's first dv entries of `sums` (M x (dv + 1)).
// `values`: the head's value of every position, length x dv. Scratch:
// `block` ((dv + 1) 2^maxLevel), `transform` (2^maxLevel) and `running`
// (2 dv + 1): the JIT passes its scratch regions.
void walshHeadKernel(const WalshHeadPlan *plan, int64_t dv, int64_t length,
                     const float *values, float *sums, float *block,
                     float *transform, float *running);

} // namespace handwire
