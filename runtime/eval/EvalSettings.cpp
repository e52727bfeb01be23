#include "eval/EvalSettings.h"

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

} // namespace handwire
