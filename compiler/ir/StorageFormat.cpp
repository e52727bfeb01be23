#include "ir/StorageFormat.h"

#include <cmath>
#include <cstring>

namespace handwire {

const char *storageFormatName(StorageFormat f) {
  return f == StorageFormat::BF16 ? "bf16" : "f16";
}

std::optional<StorageFormat> storageFormatOf(Precision p) {
  if (p == Precision::F16)
    return StorageFormat::F16;
  if (p == Precision::BF16)
    return StorageFormat::BF16;
  return std::nullopt;
}

float roundToBf16(float x) {
  if (std::isnan(x))
    return x;
  uint32_t bits;
  std::memcpy(&bits, &x, 4);
  bits += 0x7FFF + ((bits >> 16) & 1); // round to nearest even; may carry to
  bits &= 0xFFFF0000u;                 // the exponent, and to infinity
  std::memcpy(&x, &bits, 4);
  return x;
}

float roundToF16(float x) {
  if (x == 0.0f || std::isnan(x) || std::isinf(x)) // zeros: most weights
    return x;
  const float a = std::fabs(x);
  if (a >= 65520.0f) // rounds past the largest half, 65504
    return std::copysign(INFINITY, x);
  if (a < 6.103515625e-05f) // subnormal halves: multiples of 2^-24
    return std::ldexp(std::nearbyint(std::ldexp(x, 24)), -24);
  uint32_t bits;
  std::memcpy(&bits, &x, 4);
  bits += 0xFFF + ((bits >> 13) & 1); // 10 stored mantissa bits, to nearest
  bits &= ~0x1FFFu;
  std::memcpy(&x, &bits, 4);
  return x;
}

float roundToFormat(float x, StorageFormat f) {
  return f == StorageFormat::BF16 ? roundToBf16(x) : roundToF16(x);
}

void roundWeights(Network &net, StorageFormat f) {
  // Direct calls, so that the loops inline them (the position tables of
  // large N are tens of MB).
  forEachWeightArray(net, [f](const std::string &, float *w, int64_t n) {
    if (f == StorageFormat::BF16)
      for (int64_t i = 0; i < n; ++i)
        w[i] = roundToBf16(w[i]);
    else
      for (int64_t i = 0; i < n; ++i)
        w[i] = roundToF16(w[i]);
  });
}

} // namespace handwire
