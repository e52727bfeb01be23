#include "ir/SoftmaxChain.h"

#include "ir/StorageFormat.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <sstream>

namespace handwire {
namespace {

constexpr double kU32 = 0x1p-24;
// The JIT clamps exponents here (EmitCore's expNonPositive): below it, a
// competitor's term is e^-87.34 however far it trails.
constexpr double kExpClamp = 87.34;

// gamma_n = n u / (1 - n u); infinity once n u >= 1.
double gamma(double n, double u) {
  const double nu = n * u;
  return nu < 1 ? nu / (1 - nu) : std::numeric_limits<double>::infinity();
}

std::string num(double x) {
  std::ostringstream os;
  os.precision(6);
  os << x;
  return os.str();
}

// A stored copy of x: x itself in fp32 and f64 models (whose weights are
// fp32), else rounded to nearest in the 16-bit format.
double storedValue(double x, Precision p) {
  const float f = static_cast<float>(x);
  if (auto fmt = storageFormatOf(p))
    return roundToFormat(f, *fmt);
  return f;
}

// The smallest number of precision p's stored format that is >= x.
double roundUpToStored(double x, Precision p) {
  float f = static_cast<float>(x);
  if (double(f) < x)
    f = std::nextafter(f, std::numeric_limits<float>::infinity());
  const auto fmt = storageFormatOf(p);
  if (!fmt)
    return f;
  // Walk up fp32 until the format's rounding lands >= x: at most one format
  // ulp (2^16 fp32 steps for bf16, 2^13 for f16).
  float r = roundToFormat(f, *fmt);
  while (double(r) < x && std::isfinite(r)) {
    f = std::nextafter(f, std::numeric_limits<float>::infinity());
    r = roundToFormat(f, *fmt);
  }
  return r;
}

} // namespace

Arithmetic arithmeticOf(Precision p) {
  switch (p) {
  case Precision::F16:
    return {0x1p-11, kU32, 0x1p-25};
  case Precision::BF16:
    return {0x1p-8, kU32, 0x1p-134};
  case Precision::F64: // fp32 weights, fp64 arithmetic and activations
    return {kU32, 0x1p-53, 0x1p-150};
  case Precision::F32:
    break;
  }
  return {kU32, kU32, 0x1p-150};
}

Arithmetic arithmeticWithSignificand(int bits) {
  return {std::ldexp(1.0, -bits), kU32, 0x1p-150};
}

SelectionChain selectionChain(const HeadCertificate &h, double scale,
                              const Arithmetic &a) {
  SelectionChain c;
  const double us = a.store, ua = a.sum, B = h.logitBound;
  const double C = static_cast<double>(h.competitors);
  // 1. What the model stores. For a weight-scale the caller passes the stored
  // number (fillSelectionChain rounds it the way the format does).
  c.storedScale = h.scaleIsWeight ? scale : scale * (1 - us);
  // 2-3. Score error.
  c.inputError =
      std::pow(1 + us, h.inputRoundings) * (1 + gamma(h.inputTerms, ua)) - 1;
  const bool declared = h.scoreErrorUnits > 0 && us == kU32;
  const double perScale =
      declared ? h.scoreErrorUnits * kU32
               : ((1 + c.inputError) * (1 + c.inputError) *
                      (1 + gamma(double(h.dotLength), ua)) * (1 + us) -
                  1) *
                     B;
  c.scoreError = perScale * c.storedScale;
  // 4. Computed gap.
  c.computedGap = c.storedScale * h.gap - 2 * c.scoreError;
  // 5. A competitor's stored exponential.
  const double exponent = std::min((1 - ua) * c.computedGap, kExpClamp);
  c.competitorExp =
      std::exp(-exponent) * (1 + 4 * ua) * (1 + us) + a.halfSubnormal;
  // 6-7. Target weight and leak.
  const double g = gamma(C + 1, ua), mass = C * c.competitorExp;
  const double sumBound =
      std::min((1 + mass) * (1 + g), 1 + 2 * (1 + g) * (1 + g) * mass);
  c.targetWeight = (1 / sumBound) * (1 - ua) * (1 - us);
  // A class's share: its terms (at most `mass`, summed within gamma) over
  // Z~ >= (1 + its terms)(1 - gamma), or over Z~ >= 1 alone.
  const double share = std::min(mass * (1 + g), mass / (1 + mass) * (1 + g) /
                                                    std::max(1 - g, 0.0));
  c.leak = share * (1 + ua) * (1 + us);
  c.outputError = std::max(1 - c.targetWeight, c.leak);
  c.holds = c.computedGap > 0 && std::isfinite(sumBound) &&
            c.outputError <= h.leakage;

  auto step = [&c](std::string s) { c.steps.push_back(std::move(s)); };
  step("1. stored scale " + num(c.storedScale) +
       (h.scaleIsWeight ? " (the weight as stored)"
                        : " (scale " + num(scale) + " less one rounding)"));
  step(declared
           ? "2-3. score error <= " + num(h.scoreErrorUnits) +
                 " u per unit of scale (the construction's own bound): E = " +
                 num(c.scoreError)
           : "2-3. q and k entries within " + num(c.inputError) + " (" +
                 std::to_string(h.inputRoundings) + " roundings, sums of " +
                 std::to_string(h.inputTerms) +
                 "); score error E <= " + num(perScale) + " x " +
                 num(c.storedScale) + " = " + num(c.scoreError));
  step("4. computed gap G = " + num(c.storedScale) + " x " + num(h.gap) +
       " - 2 E = " + num(c.computedGap) +
       (c.computedGap > 0 ? " > 0" : " <= 0: the target may not win"));
  step("5. each of " + std::to_string(h.competitors) +
       " competitors stores exp <= " + num(c.competitorExp));
  step("6. target weight >= " + num(c.targetWeight) +
       " (needs >= " + num(1 - h.leakage) + ")");
  step("7. leak to another value <= " + num(c.leak) +
       " (needs <= " + num(h.leakage) + ")");
  step(std::string("8. ") +
       (c.holds ? "holds: output within " + num(c.outputError) +
                      " of the target's value"
                : "fails: output may be " + num(c.outputError) +
                      " from the target's value, more than the leakage " +
                      num(h.leakage)));
  return c;
}

double soundSoftmaxScale(const HeadCertificate &h, Precision p) {
  const Arithmetic a = arithmeticOf(p);
  auto holdsAt = [&](double s) { return selectionChain(h, s, a).holds; };
  // Exact arithmetic's scale is a lower limit; double until the chain holds.
  double lo = std::max(0.0, (std::log(double(h.competitors)) +
                             std::log((1 - h.leakage) / h.leakage)) /
                                h.gap);
  double hi = std::max(lo, 1e-3) * 1.01;
  for (int i = 0; !holdsAt(hi); ++i) {
    if (i == 64 || hi > 1e30)
      return std::numeric_limits<double>::infinity();
    lo = hi;
    hi *= 2;
  }
  for (int i = 0; i < 100 && hi - lo > hi * 1e-12; ++i) {
    const double mid = (lo + hi) / 2;
    (holdsAt(mid) ? hi : lo) = mid;
  }
  if (!h.scaleIsWeight)
    return hi;
  // A format number, checked as stored (the chain is monotone in the scale,
  // so rounding up keeps it).
  double s = roundUpToStored(hi, p);
  while (std::isfinite(s) && !holdsAt(s))
    s = roundUpToStored(std::nextafter(s, 1e300), p);
  return s;
}

int requiredSignificandBits(const HeadCertificate &h) {
  for (int bits = 2; bits <= 53; ++bits)
    if (selectionChain(h, h.scale, arithmeticWithSignificand(bits)).holds)
      return bits;
  return 54;
}

int HeadCertificate::requiredBits() const {
  return requiredSignificandBits(*this);
}

SelectionChain fillSelectionChain(HeadCertificate &h, Precision p) {
  const double stored = h.scaleIsWeight ? storedValue(h.scale, p) : h.scale;
  SelectionChain c = selectionChain(h, stored, arithmeticOf(p));
  h.storedScale = c.storedScale;
  h.scoreError = c.scoreError;
  h.worstTargetWeight = c.targetWeight;
  h.outputError = c.outputError;
  return c;
}

} // namespace handwire
