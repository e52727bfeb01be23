#include "constructions/SoftmaxScale.h"

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

HeadCertificate certifySelectionHead(const std::string &head, double gap,
                                     int64_t competitors, double leakage,
                                     double scale) {
  HeadCertificate h;
  h.head = head;
  h.gap = gap;
  h.competitors = competitors;
  h.leakage = leakage;
  h.requiredScale = requiredSoftmaxScale(gap, competitors, leakage);
  h.scale = scale;
  h.worstTargetWeight = worstTargetWeight(scale, gap, competitors);
  return h;
}

void checkHeadCertificates(Certificate &cert) {
  for (const HeadCertificate &h : cert.heads) {
    // Relative slack of 1e-9 absorbs the rounding of ln() in the derivation.
    if (h.scale >= h.requiredScale * (1 - 1e-9))
      continue;
    std::ostringstream os;
    os.precision(4);
    os << h.head << ": softmax scale " << h.scale << " is below the "
       << h.requiredScale << " needed for gap " << h.gap << " against "
       << h.competitors << " competing keys at leakage " << h.leakage
       << "; the target may get as little as " << 100 * h.worstTargetWeight
       << "% of the attention (needs " << 100 * (1 - h.leakage) << "%)";
    cert.failures.push_back(os.str());
  }
  cert.certified = cert.failures.empty();
}

double attentionAverageTolerance(int64_t keys) {
  return 2.0 * double(keys) * std::ldexp(1.0, -24) + 1e-5;
}

} // namespace handwire
