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
  std::vector<uint64_t> &mutableBits() { return bits_; }
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

// Independent uniform signs: row i depends only on (seed, dim, i).
SignCode drawRademacher(int64_t count, int64_t dim, uint64_t seed);

// What a construction needs from its code (codes-and-bounds.md §1.1). A
// single-key lookup needs only a one-sided gap: max_{i!=j} <T(i),T(j)> <= mu,
// negative inner products are harmless. Where codewords are summed, the
// interference adds up, and |<T(i),T(j)>| <= mu is needed.
enum class Sidedness { OneSided, TwoSided };
const char *sidednessName(Sidedness s); // "one-sided", "two-sided"

struct CodeRequest {
  CodeFamily family = CodeFamily::Auto;
  int64_t count = 0;
  double coherence = 0.5; // mu: the bound the requirement puts on the code
  uint64_t seed = 0;      // random families only
  Sidedness sided = Sidedness::TwoSided;
  SourceLoc loc{}; // of the `code` field, for errors
};

struct Code {
  SignCode vectors;
  CodeCertificate certificate;
};

// The code for a request: the narrowest member of the family (for `auto`, of
// every family) whose exact certificate meets the requirement. Algebraic codes
// are certified over their span by FWHT or Gray-code enumeration; random sign
// codes by all pairs, redrawn (and after three misses widened by 1/8) until
// they pass. Throws UserError when the family cannot meet the requirement or
// certifying it would take too long. `progress` hears about long steps.
Code makeCode(const CodeRequest &request,
              const std::function<void(const std::string &)> &progress = {});

// The width makeCode will choose, without materializing the vectors (for
// memory estimates). Throws as makeCode does.
int64_t plannedCodeWidth(const CodeRequest &request);

// No code of `count` distinct sign vectors has fewer than ceil(log2 count)
// coordinates: a free lower bound on every family's width.
int64_t minimumCodeWidth(int64_t count);

} // namespace handwire
