// Binary linear codes used as sign codes, and the algebraic families built on
// them (codes-and-bounds.md §1.4-1.9).
//
// Codeword c(x) for a coefficient vector x in F2^K is the XOR of the
// generators x selects; its sign vector is (-1)^c(x) / sqrt(dim). Since
// c(x) ^ c(y) = c(x ^ y), the inner product of two codewords is the bias of a
// single nonzero codeword: <T(x),T(y)> = (dim - 2 |c(x ^ y)|) / dim. So the
// maximum over all pairs of the first 2^K codewords is a maximum over the
// 2^K - 1 nonzero codewords of the span, which costs O(2^K log dim) with a
// fast Walsh-Hadamard transform, instead of O(4^K dim) over pairs.
#pragma once

#include "codes/NearOrthogonalCode.h"

#include <climits>
#include <cstdint>
#include <string>
#include <vector>

namespace handwire {

struct LinearSignCode {
  int64_t dim = 0;
  std::vector<std::vector<uint64_t>> generators; // dim bits each
  // Generators [0, walshBits) are the coordinate functions x -> bit r of x on
  // dim = 2^walshBits coordinates, so one FWHT gives the biases of a whole
  // coset of them at once.
  int walshBits = 0;
  std::string params; // e.g. "m = 7, t = 3"
};

// Exact extremes of the bias (dim - 2 * weight) over the nonzero codewords of
// the span of the first K generators.
struct SpanCertificate {
  int64_t maxBias = 0, minBias = 0;
  uint64_t worstCodeword = 0; // coefficient vector attaining maxBias
  bool complete = true; // false: stopped at the first bias out of the limits
  std::string method;
};
// Biases a candidate may have; certification stops at the first one outside
// (so a failing candidate costs little), and the certificate is then partial.
struct BiasLimits {
  int64_t maxBias = INT64_MAX, minBias = INT64_MIN;
};
SpanCertificate certifySpan(const LinearSignCode &code, int K,
                            BiasLimits stopOutside = {});

// The first `count` codewords (coefficient vectors 0 .. count-1) as sign rows.
SignCode materialize(const LinearSignCode &code, int64_t count);

// Pairs (i, i ^ c) of codewords below `count` that differ by codeword c, at
// most 64: they attain the bias of c.
std::vector<std::pair<int64_t, int64_t>> pairsAt(uint64_t c, int64_t count);

// ---- Families --------------------------------------------------------------

// Extended dual-BCH (trace) code on GF(2^m): coordinates x in GF(2^m),
// codeword (-1)^Tr(a1 x + a3 x^3 + ... + a_{2t-1} x^{2t-1}); t = 2 is Gold's.
// The linear term is written in the Walsh basis (b . x), which spans the same
// functions as Tr(a1 x). Weil: coherence <= (2t - 2) / sqrt(2^m).
LinearSignCode dualBchCode(int m, int t);

// Extended narrow-sense BCH code of length 2^m with designed distance delta
// (odd): generators x^i g(x) with g = lcm of the minimal polynomials of
// alpha^1 .. alpha^(delta-1), plus an overall parity bit. Minimum distance >=
// delta + 1, so one-sided gap >= 2 (delta + 1) / 2^m. Empty if k < 1.
LinearSignCode extendedBchCode(int m, int delta);
int64_t bchDimension(int m, int delta); // k = 2^m - 1 - deg g

// All of {+-1}^K: the binary positional encoding; gap 2/K.
LinearSignCode binaryPositionCode(int K);

// K seeded uniform generators of `dim` bits.
LinearSignCode randomLinearCode(int K, int64_t dim, uint64_t seed);

} // namespace handwire
