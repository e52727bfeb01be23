// Kerdock set from GF(2^(m-1)) arithmetic: Kerdock, "A class of low-rate
// nonlinear binary codes", Information and Control 20 (1972); in the trace
// form of MacWilliams and Sloane, The Theory of Error-Correcting Codes,
// Ch. 15 §5. Write x in F2^m as (xi, eps), xi in GF(2^(m-1)) (the low m - 1
// bits, polynomial basis) and eps the top bit. For u in GF(2^(m-1)):
//
//   f_u(xi, eps) = sum_{j=1}^{(m-2)/2} Tr((u xi)^(2^j + 1)) + eps Tr(u xi).
//
// f_u is quadratic, f_0 = 0, and for u != v the alternating form of
// f_u + f_v is nondegenerate (m - 1 is odd), so its Walsh spectrum is flat:
// |W(w)| = 2^(m/2) for every w. The code below does not rely on this: the
// certificate transforms every difference it uses, and a wrong leader would
// show up as a larger bias.
#include "codes/KerdockCode.h"

#include "codes/Walsh.h"

#include "codes/GaloisField.h"
#include "support/Diagnostics.h"
#include "support/Parallel.h"

#include <algorithm>
#include <atomic>
#include <climits>
#include <thread>
#include <tuple>

namespace handwire {
namespace {

using Bits = std::vector<uint64_t>;

int64_t cosetsUsed(const KerdockCode &code, int64_t count) {
  return (count + code.dim - 1) / code.dim;
}

void fwht(std::vector<int32_t> &s) {
  fwhtInPlace(s.data(), static_cast<int64_t>(s.size()));
}

// Extremes over pairs, with the first pair (in the order v, u, w) attaining
// the maximum, so the result does not depend on the thread count.
struct Extremes {
  BiasLimits limits;
  int64_t maxBias = INT64_MIN, minBias = INT64_MAX;
  std::tuple<int64_t, int64_t, uint64_t> worst{0, 0, 0}; // (v, u, w)
  bool stopped = false;
  bool see(int64_t bias, int64_t u, int64_t v, uint64_t w) {
    const std::tuple<int64_t, int64_t, uint64_t> key{v, u, w};
    if (bias > maxBias || (bias == maxBias && key < worst)) {
      maxBias = bias;
      worst = key;
    }
    minBias = std::min(minBias, bias);
    stopped = bias > limits.maxBias || bias < limits.minBias;
    return !stopped;
  }
  void merge(const Extremes &o) {
    if (o.maxBias > maxBias || (o.maxBias == maxBias && o.worst < worst)) {
      maxBias = o.maxBias;
      worst = o.worst;
    }
    minBias = std::min(minBias, o.minBias);
    stopped = stopped || o.stopped;
  }
};

} // namespace

KerdockCode kerdockCode(int m, int64_t count) {
  HW_ASSERT(m >= kMinKerdockM && m <= kMaxKerdockM && m % 2 == 0,
            "Kerdock code needs an even m in [4, 10]");
  HW_ASSERT(count >= 1 && count <= kerdockCapacity(m),
            "Kerdock code: count out of range");
  const int t = m - 1; // odd
  GaloisField f(t);
  KerdockCode code;
  code.m = m;
  code.dim = int64_t(1) << m;
  const int64_t cosets = cosetsUsed(code, count);
  const uint32_t q = f.size();
  for (int64_t u = 0; u < cosets; ++u) {
    Bits leader(static_cast<size_t>((code.dim + 63) / 64), 0);
    for (uint32_t xi = 0; xi < q; ++xi) {
      const uint32_t y = f.mul(uint32_t(u), xi);
      int quad = 0;
      uint32_t y2j = y; // y^(2^j)
      for (int j = 1; j <= (m - 2) / 2; ++j) {
        y2j = f.mul(y2j, y2j);
        quad ^= f.trace(f.mul(y2j, y));
      }
      const int lin = f.trace(y);
      for (int eps = 0; eps < 2; ++eps)
        if (quad ^ (eps & lin)) {
          const int64_t x = int64_t(xi) | (int64_t(eps) << t);
          leader[x / 64] |= uint64_t(1) << (x % 64);
        }
    }
    code.leaders.push_back(std::move(leader));
  }
  code.params = "m = " + std::to_string(m) + ": " + std::to_string(cosets) +
                " of " + std::to_string(q) + " cosets of RM(1, " +
                std::to_string(m) + ")";
  return code;
}

KerdockCertificate certifyKerdock(const KerdockCode &code, int64_t count,
                                  BiasLimits limits) {
  const int64_t dim = code.dim, cosets = cosetsUsed(code, count);
  HW_ASSERT(int64_t(code.leaders.size()) >= cosets, "too few Kerdock cosets");
  KerdockCertificate c;
  if (count < 2) {
    c.method = "no pairs";
    return c;
  }
  // Within a coset: (u, b) and (u, b') differ by the linear function
  // (b ^ b').x, whose bias is the FWHT of the constant 1 at w = b ^ b' != 0.
  Extremes all{limits};
  std::vector<int32_t> s(static_cast<size_t>(dim), 1);
  fwht(s);
  const uint64_t within = uint64_t(std::min(count, dim)); // b, b' < within
  uint64_t reach = 1; // b ^ b' ranges over [1, reach)
  while (reach < within)
    reach <<= 1;
  for (uint64_t w = 1; w < reach; ++w)
    if (!all.see(s[w], 0, 0, w))
      break;

  // Between cosets u < v: the Walsh spectrum of f_u + f_v. Coset 0 is full
  // whenever a second coset is used, so every shift w occurs among the pairs:
  // the extremes are exact, not just bounds.
  std::atomic<int64_t> next{1};
  std::atomic<bool> stop{all.stopped};
  const unsigned threads = std::max<unsigned>(
      1, std::min<unsigned>(workerThreads(), unsigned(cosets - 1)));
  std::vector<Extremes> ext(threads, Extremes{limits});
  auto work = [&](unsigned id) {
    Extremes &e = ext[id];
    std::vector<int32_t> t(static_cast<size_t>(dim));
    for (int64_t v; !stop.load(std::memory_order_relaxed) &&
                    (v = next.fetch_add(1)) < cosets;)
      for (int64_t u = 0; u < v; ++u) {
        const Bits &a = code.leaders[u], &b = code.leaders[v];
        for (int64_t x = 0; x < dim; ++x)
          t[x] = 1 - 2 * int32_t(((a[x / 64] ^ b[x / 64]) >> (x % 64)) & 1);
        fwht(t);
        // Scan the spectrum in one pass; visit it bias by bias (for the
        // first attaining shift, or the first violation) only when needed.
        const auto [lo, hi] = std::minmax_element(t.begin(), t.end());
        if (*hi <= e.maxBias && *lo >= e.minBias)
          continue;
        for (int64_t w = 0; w < dim; ++w)
          if (!e.see(t[w], u, v, uint64_t(w))) {
            stop = true;
            return;
          }
      }
  };
  if (!all.stopped && cosets > 1) {
    std::vector<std::thread> pool;
    for (unsigned id = 1; id < threads; ++id)
      pool.emplace_back(work, id);
    work(0);
    for (std::thread &th : pool)
      th.join();
    for (const Extremes &e : ext)
      all.merge(e);
  }
  c.maxBias = all.maxBias;
  c.minBias = all.minBias;
  c.cosetB = std::get<0>(all.worst);
  c.cosetA = std::get<1>(all.worst);
  c.shift = std::get<2>(all.worst);
  c.complete = !all.stopped;
  const int64_t pairs = cosets * (cosets - 1) / 2;
  c.method = c.complete
                 ? "exact: one fast Walsh-Hadamard transform of length " +
                       std::to_string(dim) + " per pair of the " +
                       std::to_string(cosets) + " cosets used (" +
                       std::to_string(pairs) +
                       " transforms), and the orthogonal RM(1, " +
                       std::to_string(code.m) + ") part of each"
                 : "stopped at the first pair out of the limits";
  return c;
}

SignCode materialize(const KerdockCode &code, int64_t count) {
  const int64_t dim = code.dim;
  SignCode out(count, dim);
  HW_ASSERT(int64_t(code.leaders.size()) >= cosetsUsed(code, count),
            "too few Kerdock cosets for the count");
  const int64_t words = out.wordsPerRow();
  std::vector<uint64_t> &bits = out.mutableBits();
  // coordinate[r](x) = bit r of x: the generators of the linear part.
  std::vector<Bits> coordinate(static_cast<size_t>(code.m),
                               Bits(static_cast<size_t>(words), 0));
  for (int r = 0; r < code.m; ++r)
    for (int64_t x = 0; x < dim; ++x)
      if ((x >> r) & 1)
        coordinate[r][x / 64] |= uint64_t(1) << (x % 64);
  for (int64_t i = 0; i < count; ++i) {
    const int64_t u = i / dim, b = i % dim;
    const uint64_t *from =
        b ? bits.data() + (i - b + (b & (b - 1))) * words // drop b's low bit
          : code.leaders[u].data();
    const uint64_t *g =
        b ? coordinate[__builtin_ctzll(uint64_t(b))].data() : nullptr;
    for (int64_t w = 0; w < words; ++w)
      bits[i * words + w] = from[w] ^ (g ? g[w] : 0);
  }
  return out;
}

std::vector<std::pair<int64_t, int64_t>>
kerdockPairsAt(const KerdockCode &code, const KerdockCertificate &c,
               int64_t count) {
  std::vector<std::pair<int64_t, int64_t>> pairs;
  for (int64_t b = 0; b < code.dim && pairs.size() < 64; ++b) {
    const int64_t i = c.cosetA * code.dim + b;
    const int64_t j = c.cosetB * code.dim + int64_t(uint64_t(b) ^ c.shift);
    if (j > i && j < count && i < count)
      pairs.emplace_back(i, j);
  }
  return pairs;
}

} // namespace handwire
