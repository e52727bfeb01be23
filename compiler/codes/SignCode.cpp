#include "codes/NearOrthogonalCode.h"

#include "support/Diagnostics.h"
#include "support/Parallel.h"
#include "support/Random.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <mutex>
#include <thread>

namespace handwire {

SignCode::SignCode(int64_t count, int64_t dim)
    : count_(count), dim_(dim), words_((dim + 63) / 64),
      bits_(static_cast<size_t>(count * ((dim + 63) / 64)), 0) {}

void SignCode::writeRow(int64_t i, float scale, float *dst) const {
  const float v = scale / std::sqrt(static_cast<float>(dim_));
  for (int64_t r = 0; r < dim_; ++r)
    dst[r] = negative(i, r) ? -v : v;
}

CoherenceMeasurement measureCoherence(const SignCode &code) {
  const int64_t n = code.count(), words = code.wordsPerRow(), dim = code.dim();
  if (n < 2)
    return {}; // no pairs: coherence 0, and nothing competes with a lookup
  // Per thread: smallest and largest Hamming distance, and the pairs at the
  // smallest (which give the largest inner product).
  struct Extremes {
    int64_t minH = INT64_MAX, maxH = -1;
    std::vector<std::pair<int64_t, int64_t>> pairs;
  };
  const unsigned threads = workerThreads();
  std::vector<Extremes> ext(threads);
  std::atomic<int64_t> nextRow{0};
  auto work = [&](unsigned t) {
    Extremes &e = ext[t];
    // Rows are handed out in chunks from the front; row i costs n - i - 1
    // pairs.
    for (;;) {
      int64_t i = nextRow.fetch_add(16);
      if (i >= n - 1)
        break;
      for (int64_t ii = i; ii < std::min(i + 16, n - 1); ++ii) {
        const uint64_t *a = code.row(ii);
        for (int64_t j = ii + 1; j < n; ++j) {
          const uint64_t *b = code.row(j);
          int64_t h = 0;
          for (int64_t w = 0; w < words; ++w)
            h += __builtin_popcountll(a[w] ^ b[w]);
          if (h <= e.minH) {
            if (h < e.minH) {
              e.minH = h;
              e.pairs.clear();
            }
            if (e.pairs.size() < 64)
              e.pairs.emplace_back(ii, j);
          }
          e.maxH = std::max(e.maxH, h);
        }
      }
    }
  };
  runOnThreads(threads, work);

  int64_t minH = INT64_MAX, maxH = -1;
  for (const auto &e : ext) {
    minH = std::min(minH, e.minH);
    maxH = std::max(maxH, e.maxH);
  }
  // Each thread met its rows in increasing order, so its first 64 pairs are
  // its smallest; the 64 smallest of their union are the 64 smallest overall,
  // whichever thread got which rows. (Truncating before sorting made the
  // reported pairs depend on the thread count and on scheduling.)
  CoherenceMeasurement m;
  for (const auto &e : ext)
    if (e.minH == minH)
      m.worstPairs.insert(m.worstPairs.end(), e.pairs.begin(), e.pairs.end());
  std::sort(m.worstPairs.begin(), m.worstPairs.end());
  if (m.worstPairs.size() > 64)
    m.worstPairs.resize(64);
  const double d = static_cast<double>(dim);
  m.maxInnerProduct = (d - 2.0 * minH) / d;
  m.coherence =
      std::max(std::fabs(m.maxInnerProduct), std::fabs((d - 2.0 * maxH) / d));
  return m;
}

int64_t rademacherDimension(int64_t count, double coherence, double failure) {
  // Fewer than 2 vectors have no pairs; bound them as 2 (log 0 is -inf).
  const double n = static_cast<double>(std::max<int64_t>(count, 2));
  const double k = std::ceil(2.0 / (coherence * coherence) *
                             std::log(n * (n - 1) / failure));
  // Saturate: a tiny coherence gives inf or more than int64_t holds, and
  // converting that is undefined. No such code fits in memory, and the memory
  // estimate refuses anything near this.
  if (!(k < static_cast<double>(kMaxRademacherDimension)))
    return kMaxRademacherDimension;
  return std::max<int64_t>(1, static_cast<int64_t>(k));
}

SignCode drawRademacher(int64_t count, int64_t dim, uint64_t seed) {
  SignCode code(count, dim);
  // Row i depends only on (seed, dim, i): reproducible with any thread count.
  for (int64_t i = 0; i < count; ++i) {
    SplitMix64 rng(streamSeed(seed ^ (uint64_t(dim) << 40), uint64_t(i)));
    for (int64_t w = 0; w * 64 < dim; ++w) {
      uint64_t bits = rng.next();
      for (int64_t r = w * 64; r < std::min(dim, (w + 1) * 64); ++r)
        if ((bits >> (r - w * 64)) & 1)
          code.setNegative(i, r);
    }
  }
  return code;
}

} // namespace handwire
