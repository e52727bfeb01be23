#include "export/JsonForm.h"

namespace handwire {

using nlohmann::json;

namespace {

json codeCertificateToJson(const CodeCertificate &k) {
  json pairs = json::array();
  for (const auto &[a, b] : k.worstPairs)
    pairs.push_back({a, b});
  json alternatives = json::array();
  for (const auto &[family, dim] : k.alternatives)
    alternatives.push_back({{"family", family}, {"dim", dim}});
  return {{"family", k.family},
          {"requested", k.requested},
          {"params", k.params},
          {"requirement", k.requirement},
          {"method", k.method},
          {"lower_limit_dim", k.lowerLimitDim},
          {"alternatives", alternatives},
          {"seed", k.seed},
          {"dim", k.dim},
          {"count", k.count},
          {"draws", k.draws},
          {"target_coherence", k.targetCoherence},
          {"coherence", k.coherence},
          {"max_inner_product", k.maxInnerProduct},
          {"worst_pairs", pairs}};
}

CodeCertificate codeCertificateFromJson(const json &k, const JsonReader &r) {
  const std::string ctx = "certificate.code.";
  CodeCertificate cc;
  cc.family = r.string(k, "family", ctx);
  cc.requested = k.value("requested", cc.family);
  cc.params = k.value("params", "");
  cc.requirement = k.value("requirement", "two-sided");
  cc.method = k.value("method", "");
  cc.lowerLimitDim = k.value("lower_limit_dim", int64_t(0));
  for (const auto &a : k.value("alternatives", json::array()))
    if (a.is_object() && a.contains("family") && a["family"].is_string() &&
        a.contains("dim") && a["dim"].is_number_integer())
      cc.alternatives.emplace_back(a["family"].get<std::string>(),
                                   a["dim"].get<int64_t>());
  cc.seed = r.get(k, "seed", ctx).get<uint64_t>();
  cc.dim = r.integer(k, "dim", ctx, 1, int64_t(1) << 20);
  cc.count = r.integer(k, "count", ctx, 2, int64_t(1) << 27);
  cc.draws = static_cast<int>(r.integer(k, "draws", ctx, 1, 1 << 20));
  cc.targetCoherence = r.number(k, "target_coherence", ctx);
  cc.coherence = r.number(k, "coherence", ctx);
  cc.maxInnerProduct = r.number(k, "max_inner_product", ctx);
  for (const auto &p : k.value("worst_pairs", json::array()))
    if (p.is_array() && p.size() == 2 && p[0].is_number_integer() &&
        p[1].is_number_integer())
      cc.worstPairs.emplace_back(p[0].get<int64_t>(), p[1].get<int64_t>());
  return cc;
}

} // namespace

json certificateToJson(const Certificate &c) {
  json j = {{"certified", c.certified},
            {"failures", c.failures},
            {"readout_margin", c.readoutMargin},
            {"logit_tolerance", c.logitTolerance},
            {"argument", c.argument},
            {"heads", json::array()}};
  if (c.code)
    j["code"] = codeCertificateToJson(*c.code);
  for (const auto &h : c.heads)
    j["heads"].push_back({{"head", h.head},
                          {"gap", h.gap},
                          {"competitors", h.competitors},
                          {"leakage", h.leakage},
                          {"required_scale", h.requiredScale},
                          {"scale", h.scale},
                          {"worst_target_weight", h.worstTargetWeight},
                          {"logit_bound", h.logitBound}});
  return j;
}

Certificate certificateFromJson(const json &cert, const JsonReader &r) {
  Certificate c;
  c.certified = cert.value("certified", false);
  for (const auto &f : cert.value("failures", json::array()))
    if (f.is_string())
      c.failures.push_back(f.get<std::string>());
  c.readoutMargin = r.number(cert, "readout_margin", "certificate.");
  c.logitTolerance = r.number(cert, "logit_tolerance", "certificate.");
  c.argument = cert.value("argument", "");
  if (cert.contains("code"))
    c.code = codeCertificateFromJson(cert["code"], r);
  const std::string ctx = "certificate.heads[].";
  for (const auto &h : r.get(cert, "heads", "certificate."))
    c.heads.push_back(
        {r.string(h, "head", ctx), r.number(h, "gap", ctx),
         r.integer(h, "competitors", ctx, 1, int64_t(1) << 27),
         r.number(h, "leakage", ctx), r.number(h, "required_scale", ctx),
         r.number(h, "scale", ctx), r.number(h, "worst_target_weight", ctx)});
  for (size_t i = 0; i < c.heads.size(); ++i)
    c.heads[i].logitBound =
        cert["heads"][i].value("logit_bound", 1.0); // absent: unit codes
  return c;
}

json precisionVerdictsJson(const std::vector<PrecisionVerdict> &verdicts) {
  json j = json::array();
  for (const PrecisionVerdict &v : verdicts)
    j.push_back({{"precision", precisionName(v.precision)},
                 {"exact", v.exact},
                 {"required_bits", v.requiredBits},
                 {"reasons", v.reasons}});
  return j;
}

} // namespace handwire
