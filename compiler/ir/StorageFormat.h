// 16-bit storage formats and their rounding, shared by the emulated reference
// pass (runtime/reference) and the JIT's 16-bit plans (codegen/ForwardPlan):
// both must round weights identically, so there is one definition.
#pragma once

#include "ir/Network.h"

#include <optional>

namespace handwire {

enum class StorageFormat { F16, BF16 };
const char *storageFormatName(StorageFormat f); // "f16", "bf16"
// The format a model's precision stores in (none for f32 and f64).
std::optional<StorageFormat> storageFormatOf(Precision p);

// Round to nearest even in the format, with its range: past the largest
// finite value is infinity; f16 keeps its subnormals. NaN stays NaN.
float roundToBf16(float x);
float roundToF16(float x);
float roundToFormat(float x, StorageFormat f);

// Every weight of the network as the format stores it.
void roundWeights(Network &net, StorageFormat f);

} // namespace handwire
