#include "constructions/SoftmaxScale.h"

#include "ir/SoftmaxChain.h"
#include "support/Diagnostics.h"

#include <cmath>
#include <sstream>

namespace handwire {

double requiredSoftmaxScale(double gap, int64_t competitors, double leakage) {
  HW_ASSERT(gap > 0 && competitors >= 1 && leakage > 0 && leakage < 1,
            "bad selection requirement");
  return (std::log(static_cast<double>(competitors)) +
          std::log((1 - leakage) / leakage)) /
         gap;
}

double worstTargetWeight(double scale, double gap, int64_t competitors) {
  return 1.0 /
         (1.0 + static_cast<double>(competitors) * std::exp(-scale * gap));
}

double leakageForReadoutMargin(double margin) { return (1 - margin) / 2; }

namespace {

// The head's requirement and error model, without a scale.
HeadCertificate headShape(const SelectionHead &s) {
  HW_ASSERT(s.gap > 0 && s.competitors >= 1 && s.leakage > 0 && s.leakage < 1 &&
                s.dotLength >= 1 && s.residualWidth >= 1,
            "bad selection head");
  HeadCertificate h;
  h.head = s.head;
  h.gap = s.gap;
  h.competitors = s.competitors;
  h.leakage = s.leakage;
  h.logitBound = s.logitBound;
  h.dotLength = s.dotLength;
  // Layer 0 reads the embedding through one matvec (weight, code, residual
  // and q/k roundings); each earlier layer adds a stored average over M keys,
  // its output matvec and two residual roundings.
  h.inputRoundings = s.inputRoundings >= 0 ? s.inputRoundings : 4 + 3 * s.layer;
  h.inputTerms =
      s.residualWidth + int64_t(s.layer) * (s.sequenceLength + s.residualWidth);
  h.scaleIsWeight = s.scaleIsWeight;
  h.scoreErrorUnits = s.scoreErrorUnits;
  return h;
}

} // namespace

bool selectionCertifiable(const SelectionHead &s, Precision p) {
  return std::isfinite(soundSoftmaxScale(headShape(s), p));
}

HeadCertificate certifySelectionHead(const SelectionHead &s,
                                     const ModelSpec &model) {
  HeadCertificate h = headShape(s);
  h.requiredScale = soundSoftmaxScale(h, model.precision);
  // With no sound scale, exact arithmetic's wires a finite network that
  // checkHeadCertificates refuses with the chain.
  h.scale = model.scale ? *model.scale
            : std::isfinite(h.requiredScale)
                ? h.requiredScale
                : requiredSoftmaxScale(s.gap, s.competitors, s.leakage);
  fillSelectionChain(h, model.precision);
  return h;
}

void checkHeadCertificates(Certificate &cert, Precision p) {
  for (HeadCertificate &h : cert.heads) {
    const SelectionChain c = fillSelectionChain(h, p);
    if (c.holds)
      continue;
    std::ostringstream os;
    os.precision(4);
    os << h.head << ": ";
    if (!std::isfinite(h.requiredScale))
      os << "no softmax scale certifies gap " << h.gap << " in "
         << precisionName(p) << " (the rounding of the scores eats it)";
    else
      os << "softmax scale " << h.scale << " is below the " << h.requiredScale
         << " the rounding chain needs in " << precisionName(p) << " for gap "
         << h.gap << " against " << h.competitors
         << " competing keys at leakage " << h.leakage;
    os << "; the chain:";
    for (const std::string &step : c.steps)
      os << " " << step << ";";
    cert.failures.push_back(os.str());
  }
  cert.certified = cert.failures.empty();
}

double attentionAverageTolerance(int64_t keys) {
  return 2.0 * double(keys) * std::ldexp(1.0, -24) + 1e-5;
}

} // namespace handwire
