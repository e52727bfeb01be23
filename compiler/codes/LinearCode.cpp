#include "codes/LinearCode.h"

#include "codes/Walsh.h"

#include "codes/GaloisField.h"
#include "support/Diagnostics.h"
#include "support/Random.h"

#include <algorithm>
#include <climits>

namespace handwire {
namespace {

using Bits = std::vector<uint64_t>;

Bits zeroBits(int64_t dim) {
  return Bits(static_cast<size_t>((dim + 63) / 64));
}
void setBit(Bits &b, int64_t i) { b[i / 64] |= uint64_t(1) << (i % 64); }
bool getBit(const Bits &b, int64_t i) { return (b[i / 64] >> (i % 64)) & 1; }
void xorInto(Bits &dst, const Bits &src) {
  for (size_t w = 0; w < dst.size(); ++w)
    dst[w] ^= src[w];
}
int64_t weight(const Bits &b) {
  int64_t h = 0;
  for (uint64_t w : b)
    h += __builtin_popcountll(w);
  return h;
}

struct Extremes {
  BiasLimits limits;
  int64_t maxBias = INT64_MIN, minBias = INT64_MAX;
  uint64_t worst = 0;
  bool stopped = false;
  // Returns false once a bias leaves the limits.
  bool see(int64_t bias, uint64_t codeword) {
    if (bias > maxBias) {
      maxBias = bias;
      worst = codeword;
    }
    minBias = std::min(minBias, bias);
    stopped = bias > limits.maxBias || bias < limits.minBias;
    return !stopped;
  }
  SpanCertificate result(std::string method) const {
    return {maxBias, minBias, worst, !stopped,
            stopped ? "stopped at the first codeword out of the limits"
                    : std::move(method)};
  }
};

// Walsh prefix: for each coset h of the Walsh generators, one in-place FWHT of
// (-1)^H_h(x) gives sum_x (-1)^(H_h(x) + b.x) for every b at once.
SpanCertificate certifyByWalsh(const LinearSignCode &code, int K,
                               BiasLimits limits) {
  const int w = std::min(K, code.walshBits);
  const int higher = K - w;
  const int64_t dim = code.dim;
  HW_ASSERT(dim == (int64_t(1) << code.walshBits), "Walsh prefix needs 2^m");
  Extremes e{limits};
  Bits H = zeroBits(dim);
  std::vector<int64_t> s(static_cast<size_t>(dim));
  for (uint64_t i = 0; i < (uint64_t(1) << higher); ++i) {
    if (i)
      xorInto(H, code.generators[code.walshBits + __builtin_ctzll(i)]);
    const uint64_t h = i ^ (i >> 1); // Gray code: the coset just reached
    for (int64_t x = 0; x < dim; ++x)
      s[x] = getBit(H, x) ? -1 : 1;
    fwhtInPlace(s.data(), dim);
    for (int64_t b = 0; b < (int64_t(1) << w); ++b)
      if ((h || b) && !e.see(s[b], (h << w) | uint64_t(b)))
        return e.result("");
  }
  return e.result("exact: one fast Walsh-Hadamard transform per coset, " +
                  std::to_string(uint64_t(1) << higher) + " cosets");
}

// Any linear code: visit the nonzero codewords in Gray-code order, one XOR
// and one popcount of dim bits each.
SpanCertificate certifyByGrayCode(const LinearSignCode &code, int K,
                                  BiasLimits limits) {
  Extremes e{limits};
  Bits c = zeroBits(code.dim);
  for (uint64_t i = 1; i < (uint64_t(1) << K); ++i) {
    xorInto(c, code.generators[__builtin_ctzll(i)]);
    if (!e.see(code.dim - 2 * weight(c), i ^ (i >> 1)))
      return e.result("");
  }
  return e.result("exact: Gray-code enumeration of all " +
                  std::to_string((uint64_t(1) << K) - 1) +
                  " nonzero codewords");
}

} // namespace

SpanCertificate certifySpan(const LinearSignCode &code, int K,
                            BiasLimits stopOutside) {
  HW_ASSERT(K >= 1 && K <= 40 && K <= int(code.generators.size()),
            "span certificate: bad K");
  if (code.walshBits > 0)
    return certifyByWalsh(code, K, stopOutside);
  return certifyByGrayCode(code, K, stopOutside);
}

SignCode materialize(const LinearSignCode &code, int64_t count) {
  SignCode out(count, code.dim);
  HW_ASSERT(count <= 1 || int64_t(64 - __builtin_clzll(uint64_t(count - 1))) <=
                              int64_t(code.generators.size()),
            "too few generators for the count");
  const int64_t words = out.wordsPerRow();
  std::vector<uint64_t> &bits = out.mutableBits();
  for (int64_t i = 1; i < count; ++i) {
    // row(i) = row(i without its lowest bit) ^ generator(lowest bit)
    const int64_t parent = i & (i - 1);
    const Bits &g = code.generators[__builtin_ctzll(uint64_t(i))];
    for (int64_t w = 0; w < words; ++w)
      bits[i * words + w] = bits[parent * words + w] ^ g[w];
  }
  return out;
}

std::vector<std::pair<int64_t, int64_t>> pairsAt(uint64_t c, int64_t count) {
  std::vector<std::pair<int64_t, int64_t>> pairs;
  for (int64_t i = 0; i < count && pairs.size() < 64; ++i) {
    const uint64_t j = uint64_t(i) ^ c;
    if (j > uint64_t(i) && j < uint64_t(count))
      pairs.emplace_back(i, int64_t(j));
  }
  return pairs;
}

LinearSignCode dualBchCode(int m, int t) {
  GaloisField f(m);
  LinearSignCode code;
  code.dim = int64_t(1) << m;
  code.walshBits = m;
  code.params = "m = " + std::to_string(m) + ", t = " + std::to_string(t);
  for (int r = 0; r < m; ++r) {
    Bits g = zeroBits(code.dim);
    for (int64_t x = 0; x < code.dim; ++x)
      if ((x >> r) & 1)
        setBit(g, x);
    code.generators.push_back(std::move(g));
  }
  for (int e = 3; e <= 2 * t - 1; e += 2)
    for (int l = 0; l < m; ++l) { // coefficient alpha^l of x^e
      Bits g = zeroBits(code.dim);
      for (int64_t x = 0; x < code.dim; ++x)
        if (f.trace(f.mul(uint32_t(1) << l, f.pow(uint32_t(x), e))))
          setBit(g, x);
      code.generators.push_back(std::move(g));
    }
  return code;
}

namespace {
// g(x) = lcm of the minimal polynomials of alpha^1 .. alpha^(delta-1).
std::vector<uint8_t> bchGenerator(const GaloisField &f, int delta) {
  const uint64_t n = f.size() - 1;
  std::vector<bool> covered(n, false);
  std::vector<uint8_t> g = {1};
  for (int j = 1; j < delta; ++j) {
    if (covered[j % n])
      continue;
    for (uint64_t c = j % n; !covered[c]; c = (2 * c) % n)
      covered[c] = true;
    const std::vector<uint8_t> mp = minimalPolynomial(f, j);
    std::vector<uint8_t> prod(g.size() + mp.size() - 1, 0);
    for (size_t a = 0; a < g.size(); ++a)
      if (g[a])
        for (size_t b = 0; b < mp.size(); ++b)
          prod[a + b] ^= mp[b];
    g = std::move(prod);
  }
  return g;
}
} // namespace

int64_t bchDimension(int m, int delta) {
  GaloisField f(m);
  return int64_t(f.size() - 1) - int64_t(bchGenerator(f, delta).size() - 1);
}

LinearSignCode extendedBchCode(int m, int delta) {
  GaloisField f(m);
  const int64_t n = f.size() - 1;
  const std::vector<uint8_t> g = bchGenerator(f, delta);
  const int64_t k = n - int64_t(g.size() - 1);
  LinearSignCode code;
  code.dim = n + 1;
  code.params = "m = " + std::to_string(m) + ", designed distance " +
                std::to_string(delta) + ": [" + std::to_string(n + 1) + ", " +
                std::to_string(k) + "]";
  for (int64_t i = 0; i < k; ++i) {
    Bits row = zeroBits(code.dim);
    int parity = 0;
    for (size_t a = 0; a < g.size(); ++a)
      if (g[a]) {
        setBit(row, i + int64_t(a));
        parity ^= 1;
      }
    if (parity)
      setBit(row, n); // the extension makes every weight even
    code.generators.push_back(std::move(row));
  }
  return code;
}

LinearSignCode binaryPositionCode(int K) {
  LinearSignCode code;
  code.dim = K;
  code.params = "b = " + std::to_string(K) + " bits";
  for (int r = 0; r < K; ++r) {
    Bits g = zeroBits(K);
    setBit(g, r);
    code.generators.push_back(std::move(g));
  }
  return code;
}

LinearSignCode randomLinearCode(int K, int64_t dim, uint64_t seed) {
  LinearSignCode code;
  code.dim = dim;
  code.params = "seed " + std::to_string(seed);
  for (int r = 0; r < K; ++r) {
    SplitMix64 rng(streamSeed(seed ^ (uint64_t(dim) << 40), uint64_t(r)));
    Bits g = zeroBits(dim);
    for (auto &w : g)
      w = rng.next();
    if (dim % 64)
      g.back() &= (uint64_t(1) << (dim % 64)) - 1;
    code.generators.push_back(std::move(g));
  }
  return code;
}

} // namespace handwire
