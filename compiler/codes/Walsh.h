// The fast Walsh-Hadamard transform shared by the linear-code and Kerdock
// certifiers: s[w] <- sum_x s[x] (-1)^(w.x), in place, n a power of two.
#pragma once

#include <cstdint>

namespace handwire {

template <typename T> void fwhtInPlace(T *s, int64_t n) {
  for (int64_t len = 1; len < n; len <<= 1)
    for (int64_t a = 0; a < n; a += 2 * len)
      for (int64_t k = a; k < a + len; ++k) {
        const T p = s[k], q = s[k + len];
        s[k] = p + q;
        s[k + len] = p - q;
      }
}

} // namespace handwire
