#include "eval/EvalSettings.h"

#include "support/Diagnostics.h"

#include <algorithm>
#include <cstring>

namespace handwire {

EvalOptions evalOptionsFor(const EvalSpec &spec, const EvalOverrides &o) {
  EvalOptions eo;
  eo.samples = o.samples > 0 ? o.samples : spec.samples;
  eo.seed = o.seed.value_or(spec.seed);
  eo.inputs = o.inputs.value_or(spec.inputs);
  return eo;
}

std::optional<InputDistribution>
inputDistributionByName(const std::string &name) {
  for (InputDistribution d :
       {InputDistribution::Uniform, InputDistribution::Adversarial,
        InputDistribution::Mixed})
    if (name == inputDistributionName(d))
      return d;
  return std::nullopt;
}

const char *const kDecisionFileHeader =
    "# handwire eval decisions: MODEL DECISION EXPECTED TOKEN... (decision "
    "-1: a tie)\n";

void writeDecisionLines(std::ostream &out, const std::string &model,
                        const std::vector<DecisionRecord> &records) {
  for (const DecisionRecord &r : records) {
    out << model << ' ' << r.decision << ' ' << r.expected;
    for (int32_t t : r.tokens)
      out << ' ' << t;
    out << '\n';
  }
}

std::string decisionFeaturesComment(
    const std::string &sidecar,
    const std::vector<std::pair<std::string, int64_t>> &dims) {
  std::string line = "# features: F";
  for (const auto &[model, F] : dims)
    line += " " + model + "=" + std::to_string(F);
  return line +
         "; binary, per input line in order: uint32 count, then count x "
         "(uint32 position, F float32), little-endian, positions not listed "
         "are zero; sidecar: " +
         sidecar + "\n";
}

namespace {
// Little-endian whatever the host (the layout is the file's, not the CPU's).
void putU32(std::string &buf, uint32_t v) {
  for (int b = 0; b < 4; ++b)
    buf.push_back(static_cast<char>((v >> (8 * b)) & 0xff));
}
} // namespace

void writeDecisionFeatures(std::ostream &out,
                           const std::vector<DecisionRecord> &records,
                           int64_t F) {
  std::string buf;
  for (const DecisionRecord &r : records) {
    const int64_t M = static_cast<int64_t>(r.tokens.size());
    HW_ASSERT(r.features.empty() ||
                  static_cast<int64_t>(r.features.size()) == M * F,
              "a decision record's features are not length x F");
    // Most rows are zero (nearest neighbour: only the points carry vectors),
    // so only the others are written.
    std::vector<uint32_t> rows;
    for (int64_t i = 0; !r.features.empty() && i < M; ++i) {
      const float *row = r.features.data() + i * F;
      if (std::any_of(row, row + F, [](float x) { return x != 0.0f; }))
        rows.push_back(static_cast<uint32_t>(i));
    }
    buf.clear();
    putU32(buf, static_cast<uint32_t>(rows.size()));
    for (uint32_t i : rows) {
      putU32(buf, i);
      for (int64_t k = 0; k < F; ++k) {
        uint32_t bits;
        std::memcpy(&bits, &r.features[static_cast<size_t>(i * F + k)], 4);
        putU32(buf, bits);
      }
    }
    out.write(buf.data(), static_cast<std::streamsize>(buf.size()));
  }
}

} // namespace handwire
