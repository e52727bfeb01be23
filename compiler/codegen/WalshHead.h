// Planning a Walsh head (ForwardPlan.h, WalshHeadPlan): private to the plan.
#pragma once

#include "codegen/ForwardPlan.h"

#include <optional>
#include <string>

namespace handwire {

// Layer 0's position parts of one head: queries (Q pos[i]) and keys (K
// pos[j]), and the value tables, with the values' feature part (V feature,
// empty without continuous inputs, whose norm is at most featureNorm). The
// caller has checked that the head's scores depend on positions only (no
// token or feature part in its queries or keys).
struct PositionHead {
  const FoldedTable &queryPos, &keyPos, &valueTok, &valuePos;
  const CompactMatrix &valueFeat;
  double featureNorm = 0;
  int64_t dk = 0, dv = 0, maxLength = 0;
};

// The Walsh plan of the head, or nothing (and `whyNot`) if its scores are
// not a XOR convolution whose dyadic blocks of keys are cosets, if its group
// would be larger than 4 maxLength, or if its rounding bound exceeds the
// dense kernel's.
std::optional<WalshHeadPlan> planWalshHead(const PositionHead &head,
                                           std::string &whyNot);

} // namespace handwire
