#include "codes/GaloisField.h"

#include "support/Diagnostics.h"

#include <set>

namespace handwire {
namespace {
// Primitive polynomials x^m + ... (bit m set), m = 2 .. 16.
constexpr uint32_t kPrimitive[17] = {
    0,     0,     0x7,   0xB,    0x13,   0x25,   0x43,   0x83,   0x11D,
    0x211, 0x409, 0x805, 0x1053, 0x201B, 0x4443, 0x8003, 0x1002D};
} // namespace

GaloisField::GaloisField(int m) : m_(m), q_(1u << m) {
  HW_ASSERT(m >= 2 && m <= 16, "GF(2^m) supports 2 <= m <= 16");
  exp_.assign(q_ - 1, 0);
  log_.assign(q_, 0);
  uint32_t x = 1;
  for (uint32_t i = 0; i + 1 < q_; ++i) {
    exp_[i] = x;
    log_[x] = i;
    x <<= 1;
    if (x & q_)
      x ^= kPrimitive[m];
  }
  HW_ASSERT(x == 1, "polynomial is not primitive");
  trace_.assign(q_, 0);
  for (uint32_t a = 0; a < q_; ++a) {
    uint32_t s = 0, y = a;
    for (int i = 0; i < m; ++i) {
      s ^= y;
      y = mul(y, y);
    }
    HW_ASSERT(s <= 1, "trace must lie in GF(2)");
    trace_[a] = static_cast<uint8_t>(s);
  }
}

uint32_t GaloisField::mul(uint32_t a, uint32_t b) const {
  if (!a || !b)
    return 0;
  return exp_[(uint64_t(log_[a]) + log_[b]) % (q_ - 1)];
}

uint32_t GaloisField::pow(uint32_t a, uint64_t e) const {
  if (!a)
    return e == 0;
  return exp_[(uint64_t(log_[a]) * (e % (q_ - 1))) % (q_ - 1)];
}

std::vector<uint8_t> minimalPolynomial(const GaloisField &f, uint64_t j) {
  const uint64_t n = f.size() - 1;
  std::set<uint64_t> coset;
  for (uint64_t c = j % n; coset.insert(c).second; c = (2 * c) % n) {
  }
  // Multiply out prod (x + alpha^c) with coefficients in GF(2^m).
  std::vector<uint32_t> poly = {1};
  for (uint64_t c : coset) {
    const uint32_t root = f.alphaPow(c);
    std::vector<uint32_t> next(poly.size() + 1, 0);
    for (size_t i = 0; i < poly.size(); ++i) {
      next[i + 1] ^= poly[i];
      next[i] ^= f.mul(poly[i], root);
    }
    poly = std::move(next);
  }
  std::vector<uint8_t> out(poly.size());
  for (size_t i = 0; i < poly.size(); ++i) {
    HW_ASSERT(poly[i] <= 1, "minimal polynomial must have binary coefficients");
    out[i] = static_cast<uint8_t>(poly[i]);
  }
  return out;
}

} // namespace handwire
