#include "driver/Certify.h"

#include "analysis/PrecisionCertificate.h"

namespace handwire {

bool certifyNetwork(Network &net, const ModelSpec &model,
                    const CompileOptions &options, DiagnosticEngine &diags) {
  net.certificate.precisions = precisionVerdicts(net);
  // The construction already refused heads whose rounding chain fails in
  // the model's precision; the verdict's copy of that reason is not repeated.
  auto alreadySaid = [&net](const std::string &why) {
    for (const HeadCertificate &h : net.certificate.heads)
      if (why.rfind(h.head + ": the rounding chain", 0) == 0)
        for (const std::string &f : net.certificate.failures)
          if (f.rfind(h.head + ":", 0) == 0)
            return true;
    return false;
  };
  for (const PrecisionVerdict &v : net.certificate.precisions)
    if (v.precision == model.precision && !v.exact) {
      net.certificate.certified = false;
      for (const std::string &why : v.reasons)
        if (!alreadySaid(why))
          net.certificate.failures.push_back(std::string("not exact in ") +
                                             precisionName(v.precision) + ": " +
                                             why);
    }
  if (net.certificate.certified)
    return true;
  const SourceLoc at = model.scale ? model.fieldLoc("scale")
                       : model.precision != Precision::F32
                           ? model.fieldLoc("precision")
                           : model.loc;
  for (const auto &f : net.certificate.failures) {
    if (options.allowUncertified)
      diags.warning(at, "model '" + model.name + "' is not certified: " + f);
    else
      diags.refusal(at, "model '" + model.name + "' cannot be certified: " + f);
  }
  if (options.allowUncertified)
    return true;
  diags.note(at, model.scale
                     ? "remove the override to use the derived scale, or "
                       "pass --allow-uncertified to build it anyway"
                     : "choose a wider precision (precision = f32), or "
                       "pass --allow-uncertified to build it anyway");
  return false;
}

} // namespace handwire
