// Planning a Walsh head (ForwardPlan.h, WalshHeadPlan; docs/jit.md): the
// sign patterns of the queries and keys, their coordinates in a basis of
// their span, the kernel w over the group, the tasks of the dyadic
// decomposition with their kernels' spectra, and the rounding bound that
// decides whether to use it.
#include "codegen/WalshHead.h"

#include "codes/Walsh.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#if defined(__AVX__)
#include <immintrin.h>
#endif
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <utility>

namespace handwire {
namespace {

constexpr double kUnitRoundoff = 0x1p-24; // fp32
constexpr int kMaxBits = 22; // generators of the group (P <= 4M anyway)
// Kernel cosets one block's queries may need; more, and the transforms
// would cost more than the dense scores.
constexpr size_t kMaxCosetsPerBlock = 16;

float entry(const FoldedTable &t, int64_t r, int64_t c) {
  return t.view ? t.view[r * t.stride + c] * t.scale
                : t.data[static_cast<size_t>(r * t.cols + c)];
}

// Rows of a table that are zero or m (-1)^p_r, one magnitude m for all the
// non-zero rows; p_r packed into `words` words per row.
struct SignPatterns {
  int64_t words = 0, rows = 0;
  float magnitude = 0;
  HugeVector<uint64_t> bits;
  HugeVector<char> nonZero;
  const uint64_t *row(int64_t r) const { return bits.data() + r * words; }
};

// The sign bits of x[0 .. width), width <= 64; `differ` gets a non-zero bit
// if some |x[c]|'s bits are not m. Eight floats per step where AVX is there
// (a scalar loop read the 2 x 65536 x 64 floats of nearest neighbour's
// tables in 20 ms).
uint64_t signBits(const float *x, int64_t width, uint32_t m, uint32_t &differ) {
  uint64_t word = 0;
  int64_t c = 0;
#if defined(__AVX__)
  const __m256 magnitudeBits =
      _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
  const __m256 mv = _mm256_castsi256_ps(_mm256_set1_epi32(static_cast<int>(m)));
  __m256 other = _mm256_setzero_ps();
  for (; c + 8 <= width; c += 8) {
    const __m256 v = _mm256_loadu_ps(x + c);
    word |= uint64_t(static_cast<unsigned>(_mm256_movemask_ps(v))) << c;
    other =
        _mm256_or_ps(other, _mm256_xor_ps(_mm256_and_ps(v, magnitudeBits), mv));
  }
  const __m256i o = _mm256_castps_si256(other);
  differ |= _mm256_testz_si256(o, o) ? 0u : 1u;
#endif
  for (; c < width; ++c) {
    uint32_t bits;
    std::memcpy(&bits, x + c, sizeof bits);
    differ |= (bits & 0x7fffffffu) ^ m;
    word |= uint64_t(bits >> 31) << c;
  }
  return word;
}

// False if some row is neither zero nor a sign pattern of the magnitude.
// Reads the float bits of the table (a scaled view unscaled: its entries
// have equal magnitudes iff the view's have), one branch per row.
bool readSignPatterns(const FoldedTable &t, int64_t rows, int64_t dk,
                      SignPatterns &p) {
  p.words = (dk + 63) / 64;
  p.rows = rows;
  p.bits.assign(static_cast<size_t>(rows * p.words), 0);
  p.nonZero.assign(static_cast<size_t>(rows), 0);
  if (!t.present)
    return true;
  const float *base = t.view ? t.view : t.data.data();
  const int64_t stride = t.view ? t.stride : t.cols;
  const float scale = t.view ? t.scale : 1.0f;
  const uint32_t flip = std::signbit(scale) ? 0x80000000u : 0;
  for (int64_t r = 0; r < rows; ++r) {
    const float *row = base + r * stride;
    uint32_t first;
    std::memcpy(&first, row, sizeof first);
    const uint32_t m = first & 0x7fffffffu;
    uint32_t differ = 0;
    uint64_t *bits = p.bits.data() + r * p.words;
    for (int64_t w = 0; w < p.words; ++w) {
      const int64_t c0 = 64 * w, width = std::min<int64_t>(64, dk - c0);
      uint64_t word = signBits(row + c0, width, m, differ);
      if (flip)
        word =
            ~word & (width == 64 ? ~uint64_t(0) : (uint64_t(1) << width) - 1);
      bits[w] = word;
    }
    if (differ != 0)
      return false;
    if (m == 0) { // zero (signs of -0 dropped)
      std::fill(bits, bits + p.words, 0);
      continue;
    }
    const float magnitude = std::fabs(row[0] * scale);
    if (!std::isfinite(magnitude) ||
        (p.magnitude != 0 && magnitude != p.magnitude))
      return false;
    p.magnitude = magnitude;
    p.nonZero[static_cast<size_t>(r)] = 1;
  }
  return true;
}

// A basis of the span of the patterns met so far, over F_2: the first
// independent ones ("originals"), and for elimination the same span in
// echelon form, each echelon row with the originals it combines. A pattern
// in the span has coordinates a with p = XOR of the originals a selects.
class SpanBasis {
public:
  explicit SpanBasis(int64_t words) : words_(words) {}
  int bits() const { return static_cast<int>(originals_.size()); }
  const std::vector<uint64_t> &original(int k) const { return originals_[k]; }

