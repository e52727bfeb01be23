// GF(2^m) for 2 <= m <= 16, elements as integers in the polynomial basis
// (bit i is the coefficient of alpha^i, alpha a root of a primitive
// polynomial). The algebraic codes (AlgebraicCodes.cpp) are built from it.
#pragma once

#include <cstdint>
#include <vector>

namespace handwire {

class GaloisField {
public:
  explicit GaloisField(int m);

  int degree() const { return m_; }
  uint32_t size() const { return q_; } // 2^m
  uint32_t mul(uint32_t a, uint32_t b) const;
  uint32_t pow(uint32_t a, uint64_t e) const;
  uint32_t alphaPow(uint64_t e) const { return exp_[e % (q_ - 1)]; }
  // Absolute trace Tr(a) = a + a^2 + a^4 + ... + a^(2^(m-1)), in {0, 1}.
  int trace(uint32_t a) const { return trace_[a]; }

private:
  int m_;
  uint32_t q_;
  std::vector<uint32_t> exp_, log_;
  std::vector<uint8_t> trace_;
};

// Minimal polynomial over GF(2) of alpha^j: the product of (x - alpha^c) over
// the cyclotomic coset of j mod 2^m - 1. Bit i is the coefficient of x^i.
std::vector<uint8_t> minimalPolynomial(const GaloisField &f, uint64_t j);

} // namespace handwire
