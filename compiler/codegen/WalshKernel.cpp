// A Walsh head, evaluated (ForwardPlan.h, WalshHeadPlan; docs/jit.md, "Walsh
// heads"). Scores are w(a_t ^ b_s), so the causal sums split over the dyadic
// blocks of the decomposition: each block's keys reach the next block's
// queries through one XOR convolution per kernel coset, H(spectrum . H V).
// Then per row: the taps (weights >= kWalshTapWeight, added directly), the
// row's own term, the zero keys' running sums, and the division by the
// denominator. Rows with a zero query take the running mean of the values.
#include "codegen/WalshKernel.h"

#include <algorithm>
#include <vector>

namespace handwire {

namespace {

#if defined(__clang__)
// The sanitizers' checks keep walshStage's loop scalar in their (clang)
// tree: no warning for a vectorization asked for and not done there.
#pragma clang diagnostic ignored "-Wpass-failed"
#endif

// One butterfly stage of x <- H x on runs of h values.
inline void walshStage(float *x, int64_t n, int64_t h) {
  for (int64_t base = 0; base < n; base += 2 * h) {
    float *lo = x + base, *hi = x + base + h;
    // lo[0 .. h) and hi[0 .. h) are disjoint: no run-time alias check.
#if defined(__clang__)
#pragma clang loop vectorize(assume_safety)
#elif defined(__GNUC__)
#pragma GCC ivdep
#endif
    for (int64_t j = 0; j < h; ++j) {
      const float p = lo[j], q = hi[j];
      lo[j] = p + q;
      hi[j] = p - q;
    }
  }
}

// Stage h (1, 2, 4 or 8) on 16 values in registers: constant indices.
template <int h> inline void walshStage16(float *v) {
  for (int i = 0; i < 16; i += 2 * h)
    for (int j = i; j < i + h; ++j) {
      const float p = v[j], q = v[j + h];
      v[j] = p + q;
      v[j + h] = p - q;
    }
}

// x <- H x for x[0 .. n), n = 2^logn: logn butterfly stages. The four
// stages with runs shorter than 16 go 16 values at a time in registers (one
// load and one store per value instead of four); every output still sums
// the same terms in the same order, stage by stage.
void walshTransform(float *x, int64_t n) {
  int64_t h = 1;
  if (n >= 16) {
    for (int64_t base = 0; base < n; base += 16) {
      float v[16];
      std::copy(x + base, x + base + 16, v);
      walshStage16<1>(v);
      walshStage16<2>(v);
      walshStage16<4>(v);
      walshStage16<8>(v);
      std::copy(v, v + 16, x + base);
    }
    h = 16;
  }
  for (; h < n; h *= 2)
    walshStage(x, n, h);
}

// Block blk (level l, n = 2^l, keys s0 .. s0 + n - 1): sums[t][c] += its
// tasks' convolutions for every query row t < length.
void addBlock(const WalshHeadPlan &w, size_t blk, int64_t dv, int64_t length,
              const float *values, float *sums, float *__restrict V,
              float *__restrict T) {
  const int64_t components = dv + 1;
  const int l = w.blockLevel[blk];
  const int64_t n = int64_t(1) << l, s0 = w.blockStart[blk];
  if (s0 + n >= length) // its queries start past the input
    return;
  // V[c][b_s mod n] = value_s[c] (and 1 for the count); a zero key (b = -1)
  // adds 0 to slot n - 1.
  std::fill(V, V + components * n, 0.0f);
  for (int64_t s = s0; s < s0 + n; ++s) {
    const int32_t b = w.keyIndex[s];
    const int64_t slot = b & (n - 1);
    const bool isKey = b >= 0;
    for (int64_t c = 0; c < dv; ++c)
      V[c * n + slot] += isKey ? values[s * dv + c] : 0.0f;
    V[dv * n + slot] += isKey ? 1.0f : 0.0f;
  }
  for (int64_t c = 0; c < components; ++c)
    walshTransform(V + c * n, n);
  const int64_t r1 = std::min(length, s0 + 2 * n);
  for (int32_t task = w.blockTasks[blk]; task < w.blockTasks[blk + 1]; ++task) {
    const float *__restrict spectrum = &w.spectra[w.taskSpectrum[task]];
    const int32_t high = w.taskHigh[task];
    for (int64_t c = 0; c < components; ++c) {
      const float *__restrict Vc = V + c * n;
      for (int64_t u = 0; u < n; ++u)
        T[u] = Vc[u] * spectrum[u];
      walshTransform(T, n);
      // The task's queries: the block's rows t with a_t >= 0 and high bits
      // `high`.
      for (int64_t t = s0 + n; t < r1; ++t) {
        const int32_t a = w.queryIndex[t];
        if (a >= 0 && (a >> l) == high)
          sums[t * components + c] += T[a & (n - 1)];
      }
    }
  }
}

// A tap of one row: its weight and its key's position.
struct Tap {
  float weight;
  int32_t key;
};

// Row r's output over sums[r][0 .. dv): the convolutions' sums, plus its
// own term, its taps and the zero keys, over the same sums of weights.
// `taps`: room for one Tap per tap of the plan.
void rowOutput(const WalshHeadPlan &w, int64_t dv, int64_t r,
               const float *values, float *sums, const float *running,
               Tap *taps) {
  const int64_t base = r * (dv + 1);
  const int32_t a = w.queryIndex[r];
  if (a < 0) { // uniform over keys 0 .. r
    const float inverse = 1.0f / static_cast<float>(r + 1);
    for (int64_t c = 0; c < dv; ++c)
      sums[base + c] = running[c] * inverse;
    return;
  }
  // Taps: the key at a ^ x, if there is one at or before r.
  size_t on = 0;
  float den = sums[base + dv] + w.selfWeight[r];
  for (size_t t = 0; t < w.tapOffsets.size(); ++t) {
    const int32_t s = w.keyAt[a ^ w.tapOffsets[t]];
    if (s >= 0 && s <= r) {
      den += w.tapWeights[t];
      taps[on++] = {w.tapWeights[t], s};
    }
  }
  den += w.zeroKeyWeight * running[2 * dv];
  const float inverse = 1.0f / den;
  const float *own = values + r * dv;
  for (int64_t c = 0; c < dv; ++c) {
    float num = sums[base + c] + w.selfWeight[r] * own[c];
    for (size_t k = 0; k < on; ++k)
      num += taps[k].weight * values[taps[k].key * dv + c];
    num += w.zeroKeyWeight * running[dv + c];
    sums[base + c] = num * inverse;
  }
}

} // namespace

void walshHeadKernel(const WalshHeadPlan *plan, int64_t dv, int64_t length,
                     const float *values, float *sums, float *block,
                     float *transform, float *running) {
  const WalshHeadPlan &w = *plan;
  const int64_t components = dv + 1;
  std::fill(sums, sums + length * components, 0.0f);
  for (size_t blk = 0; blk < w.blockStart.size(); ++blk)
    addBlock(w, blk, dv, length, values, sums, block, transform);
  // Running sums of all values, of the zero keys' values and their count.
  std::fill(running, running + 2 * dv + 1, 0.0f);
  std::vector<Tap> taps(w.tapOffsets.size());
  for (int64_t r = 0; r < length; ++r) {
    const bool zeroKey = w.keyIndex[r] < 0;
    for (int64_t c = 0; c < dv; ++c) {
      const float v = values[r * dv + c];
      running[c] += v;
      running[dv + c] += zeroKey ? v : 0.0f;
    }
    running[2 * dv] += zeroKey ? 1.0f : 0.0f;
    rowOutput(w, dv, r, values, sums, running, taps.data());
  }
}

} // namespace handwire