  // p's coordinates, extending the basis if p is independent; -1 if that
  // would take more than kMaxBits originals.
  int64_t coordinates(const uint64_t *p) {
    if (words_ == 1) { // codes of up to 64 dimensions: branch-free words
      uint64_t x = p[0], mask = 0;
      for (size_t k = 0; k < pivot_.size(); ++k) {
        const uint64_t take = uint64_t(0) - ((x >> pivot_[k]) & 1);
        x ^= echelon1_[k] & take;
        mask ^= combines_[k] & take;
      }
      if (x == 0)
        return static_cast<int64_t>(mask);
    }
    tmp_.assign(p, p + words_);
    uint64_t mask = 0;
    for (size_t k = 0; k < echelon_.size(); ++k)
      if ((tmp_[pivot_[k] / 64] >> (pivot_[k] % 64)) & 1) {
        for (int64_t w = 0; w < words_; ++w)
          tmp_[w] ^= echelon_[k][w];
        mask ^= combines_[k];
      }
    int64_t w = 0;
    while (w < words_ && tmp_[w] == 0)
      ++w;
    if (w == words_)
      return static_cast<int64_t>(mask);
    if (bits() == kMaxBits)
      return -1;
    // tmp = p ^ (the originals in mask): p becomes original K.
    const uint64_t self = uint64_t(1) << bits();
    pivot_.push_back(w * 64 + __builtin_ctzll(tmp_[w]));
    echelon_.push_back(tmp_);
    echelon1_.push_back(tmp_[0]);
    combines_.push_back(mask | self);
    originals_.emplace_back(p, p + words_);
    return static_cast<int64_t>(self);
  }

private:
  int64_t words_;
  std::vector<std::vector<uint64_t>> originals_, echelon_;
  std::vector<int64_t> pivot_;
  std::vector<uint64_t> echelon1_, combines_; // echelon1_: first words
  std::vector<uint64_t> tmp_;
};

// The kernel shifted by the largest score, w(x) = kernelOf[|c(x)|] for every
// x of the group, split into the taps (w >= kWalshTapWeight, by increasing
// x) and the rest (w elsewhere, 0 at the taps). The elements go in Gray-code
// order, g_i = i ^ (i >> 1): g_i is g_(i-1) with bit ctz(i) flipped, so one
// running codeword gives every c(x) (no table of 2^K codewords).
HugeVector<double> splitKernel(const SpanBasis &basis, int64_t words,
                               const std::vector<double> &kernelOf,
                               WalshHeadPlan &p) {
  const int64_t P = int64_t(1) << basis.bits();
  HugeVector<double> rest(static_cast<size_t>(P), 0.0);
  std::vector<uint64_t> c(static_cast<size_t>(words), 0);
  std::vector<std::pair<int32_t, double>> taps;
  for (int64_t i = 0; i < P; ++i) {
    if (i > 0) {
      const std::vector<uint64_t> &g =
          basis.original(__builtin_ctzll(static_cast<uint64_t>(i)));
      for (int64_t w = 0; w < words; ++w)
        c[w] ^= g[w];
    }
    int weight = 0;
    for (int64_t w = 0; w < words; ++w)
      weight += __builtin_popcountll(c[w]);
    const int64_t x = i ^ (i >> 1);
    const double wx = kernelOf[static_cast<size_t>(weight)];
    if (wx >= kWalshTapWeight)
      taps.emplace_back(static_cast<int32_t>(x), wx);
    else
      rest[x] = wx;
  }
  std::sort(taps.begin(), taps.end());
  for (const auto &[x, wx] : taps) {
    p.tapOffsets.push_back(x);
    p.tapWeights.push_back(static_cast<float>(wx));
  }
  return rest;
}

// Largest |value| a component can take: max |token part| + max |position
// part| over all components, plus the feature part's: component c gains
// (V feature)_c . f_j, at most ||(V feature)_c||_2 featureNorm by
// Cauchy-Schwarz (the inputs promise ||f_j||_2 <= featureNorm).
double largestValue(const PositionHead &h) {
  auto largest = [&](const FoldedTable &t) {
    double m = 0;
    if (t.present)
      for (int64_t r = 0; r < t.rows; ++r)
        for (int64_t c = 0; c < h.dv; ++c)
          m = std::max(m, std::fabs(double(entry(t, r, c))));
    return m;
  };
  double feature = 0;
  const CompactMatrix &vf = h.valueFeat;
  for (int64_t c = 0; c < vf.rows && !vf.empty(); ++c) {
    double norm2 = 0;
    for (int64_t f = 0; f < vf.width(); ++f) {
      const double x = vf.w[static_cast<size_t>(c * vf.width() + f)];
      norm2 += x * x;
    }
    feature = std::max(feature, std::sqrt(norm2));
  }
  return largest(h.valueTok) + largest(h.valuePos) + feature * h.featureNorm;
}

// Group coordinates of the non-zero queries (a) and keys (b), -1 for zero
// rows, in `basis`. If the code is linear in the position, p(s) = c(s), then
// p(s) ^ p(s ^ 2^m) = c(2^m) for any two keys s, s ^ 2^m: the basis starts
// with those differences, so that b_s = s and a dyadic block of keys is a
// coset of the low bits (what the decomposition checks). False if the span
// needs more than kMaxBits generators.
bool coordinates(const SignPatterns &q, const SignPatterns &k, SpanBasis &basis,
                 HugeVector<int32_t> &a, HugeVector<int32_t> &b) {
  const int64_t M = q.rows, words = q.words;
  std::vector<uint64_t> difference(static_cast<size_t>(words));
  for (int64_t bit = 1; bit < M; bit *= 2)
    for (int64_t s = 0; s < M; ++s) {
      const int64_t partner = s ^ bit;
      if (partner >= M || !k.nonZero[static_cast<size_t>(s)] ||
          !k.nonZero[static_cast<size_t>(partner)])
        continue;
      for (int64_t w = 0; w < words; ++w)
        difference[w] = k.row(s)[w] ^ k.row(partner)[w];
      if (basis.coordinates(difference.data()) < 0)
        return false;
      break;
    }
  a.assign(static_cast<size_t>(M), -1);
  b.assign(static_cast<size_t>(M), -1);
  for (int64_t i = 0; i < M; ++i) {
    // Coordinates fit: at most kMaxBits generators.
    if (k.nonZero[static_cast<size_t>(i)] &&
        (b[i] = static_cast<int32_t>(basis.coordinates(k.row(i)))) < 0)
      return false;
    if (q.nonZero[static_cast<size_t>(i)] &&
        (a[i] = static_cast<int32_t>(basis.coordinates(q.row(i)))) < 0)
      return false;
  }
  return true;
}

// The kernel's share of the convolutions: w without its taps, restricted
// to coset h of the subgroup of the low l bits, transformed, over 2^l.
void appendSpectrum(const HugeVector<double> &rest, int l, int64_t h,
                    HugeVector<float> &spectra, double &mass) {
  const int64_t n = int64_t(1) << l;
  std::vector<double> t(rest.begin() + (h << l), rest.begin() + ((h + 1) << l));
  mass = 0;
  for (double x : t)
    mass += x;
  fwhtInPlace(t.data(), n);
  for (double x : t)
    spectra.push_back(static_cast<float>(x / double(n)));
}

// The tasks of level l: for every non-zero query t with bit l set, the keys
// of its left sibling block, grouped by block and kernel coset (the queries
// of one task share a_t >> l), appended to the plan's blocks. False if a
// block's keys are not in one coset of the low-l subgroup, or its queries need
// too many kernels.
struct Decomposition {
  WalshHeadPlan &p;
  const HugeVector<int32_t> &a, &b;
  const HugeVector<double> &rest;
  std::map<std::pair<int, int64_t>, int32_t> spectrumOf; // (l, coset)
  std::vector<double> levelMass; // largest kernel mass, per level with tasks
  std::vector<int> levelOf;      // that level
  HugeVector<int32_t> nextKey;   // per position: the first key at or after
  std::vector<char> notCosets;   // per level: some block's keys are not one
  std::vector<int64_t> highs;    // a block's a_t >> l, first seen first
  std::string whyNot;

