#include "analysis/PrecisionCertificate.h"

#include "ir/SoftmaxChain.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <sstream>

namespace handwire {
namespace {

struct Format {
  int significand;  // bits, with the implicit one
  double maxFinite; // largest finite value
  double minNormal; // below it, relative precision is lost
};

Format formatOf(Precision p) {
  switch (p) {
  case Precision::F16:
    return {11, 65504.0, std::ldexp(1.0, -14)};
  case Precision::BF16:
    return {8, 3.3895313892515355e38, std::ldexp(1.0, -126)};
  case Precision::F64:
    return {53, 1.7976931348623157e308, std::ldexp(1.0, -1022)};
  case Precision::F32:
    break;
  }
  return {24, 3.4028234663852886e38, std::ldexp(1.0, -126)};
}

std::string num(double x) {
  std::ostringstream os;
  os.precision(6);
  os << x;
  return os.str();
}

struct WeightStats {
  double maxAbs = 0;
  std::string where;
  // Fractional bits needed to write every weight exactly (-1: not dyadic
  // within 24 bits).
  int fractionBits = 0;
};

void scan(WeightStats &s, const float *data, int64_t n,
          const std::string &name) {
  for (int64_t i = 0; i < n; ++i) {
    const double w = std::fabs(double(data[i]));
    if (w > s.maxAbs) {
      s.maxAbs = w;
      s.where = name;
    }
    if (s.fractionBits >= 0 && w != 0) {
      // data[i] = m 2^e with m odd needs max(0, -e) fractional bits.
      uint32_t u;
      std::memcpy(&u, &data[i], sizeof u);
      const int biased = static_cast<int>((u >> 23) & 0xff);
      if (biased == 0xff) { // inf or NaN: not a dyadic rational
        s.fractionBits = -1;
        continue;
      }
      const uint32_t m = (u & 0x7fffff) | (biased ? 0x800000u : 0u);
      const int e = (biased ? biased : 1) - 150 + __builtin_ctz(m);
      const int bits = std::max(0, -e);
      s.fractionBits = bits > 24 ? -1 : std::max(s.fractionBits, bits);
    }
  }
}

WeightStats weightStats(const Network &net) {
  WeightStats s;
  forEachWeightArray(net, [&s](const std::string &name, const float *w,
                               int64_t n) { scan(s, w, n, name); });
  return s;
}

// Largest |pre-activation| of an Elman step whose states lie in [0, 1]:
// max over units of sum |W_ij| + |b_i| + max_t |U_it|.
double elmanPreactivationBound(const ElmanBody &e) {
  const int64_t H = e.bias.size();
  std::vector<double> bound(H, 0), input(H, 0);
  for (int64_t k = 0; k < e.recurrent.outerSize(); ++k)
    for (SparseMatrix::InnerIterator it(e.recurrent, k); it; ++it)
      bound[it.row()] += std::fabs(double(it.value()));
  for (int64_t k = 0; k < e.input.outerSize(); ++k)
    for (SparseMatrix::InnerIterator it(e.input, k); it; ++it)
      input[it.row()] =
          std::max(input[it.row()], std::fabs(double(it.value())));
  double worst = 0;
  for (int64_t i = 0; i < H; ++i)
    worst = std::max(worst, bound[i] + std::fabs(e.bias[i]) + input[i]);
  return worst;
}

constexpr int kFp32Significand = 24; // with the implicit bit

// The read-out head on a 0/1 final state, by interval arithmetic: with
// every weight on a grid of 2^-e, layer k's pre-activations are multiples of
// 2^-(k+1)e (products of two grid values add exponents). Unit i's inputs lie
// in [0, zmax_j] (1 for the state, then ReLU outputs), so every partial sum of
// its fp32 accumulation is at most S_i = sum_j |W_ij| zmax_j + |b_i| in size,
// and the pre-activation itself at most U_i = b_i + sum_{W_ij > 0} W_ij zmax_j.
// Only U matters for the stored value: rounding never makes a negative
// number positive, so ReLU(rounded) is exactly 0 below zero, however far
// below (a count compared with 1 can reach -N and still be exact).
struct HeadLayerGrid {
  int gridExponent = 0; // pre-activations are multiples of 2^-gridExponent
  double upper = 0;     // largest pre-activation (>= 0)
  double sum = 0;       // largest |partial sum| of the fp32 accumulation
  double maxWeight = 0; // largest |weight| or |bias| of the layer
};

std::vector<HeadLayerGrid> headGrids(const ElmanBody &e, int fractionBits) {
  std::vector<HeadLayerGrid> grids;
  Eigen::VectorXd zmax = Eigen::VectorXd::Ones(e.bias.size());
  for (size_t k = 0; k < e.head.size(); ++k) {
    const HeadLayer &layer = e.head[k];
    const SparseMatrix &W = layer.weight;
    HeadLayerGrid g;
    g.gridExponent = int(k + 1) * fractionBits;
    Eigen::VectorXd S = layer.bias.cast<double>().cwiseAbs();
    Eigen::VectorXd U = layer.bias.cast<double>();
    g.maxWeight = S.size() ? S.maxCoeff() : 0;
    for (int64_t r = 0; r < W.outerSize(); ++r)
      for (SparseMatrix::InnerIterator it(W, r); it; ++it) {
        const double w = double(it.value());
        S[r] += std::fabs(w) * zmax[it.index()];
        if (w > 0)
          U[r] += w * zmax[it.index()];
        g.maxWeight = std::max(g.maxWeight, std::fabs(w));
      }
    zmax = U.cwiseMax(0.0);
    g.upper = zmax.size() ? zmax.maxCoeff() : 0;
    g.sum = S.size() ? S.maxCoeff() : 0;
    grids.push_back(g);
  }
  return grids;
}

// Marks the verdict inexact, for the given reason.
void fail(PrecisionVerdict &v, const std::string &why) {
  v.exact = false;
  v.reasons.push_back(why);
}

// Significand bits a value of gridValue grid steps needs.
int bitsFor(double gridValue) {
  return std::max(1, int(std::ceil(std::log2(gridValue + 1))));
}

// 1. Every weight must be finite in the format.
void checkWeightsFinite(PrecisionVerdict &v, const Format &f,
                        const std::string &name, const WeightStats &w) {
  if (w.maxAbs > f.maxFinite)
    fail(v, "weight " + num(w.maxAbs) + " in " + w.where + " overflows " +
                name + " (largest finite value " + num(f.maxFinite) + ")");
}

// 2a'. The read-out head, layer by layer on its own (finer) grid: each
// stored pre-activation's positive range and each weight must fit the
// significand, and each fp32 partial sum fp32's. This assumes the same
// 0/1 final state.
void certifyReadoutHead(PrecisionVerdict &v, const ElmanBody &e,
                        const Format &f, const std::string &name,
                        int fractionBits) {
  const std::vector<HeadLayerGrid> grids = headGrids(e, fractionBits);
  for (size_t k = 0; k < grids.size(); ++k) {
    const HeadLayerGrid &g = grids[k];
    const int bits = bitsFor(std::max(std::ldexp(g.upper, g.gridExponent),
                                      std::ldexp(g.maxWeight, fractionBits)));
    const int sumBits = bitsFor(std::ldexp(g.sum, g.gridExponent));
    v.requiredBits = std::max(v.requiredBits, bits);
    const std::string layer = "rnn.head." + std::to_string(k);
    if (sumBits > kFp32Significand)
      fail(v, layer + ": partial sums reach " + num(g.sum) +
                  " on a grid of 2^-" + std::to_string(g.gridExponent) +
                  ": fp32 accumulation needs " + std::to_string(sumBits) +
                  " significand bits, it has 24");
    if (bits > f.significand)
      fail(v, layer + ": pre-activations reach " + num(g.upper) +
                  " on a grid of 2^-" + std::to_string(g.gridExponent) +
                  ": needs " + std::to_string(bits) + " significand bits, " +
                  name + " has " + std::to_string(f.significand));
    else
      v.reasons.push_back(layer + ": pre-activations are multiples of 2^-" +
                          std::to_string(g.gridExponent) + " of at most " +
                          num(g.upper) +
                          " (below 0 they round to at most 0): exact with " +
                          std::to_string(bits) + " bits");
  }
}

// 2a. RNN: with weights on a grid of 2^-e and states in {0, 1} (the
// constructions' invariant), every pre-activation is a multiple of 2^-e
// of magnitude <= B: exact iff B 2^e fits the significand. A read-out
// head is checked the same way, on the grids headGrids derives.
void certifyElman(PrecisionVerdict &v, const ElmanBody &e, const Format &f,
                  const std::string &name, const WeightStats &w) {
  const double B = elmanPreactivationBound(e);
  if (w.fractionBits < 0) {
    fail(v, "weights are not dyadic rationals, so exactness of the 0/1 state "
            "cannot be argued in " +
                name);
    return;
  }
  v.requiredBits = bitsFor(std::ldexp(B, w.fractionBits));
  if (v.requiredBits > f.significand)
    fail(v, "pre-activations reach " + num(B) + " on a grid of 2^-" +
                std::to_string(w.fractionBits) + ": needs " +
                std::to_string(v.requiredBits) + " significand bits, " + name +
                " has " + std::to_string(f.significand));
  else
    v.reasons.push_back("every pre-activation is a multiple of 2^-" +
                        std::to_string(w.fractionBits) +
                        " of size <= " + num(B) + ": exact with " +
                        std::to_string(v.requiredBits) + " bits");
  certifyReadoutHead(v, e, f, name, w.fractionBits);
}

// 2b. Selection heads: each head's rounding chain (ir/SoftmaxChain.h) must
// hold at its scale in the format: the stored scale, the score error of
// stored codes and fp32 sums, the computed gap, the exponentials and the sum
// give the target at least 1 - leakage and any other value at most leakage.
void certifySelectionHeads(PrecisionVerdict &v, const Certificate &c,
                           const Format &f, const std::string &name,
                           Precision p) {
  for (HeadCertificate h : c.heads) {
    if (h.gap <= 0)
      continue;
    v.requiredBits = std::max(v.requiredBits, h.requiredBits());
    const SelectionChain chain = fillSelectionChain(h, p);
    if (!chain.holds) {
      std::string why = h.head + ": the rounding chain fails at scale " +
                        num(h.scale) + " in " + name + " (";
      const double needs = soundSoftmaxScale(h, p);
      why += std::isfinite(needs) ? "it needs scale >= " + num(needs)
                                  : "no scale makes it hold";
      why += "):";
      for (const std::string &step : chain.steps)
        why += " " + step + ";";
      fail(v, why);
    }
    if (h.scale * h.logitBound > f.maxFinite)
      fail(v, h.head + ": logits up to " + num(h.scale * h.logitBound) +
                  " overflow " + name);
  }
}

// 2c. Averages: the smallest one the read-out must resolve needs
// averageBits significant bits; below the smallest normal number a
// format has fewer (a subnormal x has log2(x / smallest subnormal) + 1).
void certifyAverages(PrecisionVerdict &v, const Certificate &c, const Format &f,
                     const std::string &name) {
  if (c.averageBits <= 0)
    return;
  v.requiredBits = std::max(v.requiredBits, c.averageBits);
  const double minSub = std::ldexp(f.minNormal, 1 - f.significand);
  const int bitsThere =
      c.smallestAverage >= f.minNormal
          ? f.significand
          : int(std::floor(std::log2(c.smallestAverage / minSub))) + 1;
  if (bitsThere < c.averageBits)
    fail(v, "an attention average as small as " + num(c.smallestAverage) +
                " keeps only " + std::to_string(std::max(bitsThere, 0)) +
                " significand bits in " + name + ", " +
                std::to_string(c.averageBits) + " are needed");
}

PrecisionVerdict certifyWith(const Network &net, Precision p,
                             const WeightStats &w) {
  const Format f = formatOf(p);
  PrecisionVerdict v;
  v.precision = p;
  v.exact = true;
  const std::string name = precisionName(p);
  checkWeightsFinite(v, f, name, w);
  if (!net.isTransformer()) {
    certifyElman(v, net.elman(), f, name, w);
    return v;
  }
  certifySelectionHeads(v, net.certificate, f, name, p);
  certifyAverages(v, net.certificate, f, name);
  if (v.exact)
    v.reasons.push_back("every selection head's rounding chain holds (" +
                        std::to_string(std::max(v.requiredBits, 1)) +
                        " significand bits suffice at its scale); weights "
                        "and averages are in range");
  return v;
}

} // namespace

PrecisionVerdict certifyPrecision(const Network &net, Precision p) {
  return certifyWith(net, p, weightStats(net));
}

std::vector<PrecisionVerdict> precisionVerdicts(const Network &net) {
  const WeightStats w = weightStats(net); // one scan for all three
  return {certifyWith(net, Precision::F32, w),
          certifyWith(net, Precision::F16, w),
          certifyWith(net, Precision::BF16, w)};
}

} // namespace handwire
