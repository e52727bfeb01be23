// Which storage precisions a network is exact in (codes-and-bounds.md §4),
// from bounds on its weights, its selection heads' gaps and its smallest
// attention averages. The model of arithmetic is the one 16-bit matrix units
// implement and `eval --precision` emulates: weights and activations are
// stored in the format (round to nearest), sums accumulate in fp32.
#pragma once

#include "ir/Network.h"
#include "spec/TaskSpec.h"

#include <string>
#include <vector>

namespace handwire {

PrecisionVerdict certifyPrecision(const Network &net, Precision p);

// Verdicts for f32, f16 and bf16, in that order.
std::vector<PrecisionVerdict> precisionVerdicts(const Network &net);

} // namespace handwire