  // One pass for every level: the keys of a block of 2^l positions are one
  // coset of the low-l subgroup iff every two consecutive keys s < s' in it
  // have b_s >> l == b_s' >> l; s and s' share the block from level
  // hb(s ^ s') + 1 on (hb: the highest set bit), their cosets agree from
  // level hb(b_s ^ b_s') + 1 on, so the levels in between fail.
  void prepare() {
    const int64_t M = static_cast<int64_t>(b.size());
    nextKey.assign(static_cast<size_t>(M + 1), M);
    for (int64_t s = M - 1; s >= 0; --s)
      nextKey[s] = b[s] >= 0 ? static_cast<int32_t>(s) : nextKey[s + 1];
    notCosets.assign(64, 0);
    auto hb = [](uint64_t x) { return x ? 63 - __builtin_clzll(x) : -1; };
    for (int64_t s = nextKey[0], t; s < M; s = t) {
      if ((t = nextKey[s + 1]) >= M)
        break;
      for (int l = hb(uint64_t(s ^ t)) + 1; l <= hb(uint64_t(b[s] ^ b[t])); ++l)
        notCosets[l] = 1;
    }
  }

  bool level(int l) {
    const int64_t M = static_cast<int64_t>(a.size()), n = int64_t(1) << l;
    if (notCosets[l]) {
      whyNot = "the keys of some block of " + std::to_string(n) +
               " positions are not one coset (the code is not linear in the "
               "position)";
      return false;
    }
    double mass = 0;
    const size_t blocksBefore = p.blockStart.size();
    for (int64_t left = 0; 2 * left + 1 < ((M + n - 1) >> l); ++left) {
      const int64_t s0 = 2 * left * n, key = nextKey[s0];
      if (key >= s0 + n)
        continue; // no key in the left block
      highs.clear();
      const int64_t r0 = s0 + n, r1 = std::min(M, r0 + n);
      for (int64_t t = r0; t < r1; ++t) {
        if (a[t] < 0)
          continue;
        ++p.gathers;
        const int64_t high = a[t] >> l;
        if (std::find(highs.begin(), highs.end(), high) != highs.end())
          continue;
        if (highs.size() == kMaxCosetsPerBlock) {
          whyNot = "the queries of one block need more than " +
                   std::to_string(kMaxCosetsPerBlock) + " kernels";
          return false;
        }
        highs.push_back(high);
      }
      if (highs.empty())
        continue;
      p.blockLevel.push_back(l);
      p.blockStart.push_back(static_cast<int32_t>(s0));
      for (int64_t high : highs) {
        const int64_t coset = high ^ (b[key] >> l);
        auto [it, fresh] = spectrumOf.try_emplace(
            {l, coset}, static_cast<int32_t>(p.spectra.size()));
        double m = 0;
        if (fresh)
          appendSpectrum(rest, l, coset, p.spectra, m);
        mass = std::max(mass, m);
        p.taskSpectrum.push_back(it->second);
        p.taskHigh.push_back(static_cast<int32_t>(high));
      }
      p.blockTasks.push_back(static_cast<int32_t>(p.taskSpectrum.size()));
    }
    if (p.blockStart.size() > blocksBefore) {
      ++p.levels;
      p.maxLevel = l;
      levelMass.push_back(mass);
      levelOf.push_back(l);
    }
    return true;
  }
};

} // namespace

std::optional<WalshHeadPlan> planWalshHead(const PositionHead &h,
                                           std::string &whyNot) {
  auto refuse = [&](std::string why) {
    whyNot = std::move(why);
    return std::nullopt;
  };
  const int64_t M = h.maxLength;
  SignPatterns q, k;
  if (!readSignPatterns(h.queryPos, M, h.dk, q) ||
      !readSignPatterns(h.keyPos, M, h.dk, k))
    return refuse("queries or keys are not sign vectors of one magnitude");
  if (q.magnitude == 0 || k.magnitude == 0)
    return refuse("no non-zero query or key");
  WalshHeadPlan p;
  HugeVector<int32_t> &a = p.queryIndex, &b = p.keyIndex;
  SpanBasis basis(q.words);
  if (!coordinates(q, k, basis, a, b))
    return refuse("the sign patterns span more than 2^" +
                  std::to_string(kMaxBits) + " elements");
  const int K = basis.bits();
  const int64_t P = int64_t(1) << K;
  if (P > 4 * M)
    return refuse("the sign patterns span 2^" + std::to_string(K) +
                  " elements, more than 4 M (a random code?)");

  p.bits = K;
  // Keys by group element (unique: a tap must find one key); every query's
  // own element must hold a key at or before it (its weight 1 bounds den).
  p.keyAt.assign(static_cast<size_t>(P), -1);
  for (int64_t s = 0; s < M; ++s)
    if (b[s] >= 0) {
      if (p.keyAt[b[s]] >= 0)
        return refuse("two keys have one sign pattern");
      p.keyAt[b[s]] = static_cast<int32_t>(s);
    }
  for (int64_t t = 0; t < M; ++t)
    if (a[t] >= 0 && !(p.keyAt[a[t]] >= 0 && p.keyAt[a[t]] <= t))
      return refuse("the query of position " + std::to_string(t) +
                    " has no key of its own pattern at or before it");

  // The kernel, shifted by the largest score alpha beta dk, and its taps.
  const double ab = double(q.magnitude) * double(k.magnitude);
  std::vector<double> kernelOf(static_cast<size_t>(64 * q.words + 1));
  for (size_t d = 0; d < kernelOf.size(); ++d) // by distance: dk + 1 values
    kernelOf[d] = std::exp(-2.0 * ab * double(d));
  const HugeVector<double> rest = splitKernel(basis, q.words, kernelOf, p);
  p.zeroKeyWeight = static_cast<float>(std::exp(-ab * double(h.dk)));
  p.selfWeight.assign(static_cast<size_t>(M), 0.0f);
  for (int64_t t = 0; t < M; ++t)
    if (a[t] >= 0 && b[t] >= 0)
      p.selfWeight[t] = static_cast<float>(rest[a[t] ^ b[t]]);

  Decomposition d{p, a, b, rest, {}, {}, {}, {}, {}, {}, {}};
  d.prepare();
  // Bounds reserved up front save the vectors' regrowth copies (and cost
  // nothing where they are not reached: only written pages are touched). A
  // level has at most M / 2^(l+1) blocks, M in all; a block at most
  // kMaxCosetsPerBlock tasks; a level's kernels are on distinct cosets of a
  // subgroup, at most P floats (more than 8 M floats in all are refused).
  int levelCount = 0;
  while ((int64_t(1) << levelCount) < M)
    ++levelCount;
  for (auto *v : {&p.blockLevel, &p.blockStart, &p.blockTasks})
    v->reserve(static_cast<size_t>(M + 1));
  for (auto *v : {&p.taskSpectrum, &p.taskHigh})
    v->reserve(kMaxCosetsPerBlock * static_cast<size_t>(M));
  p.spectra.reserve(static_cast<size_t>(std::min(P * levelCount, 8 * M + P)));
  p.blockTasks.push_back(0);
  for (int l = 0; l < levelCount; ++l)
    if (!d.level(l))
      return refuse(d.whyNot);
  if (static_cast<int64_t>(p.spectra.size()) > 8 * M)
    return refuse("its kernels would take more than 8 M floats");

  // Rounding (ForwardPlan.h): a level-l convolution of a block's values
  // (sum of |V| <= 2^l vmax) errs by <= (2l + 3) u mass_l 2^l vmax, which
  // den >= 1 divides; the row's sum of its <= levels + taps + 3 terms, each
  // a weight of den times a value, by (levels + taps + 3) u den vmax, a
  // relative error once divided; den the same with vmax = 1.
  const double u = kUnitRoundoff, vmax = largestValue(h);
  const double terms = double(p.levels) + double(p.tapOffsets.size()) + 3;
  double conv = 0;
  for (size_t i = 0; i < d.levelOf.size(); ++i) {
    const int l = d.levelOf[i];
    conv += (2.0 * l + 3) * u * d.levelMass[i] * std::ldexp(1.0, l);
  }
  const double perUnit = conv + terms * u; // per unit of |value|
  p.errorBound = 1.01 * (perUnit * vmax + perUnit * vmax + 2 * u * vmax);
  p.denseErrorBound = double(M + 3) * u * vmax;
  if (!(p.errorBound <= p.denseErrorBound)) {
    std::ostringstream os;
    os << "its rounding bound " << p.errorBound << " exceeds the dense "
       << "kernel's " << p.denseErrorBound;
    return refuse(os.str());
  }
  return p;
}

} // namespace handwire
