// Nearly orthogonal position codes (paper-constructions.md §5,
// codes-and-bounds.md §1).
//
// A code is `count` unit vectors T(0..count-1) in R^dim with entries
// +-1/sqrt(dim), stored as sign bits. Constructions use it for keys and
// queries: a query T(p) scores 1 against its own key and at most
// `maxInnerProduct` against any other, which is the one-sided gap the softmax
// scale is derived from.
#pragma once

#include "ir/Network.h" // CodeCertificate
#include "spec/TaskSpec.h"

#include <cstdint>
#include <functional>
#include <vector>

namespace handwire {

class SignCode {
public:
  SignCode() = default;
  SignCode(int64_t count, int64_t dim);

  int64_t count() const { return count_; }
  int64_t dim() const { return dim_; }
  int64_t wordsPerRow() const { return words_; }
  // true where T(i)[r] = -1/sqrt(dim).
  bool negative(int64_t i, int64_t r) const {
    return (bits_[i * words_ + r / 64] >> (r % 64)) & 1;
  }
  void setNegative(int64_t i, int64_t r) {
    bits_[i * words_ + r / 64] |= uint64_t(1) << (r % 64);
  }
  const uint64_t *row(int64_t i) const { return bits_.data() + i * words_; }
  // Writes scale * T(i) into dst[0 .. dim).
  void writeRow(int64_t i, float scale, float *dst) const;

private:
  int64_t count_ = 0, dim_ = 0, words_ = 0;
  std::vector<uint64_t> bits_;
};

// Exact coherence of a sign code, from integer Hamming distances
// (XOR + popcount over all pairs, on all cores): <T(i),T(j)> = 1 - 2 h(i,j) /
// dim.
struct CoherenceMeasurement {
  double coherence = 0;       // max_{i!=j} |<T(i),T(j)>|
  double maxInnerProduct = 0; // max_{i!=j} <T(i),T(j)>
  // Pairs (0-based) attaining maxInnerProduct, at most 64 of them.
  std::vector<std::pair<int64_t, int64_t>> worstPairs;
};
CoherenceMeasurement measureCoherence(const SignCode &code);

// Dimension of a Rademacher code of `count` vectors whose coherence is at most
// `coherence` with probability >= 1 - failure (Hoeffding + union bound over
// the count*(count-1)/2 pairs): k = ceil((2 / c^2) ln(count (count-1) /
// failure)).
// Counts below 2 are bounded as 2; saturates at kMaxRademacherDimension.
int64_t rademacherDimension(int64_t count, double coherence,
                            double failure = 0.01);
constexpr int64_t kMaxRademacherDimension = int64_t(1) << 50;

struct CodeRequest {
  CodeFamily family = CodeFamily::Rademacher;
  int64_t count = 0;
  double coherence = 0.5; // target two-sided coherence
  uint64_t seed = 0;
};

struct Code {
  SignCode vectors;
  CodeCertificate certificate;
};

// Draws a code, measures it exactly, and redraws (or, after three misses,
// grows the dimension by 1/8) until the measured coherence meets the target.
// `progress` (optional) is told what is happening on long runs.
Code makeCode(const CodeRequest &request,
              const std::function<void(const std::string &)> &progress = {});

} // namespace handwire
