#include "analysis/SeparationCard.h"

#include "analysis/StateValues.h"
#include "tasks/TaskDefinition.h"

#include <algorithm>
#include <cmath>
#include <sstream>

namespace handwire {

SeparationCard separationCard(const TaskSpec &task, const Network &net) {
  SeparationCard c;
  const TaskDefinition &def = taskDefinition(task.kind);
  c.task = def.name();
  c.architecture = architectureName(net.arch);
  c.construction = net.provenance.construction;
  c.result = net.provenance.result;
  c.maxLength = task.maxLength;
  c.alphabetSize = def.alphabetSize(task);
  c.precisionBits = precisionBits(net.precision);
  c.width = net.width;
  c.parameters = parameterCount(net);
  if (net.certificate.code)
    c.codeDim = net.certificate.code->dim;

  if (net.isTransformer()) {
    const TransformerBody &t = net.transformer();
    c.layers = static_cast<int64_t>(t.layers.size());
    c.identityLayers = t.identityLayerCount();
    int64_t cut = 0;
    for (const auto &layer : t.layers) {
      c.heads += static_cast<int64_t>(layer.heads.size());
      for (const auto &h : layer.heads)
        cut += (h.value.rows() + 1) * c.precisionBits;
    }
    if (c.layers - c.identityLayers <= 1) {
      c.sizeMeasure = "cut bits";
      c.sizeBits = cut;
    } else {
      c.sizeMeasure = "width";
      c.sizeBits = 0;
    }
  } else {
    c.layers = 1;
    // What the one-way bounds count is the state carried between tokens; a
    // read-out head runs once, after the last token, so it is not state (its
    // weights are in `parameters`).
    c.sizeMeasure = "state bits";
    c.sizeBits = net.width * c.precisionBits;
    if (const auto values = stateValues(task, net)) {
      c.informationBits = values->informationBits();
      c.informationDetail = values->describe();
      c.informationArgument = values->argument;
    }
  }

  const int64_t computing = std::max<int64_t>(1, c.layers - c.identityLayers);
  const LowerBound lower = def.lowerBound(task, net.arch, computing);
  c.bound = lower.formula;
  c.boundBits = lower.bits;
  c.boundKind = boundKindName(lower.kind);
  c.boundKindMeaning = boundKindMeaning(lower.kind);
  c.boundArgument = lower.argument;
  c.boundPrecision = lower.precision;
  c.boundNote = lower.note;
  if (c.identityLayers > 0)
    c.boundNote +=
        " (" + std::to_string(c.identityLayers) + " of its " +
        std::to_string(c.layers) + " layers " +
        (c.identityLayers == 1 ? "is an identity" : "are identities") +
        ", so it computes what a " + std::to_string(computing) +
        "-layer model does: the bound for " + std::to_string(computing) +
        " layer" + (computing == 1 ? "" : "s") + " applies)";

  std::ostringstream v;
  if (c.boundBits) {
    c.respectsBound = static_cast<double>(c.sizeBits) >= *c.boundBits;
    v.precision(3);
    const int64_t bound = static_cast<int64_t>(std::ceil(*c.boundBits));
    if (c.respectsBound)
      v << "respects bound (" << c.sizeBits << " >= " << bound << ", "
        << static_cast<double>(c.sizeBits) / *c.boundBits << "x)";
    else
      v << "below bound: cannot be exact on all inputs (" << c.sizeBits << " < "
        << bound << ")";
    // Information below the bound would make the value claim (or the
    // bound) wrong: no state of that many bits tells the inputs apart.
    if (c.informationBits && *c.informationBits < *c.boundBits) {
      c.respectsBound = false;
      v << "; information bits " << *c.informationBits
        << " below the bound: the claimed unit values are wrong";
    }
  } else {
    v << "respects bound (no lower bound applies)";
  }
  c.verdict = v.str();
  return c;
}

std::string lowerBoundFor(const TaskSpec &task, Architecture arch, int layers) {
  return taskDefinition(task.kind).lowerBound(task, arch, layers).refusal;
}

} // namespace handwire
