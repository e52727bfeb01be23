#include "export/JsonForm.h"

#include <cmath>

#include <limits>

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
          {"lower_limit_bound", k.lowerLimitBound},
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

// The most codewords a code certificate may describe (a position code has
// one per position; 2^27 is the largest vocabulary a model file may have).
constexpr int64_t kMaxCodewords = int64_t(1) << 27;

CodeCertificate codeCertificateFromJson(const json &k, const JsonReader &r) {
  const std::string ctx = "certificate.code.";
  if (!k.is_object())
    r.fail("certificate.code",
           "must be an object, got " + JsonReader::shown(k));
  CodeCertificate cc;
  cc.family = r.name(k, "family", ctx);
  cc.requested = r.stringOr(k, "requested", ctx, cc.family);
  cc.params = r.stringOr(k, "params", ctx, "");
  cc.requirement = r.stringOr(k, "requirement", ctx, "two-sided");
  if (cc.requirement != "two-sided" && cc.requirement != "one-sided")
    r.fail(ctx + "requirement", "must be \"two-sided\" or \"one-sided\"");
  cc.method = r.stringOr(k, "method", ctx, "");
  cc.lowerLimitDim =
      r.integerOr(k, "lower_limit_dim", ctx, 0, kMaxCodewords, 0);
  // Absent in files written before the one-sided limit: theirs is two-sided.
  cc.lowerLimitBound = r.stringOr(k, "lower_limit_bound", ctx, "");
  if (r.has(k, "alternatives")) {
    const json &alts = r.array(k, "alternatives", ctx, 0, 64);
    for (size_t i = 0; i < alts.size(); ++i) {
      const std::string at = ctx + "alternatives[" + std::to_string(i) + "].";
      cc.alternatives.emplace_back(
          r.name(alts[i], "family", at),
          r.integer(alts[i], "dim", at, -1, int64_t(1) << 30));
    }
  }
  const json &seed = r.get(k, "seed", ctx);
  if (!seed.is_number_integer() ||
      (!seed.is_number_unsigned() && seed.get<int64_t>() < 0))
    r.fail(ctx + "seed",
           "must be an integer in [0, 2^64), got " + JsonReader::shown(seed));
  cc.seed = seed.get<uint64_t>();
  cc.dim = r.integer(k, "dim", ctx, 1, int64_t(1) << 20);
  cc.count = r.integer(k, "count", ctx, 2, kMaxCodewords);
  cc.draws = static_cast<int>(r.integer(k, "draws", ctx, 1, 1 << 20));
  cc.targetCoherence = r.number(k, "target_coherence", ctx, 0, 1);
  cc.coherence = r.number(k, "coherence", ctx, 0, 1);
  cc.maxInnerProduct = r.number(k, "max_inner_product", ctx, -1, 1);
  // Codeword ids: eval aims its adversarial inputs at them, indexing
  // positions, so each must name one of the `count` codewords.
  if (r.has(k, "worst_pairs")) {
    const json &pairs = r.array(k, "worst_pairs", ctx, 0, 64);
    for (size_t i = 0; i < pairs.size(); ++i) {
      const std::string at = ctx + "worst_pairs[" + std::to_string(i) + "]";
      const json &p = pairs[i];
      if (!p.is_array() || p.size() != 2)
        r.fail(at, "must be a pair [i, j] of codeword ids, got " +
                       JsonReader::shown(p));
      const int64_t a = r.integerValue(p[0], at + "[0]", 0, cc.count - 1);
      const int64_t b = r.integerValue(p[1], at + "[1]", 0, cc.count - 1);
      if (a == b)
        r.fail(at, "pairs codeword " + std::to_string(a) + " with itself");
      cc.worstPairs.emplace_back(a, b);
    }
  }
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
    j["heads"].push_back(
        {{"head", h.head},
         {"gap", h.gap},
         {"competitors", h.competitors},
         {"leakage", h.leakage},
         // Infinite when no scale certifies the head (an
         // --allow-uncertified model): JSON has no inf.
         {"required_scale", std::isfinite(h.requiredScale)
                                ? h.requiredScale
                                : std::numeric_limits<double>::max()},
         {"scale", h.scale},
         {"worst_target_weight", h.worstTargetWeight},
         {"logit_bound", h.logitBound},
         {"dot_length", h.dotLength},
         {"input_terms", h.inputTerms},
         {"input_roundings", h.inputRoundings},
         {"scale_is_weight", h.scaleIsWeight},
         {"score_error_units", h.scoreErrorUnits},
         {"stored_scale", h.storedScale},
         {"score_error", h.scoreError},
         {"output_error", h.outputError}});
  return j;
}

