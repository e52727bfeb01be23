// The binary Kerdock code K(m) as a sign code (codes-and-bounds.md §1.4 item
// 2): d = 2^m coordinates, d^2 / 2 vectors, coherence exactly 1 / sqrt(d).
//
// K(m), m even, is the union of 2^(m-1) cosets f_u + RM(1, m) of the
// first-order Reed-Muller code, whose leaders f_u are quadratic forms with
// pairwise full-rank differences (a Kerdock set). A codeword is
// f_u(x) + b.x + c; the complement (c = 1) of every word is dropped, since
// <T, -T> = -1. The vector with index i is coset u = i >> m, linear part
// b = i mod 2^m, c = 0:
//
//   T(i)[x] = (-1)^(f_u(x) + b.x) / sqrt(2^m),  x in F2^m.
//
// So the first 2^m vectors are the Sylvester-Hadamard rows (coherence 0), and
// a smaller count is a prefix of a larger one. Inner products:
//   same coset:      <T(u,b), T(u,b')> = 0 for b != b' (Walsh functions);
//   cosets u != v:   <T(u,b), T(v,b')> = W_{f_u + f_v}(b ^ b') / 2^m,
// the Walsh spectrum of the difference of the leaders, which is +-2^(m/2)
// everywhere when f_u + f_v has full rank (a bent function).
#pragma once

#include "codes/LinearCode.h" // BiasLimits

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace handwire {

// K(4) .. K(10). Certifying the whole K(m) takes one FWHT of length 2^m per
// pair of its 2^(m-1) cosets, 2^(2m-3) m 2^m butterflies: under a second at
// m = 10, a few minutes at m = 12. Larger requests are refused.
constexpr int kMinKerdockM = 4, kMaxKerdockM = 10;
inline int64_t kerdockCapacity(int m) { return int64_t(1) << (2 * m - 1); }

struct KerdockCode {
  int m = 0;
  int64_t dim = 0; // 2^m
  // Leaders f_u of the cosets the vectors use, u = 0, 1, ...: dim bits each.
  std::vector<std::vector<uint64_t>> leaders;
  std::string params; // "m = 6: 32 of 32 cosets of RM(1, 6)"
};

// The cosets K(m) needs for its first `count` vectors (count <=
// kerdockCapacity(m)). Leaders from GF(2^(m-1)) arithmetic, see the .cpp.
KerdockCode kerdockCode(int m, int64_t count);

// Exact extremes of the inner products (times 2^m) over all pairs of distinct
// vectors among the first `count`, computed from the vectors' definition
// (one FWHT per pair of cosets used), not from the Kerdock-set property.
struct KerdockCertificate {
  int64_t maxBias = 0, minBias = 0;
  // Attaining maxBias: vectors (cosetA, b) and (cosetB, b ^ shift).
  int64_t cosetA = 0, cosetB = 0;
  uint64_t shift = 0;
  bool complete = true; // false: stopped at the first bias out of the limits
  std::string method;
};
KerdockCertificate certifyKerdock(const KerdockCode &code, int64_t count,
                                  BiasLimits stopOutside = {});

// The first `count` vectors as sign rows, in the order above.
SignCode materialize(const KerdockCode &code, int64_t count);

// Pairs of vectors below `count` attaining the certificate's maxBias, at
// most 64.
std::vector<std::pair<int64_t, int64_t>>
kerdockPairsAt(const KerdockCode &code, const KerdockCertificate &c,
               int64_t count);

} // namespace handwire
