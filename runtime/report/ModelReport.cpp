#include "report/ModelReport.h"

#include "export/JsonForm.h"
#include "export/ModelFile.h"
#include "ir/SoftmaxChain.h"
#include "tasks/TaskDefinition.h"
#include "tasks/TaskJson.h"

#include <algorithm>
#include <cmath>
#include <iomanip>
#include <sstream>

namespace handwire {

using nlohmann::json;

void printTaskLine(std::ostream &os, const TaskSpec &task) {
  const TaskDefinition &def = taskDefinition(task.kind);
  os << "task " << def.name() << ": " << def.describe(task) << "\n";
}

void printModelLine(std::ostream &os, const Network &net) {
  os << "model " << net.name << ": ";
  if (net.isTransformer()) {
    const auto &t = net.transformer();
    size_t heads = 0;
    for (const auto &l : t.layers)
      heads += l.heads.size();
    os << t.layers.size() << "-layer transformer";
    if (const int64_t identities = t.identityLayerCount())
      os << " (" << identities << " identity layer"
         << (identities == 1 ? "" : "s") << ": no head, no MLP, 0 parameters)";
    os << ", " << heads << " head" << (heads == 1 ? "" : "s") << ", width "
       << net.width;
    if (net.certificate.code)
      os << " (code k = " << net.certificate.code->dim << ")";
  } else {
    os << "Elman RNN, " << net.width << " hidden units";
    const std::vector<HeadLayer> &head = net.elman().head;
    if (!head.empty()) {
      os << ", read-out head";
      for (size_t k = 0; k < head.size(); ++k)
        os << (k ? " -> " : " ") << head[k].weight.rows();
      os << " ReLU";
    }
  }
  os << ", " << humanCount(static_cast<double>(parameterCount(net)))
     << " parameters, "
     << precisionName(net.precision)
     // The weights of every model are fp32 tensors: an f64 model computes in
     // fp64 on them, and says so.
     << (net.precision == Precision::F64 ? " (fp64 arithmetic on fp32 weights)"
                                         : "")
     << "\n";
  os << "  construction " << net.provenance.construction << ": "
     << net.provenance.result << "\n";
}

void printCertificate(std::ostream &os, const Network &net) {
  const Certificate &c = net.certificate;
  os << std::setprecision(4);
  if (c.code) {
    const CodeCertificate &k = *c.code;
    os << "  code         " << k.family;
    if (!k.params.empty())
      os << " (" << k.params << ")";
    os << ", " << k.count << " vectors in " << k.dim << " dims";
    if (k.requested == "auto")
      os << ", chosen by code = auto";
    os << "\n               needs " << k.requirement
       << " coherence <= " << k.targetCoherence
       << "; certified: max inner product " << k.maxInnerProduct
       << ", coherence " << k.coherence;
    if (k.draws > 1)
      os << ", after " << k.draws << " draws";
    os << "\n               " << k.method << "\n";
    if (k.lowerLimitDim > 0 && k.lowerLimitBound.empty()) // an older file
      os << "               Welch/Levenshtein: any " << k.count
         << " vectors with two-sided coherence <= " << k.targetCoherence
         << " need >= " << k.lowerLimitDim << " dims; this code uses "
         << std::setprecision(3) << double(k.dim) / double(k.lowerLimitDim)
         << "x that"
         << (k.requirement == "one-sided"
                 ? " (a one-sided code may go below it)"
                 : "")
         << "\n"
         << std::setprecision(4);
    else if (k.lowerLimitDim > 0) {
      os << "               " << k.lowerLimitBound << ": any " << k.count
         << " vectors with "
         << (k.requirement == "one-sided" ? "one-sided max inner product"
                                          : "two-sided coherence")
         << " <= " << k.targetCoherence << " need >= " << k.lowerLimitDim
         << " dims; certified width is " << std::fixed << std::setprecision(1)
         << double(k.dim) / double(k.lowerLimitDim) << "x that\n";
      os.unsetf(std::ios::floatfield);
      os << std::setprecision(4);
    }
    if (k.alternatives.size() > 1) {
      os << "               widths per family:";
      for (const auto &[family, dim] : k.alternatives)
        os << " " << family << " "
           << (dim < 0 ? std::string("-") : std::to_string(dim));
      os << "\n";
    }
  }
  for (HeadCertificate h : c.heads) {
    os << "  " << h.head << "  scale " << h.scale
       << " (needs >= " << h.requiredScale << ": gap " << h.gap << ", "
       << h.competitors << " competitors, leakage " << h.leakage
       << "), target weight >= " << h.worstTargetWeight << "\n";
    // The rounding chain in the model's own precision, step by step.
    os << "               rounding chain in " << precisionName(net.precision)
       << ":\n";
    for (const std::string &step : fillSelectionChain(h, net.precision).steps)
      os << "                 " << step << "\n";
  }
  if (!c.precisions.empty()) {
    os << "  precision   ";
    for (const PrecisionVerdict &v : c.precisions)
      os << " " << precisionName(v.precision) << " "
         << (v.exact ? "exact" : "NOT exact") << ";";
    os << " needs " << c.precisions.front().requiredBits
       << " significand bits at its scales (weights and activations stored in "
          "the format, fp32 accumulation)\n";
    for (const PrecisionVerdict &v : c.precisions)
      if (!v.exact)
        for (const std::string &why : v.reasons)
          os << "               " << precisionName(v.precision) << ": " << why
             << "\n";
  }
  os << "  certificate  " << (c.certified ? "holds" : "DOES NOT HOLD")
     << ": read-out margin >= " << c.readoutMargin << "; " << c.argument
     << "\n";
  for (const auto &f : c.failures)
    os << "    failure: " << f << "\n";
}

namespace {
// " (12.5x the bound)", or "" without a bound.
std::string timesBound(double bits, const SeparationCard &card) {
  if (!card.boundBits || *card.boundBits <= 0)
    return "";
  std::ostringstream os;
  os.precision(3);
  os << ", " << bits / *card.boundBits << "x the bound";
  return os.str();
}
} // namespace

void printStateTwoWays(std::ostream &os, const SeparationCard &card) {
  const int64_t units = card.sizeBits / card.precisionBits;
  os << "               stored: " << units << " units x " << card.precisionBits
     << " bits = " << card.sizeBits
     << timesBound(static_cast<double>(card.sizeBits), card) << "\n";
  if (!card.informationBits) {
    os << "               information: not claimed (no construction "
          "invariant matches this state)\n";
    return;
  }
  // Whole bits in full (30735, not 3.074e+04); a counter's log2 to 0.1.
  std::ostringstream bits;
  const double info = *card.informationBits;
  bits << std::fixed << std::setprecision(info == std::floor(info) ? 0 : 1)
       << info;
  os << "               information: " << bits.str() << " bits"
     << timesBound(*card.informationBits, card) << ": "
     << card.informationDetail << "\n";
  os << "               (value sets by the construction's invariant: "
     << card.informationArgument << ")\n";
}

void printSeparationCard(std::ostream &os, const SeparationCard &card) {
  os << std::setprecision(4);
  os << "  sizes        layers " << card.layers;
  if (card.identityLayers)
    os << " (" << card.identityLayers << " identity)";
  os << ", heads " << card.heads << ", width " << card.width;
  if (card.codeDim)
    os << ", code dim " << card.codeDim;
  os << ", parameters " << card.parameters << "\n";
  if (card.sizeMeasure != "width") {
    os << "  " << std::left << std::setw(13) << card.sizeMeasure
       << card.sizeBits << " at " << card.precisionBits << "-bit precision";
    // What the bound counts, so the number can be checked by hand.
    if (card.sizeMeasure == "cut bits")
      os << " (heads x (value width + 1) x bits: what one layer passes to "
            "the last position)";
    else if (card.sizeMeasure == "state bits")
      os << " (hidden units x bits)";
    os << "\n";
  }
  if (card.sizeMeasure == "state bits")
    printStateTwoWays(os, card);
  os << "  lower bound  " << card.bound;
  if (card.boundBits)
    os << " = " << static_cast<int64_t>(std::ceil(*card.boundBits)) << " bits";
  os << "\n               " << card.boundKindMeaning << "\n";
  if (!card.boundArgument.empty())
    os << "               from: " << card.boundArgument << "\n";
  if (!card.boundPrecision.empty())
    os << "               precision: " << card.boundPrecision
       << "; evaluated at p = " << card.precisionBits << "\n";
  os << "               " << card.boundNote << "\n";
  os << "  verdict      " << card.verdict << "\n";
}

namespace {
void printTensorTable(std::ostream &os, const Network &net) {
  const std::vector<TensorInfo> tensors = listTensors(net);
  os << "  tensors\n";
  size_t nameWidth = 30; // CSR tensors have long names
  for (const auto &t : tensors)
    nameWidth = std::max(nameWidth, t.name.size() + 2);
  for (const auto &t : tensors) {
    std::string shape = "[";
    for (size_t i = 0; i < t.shape.size(); ++i)
      shape += (i ? ", " : "") + std::to_string(t.shape[i]);
    shape += "]";
    os << "    " << std::left << std::setw(static_cast<int>(nameWidth))
       << t.name << std::setw(4) << t.dtype << " " << std::setw(18) << shape
       << std::right << std::setw(12) << t.elements() << "\n";
  }
}
} // namespace

void printModelInspection(std::ostream &os, const Network &net,
                          const SeparationCard &card, bool tensors) {
  printModelLine(os, net);
  // An RNN's blocks partition its hidden state, not a residual stream.
  os << (net.isTransformer() ? "  residual     " : "  state units  ");
  for (const auto &b : net.blocks)
    os << b.name << "[" << b.offset << ":" << b.offset + b.width << ") ";
  os << "\n";
  if (tensors)
    printTensorTable(os, net);
  printCertificate(os, net);
  printSeparationCard(os, card);
}

json taskJson(const TaskSpec &task) {
  json j = taskReportJson(task);
  // Reports have always listed an alphabet, empty for tasks without one.
  if (!j.contains("alphabet"))
    j["alphabet"] = json::array();
  return j;
}

json certificateJson(const Network &net) {
  json j = certificateToJson(net.certificate);
  j["precisions"] = precisionVerdictsJson(net.certificate.precisions);
  return j;
}

json separationCardJson(const SeparationCard &c) {
  json j = {{"task", c.task},
            {"architecture", c.architecture},
            {"construction", c.construction},
            {"result", c.result},
            {"max_length", c.maxLength},
            {"alphabet_size", c.alphabetSize},
            {"precision_bits", c.precisionBits},
            {"layers", c.layers},
            {"identity_layers", c.identityLayers},
            {"heads", c.heads},
            {"width", c.width},
            {"code_dim", c.codeDim},
            {"parameters", c.parameters},
            {"size_measure", c.sizeMeasure},
            {"size_bits", c.sizeBits},
            {"bound", c.bound},
            {"bound_kind", c.boundKind},
            {"bound_kind_meaning", c.boundKindMeaning},
            {"bound_argument", c.boundArgument},
            {"bound_precision", c.boundPrecision},
            {"bound_precision_bits", c.precisionBits},
            {"bound_note", c.boundNote},
            {"respects_bound", c.respectsBound},
            {"verdict", c.verdict}};
  j["bound_bits"] = c.boundBits ? json(*c.boundBits) : json(nullptr);
  if (c.sizeMeasure == "state bits") {
    // The state two ways, each with its ratio to the bound (null without one).
    const auto ratio = [&](double bits) {
      return c.boundBits && *c.boundBits > 0 ? json(bits / *c.boundBits)
                                             : json(nullptr);
    };
    const double stored = static_cast<double>(c.sizeBits);
    json state = {{"units", c.sizeBits / c.precisionBits},
                  {"stored_bits", c.sizeBits},
                  {"stored_ratio", ratio(stored)}};
    state["information_bits"] =
        c.informationBits ? json(*c.informationBits) : json(nullptr);
    state["information_ratio"] =
        c.informationBits ? ratio(*c.informationBits) : json(nullptr);
    state["information_detail"] = c.informationDetail;
    state["information_argument"] = c.informationArgument;
    j["state"] = state;
  }
  return j;
}

} // namespace handwire