Certificate certificateFromJson(const json &cert, const JsonReader &r) {
  const std::string ctx = "certificate.";
  if (!cert.is_object())
    r.fail("certificate", "must be an object, got " + JsonReader::shown(cert));
  Certificate c;
  c.certified = r.booleanOr(cert, "certified", ctx, false);
  if (r.has(cert, "failures")) {
    const json &failures = r.array(cert, "failures", ctx, 0, 4096);
    for (size_t i = 0; i < failures.size(); ++i)
      c.failures.push_back(r.stringValue(
          failures[i], ctx + "failures[" + std::to_string(i) + "]"));
  }
  c.readoutMargin = r.number(cert, "readout_margin", ctx);
  // Eval compares backends' logits within it: a negative tolerance would
  // fail every comparison.
  c.logitTolerance = r.number(cert, "logit_tolerance", ctx, 0,
                              std::numeric_limits<double>::max());
  c.argument = r.stringOr(cert, "argument", ctx, "");
  if (r.has(cert, "code"))
    c.code = codeCertificateFromJson(cert["code"], r);
  // At most one head per head of the network (64 layers of 64 heads).
  const json &heads = r.array(cert, "heads", ctx, 0, 64 * 64);
  for (size_t i = 0; i < heads.size(); ++i) {
    const std::string at = ctx + "heads[" + std::to_string(i) + "].";
    const json &h = heads[i];
    HeadCertificate hc;
    hc.head = r.name(h, "head", at);
    // The precision certificate takes log2(12 logit_bound / gap): both
    // within [1e-30, 1e30] keep it a small finite number of bits.
    hc.gap = r.number(h, "gap", at, 1e-30, 1e30);
    hc.competitors = r.integer(h, "competitors", at, 1, kMaxCodewords);
    hc.leakage = r.number(h, "leakage", at, 0, 1);
    hc.requiredScale = r.number(h, "required_scale", at, 0,
                                std::numeric_limits<double>::max());
    hc.scale = r.number(h, "scale", at, 0, std::numeric_limits<double>::max());
    hc.worstTargetWeight = r.number(h, "worst_target_weight", at, 0, 1);
    // Absent in older files: unit codes.
    hc.logitBound = r.numberOr(h, "logit_bound", at, 1e-30, 1e30, 1.0);
    // The rounding chain's error model (absent in older files: a layer-0
    // head of unit codes, its scale not a weight).
    hc.dotLength = r.integerOr(h, "dot_length", at, 1, 1 << 30, 1);
    hc.inputTerms = r.integerOr(h, "input_terms", at, 1, int64_t(1) << 40, 1);
    hc.inputRoundings =
        static_cast<int>(r.integerOr(h, "input_roundings", at, 0, 64, 4));
    hc.scaleIsWeight = r.booleanOr(h, "scale_is_weight", at, false);
    hc.scoreErrorUnits = r.numberOr(h, "score_error_units", at, 0, 1e30, 0);
    hc.storedScale = r.numberOr(h, "stored_scale", at, 0,
                                std::numeric_limits<double>::max(), 0);
    hc.scoreError = r.numberOr(h, "score_error", at, 0,
                               std::numeric_limits<double>::max(), 0);
    hc.outputError = r.numberOr(h, "output_error", at, 0, 1e30, 1);
    c.heads.push_back(std::move(hc));
  }
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
