// Small integer helpers shared by the constructions and the codes.
#pragma once

#include <cstdint>

namespace handwire {

// The smallest b >= 0 with 2^b >= n (0 for n <= 1): bits to tell n things
// apart.
constexpr int64_t ceilLog2(int64_t n) {
  int64_t b = 0;
  while ((int64_t(1) << b) < n)
    ++b;
  return b;
}

} // namespace handwire
