#include "driver/StageDump.h"

#include "codegen/ForwardPlan.h"
#include "frontend/AST.h"
#include "tasks/TaskJson.h"

#include <cstring>
#include <sstream>

namespace handwire {

namespace {
std::string at(const SourceLoc &loc) {
  return "@" + std::to_string(loc.line) + ":" + std::to_string(loc.col);
}

std::string valueText(const ast::Value &v) {
  if (v.kind != ast::Value::Kind::List)
    return v.kind == ast::Value::Kind::String ? "\"" + v.text + "\"" : v.text;
  std::string s = "[";
  for (size_t i = 0; i < v.items.size(); ++i)
    s += (i ? ", " : "") + valueText(v.items[i]);
  return s + "]";
}

// FNV-1a over the bit patterns of every stored weight, in model-file order:
// equal digests mean equal weights (to the bit), whatever the storage.
uint64_t weightDigest(const Network &net) {
  uint64_t h = 1469598103934665603ull;
  forEachWeightArray(
      net, [&h](const std::string &name, const float *w, int64_t n) {
        for (char c : name)
          h = (h ^ static_cast<unsigned char>(c)) * 1099511628211ull;
        for (int64_t i = 0; i < n; ++i) {
          uint32_t bits;
          std::memcpy(&bits, &w[i], 4);
          h = (h ^ bits) * 1099511628211ull;
        }
      });
  return h;
}
} // namespace

std::string dumpAst(const ast::File &file) {
  std::ostringstream os;
  os << "file " << file.path << "\n";
  for (const ast::Block &b : file.blocks) {
    os << "  " << b.kind << (b.head.empty() ? "" : " " + b.head) << " "
       << at(b.loc) << "\n";
    for (const ast::Field &f : b.fields)
      os << "    " << f.name << " = " << valueText(f.value) << " " << at(f.loc)
         << "\n";
  }
  return os.str();
}

std::string dumpSpec(const Spec &spec) {
  std::ostringstream os;
  // The task's parameters in their one JSON form (tasks/TaskJson.h).
  const nlohmann::json task = taskToJson(spec.task);
  os << "task " << task.at("kind").get<std::string>() << "\n";
  for (const auto &[field, value] : task.items())
    if (field != "kind")
      os << "  " << field << " " << value.dump() << "\n";
  for (const ModelSpec &m : spec.models) {
    os << "model " << m.name << "\n  architecture " << architectureName(m.arch)
       << "\n  precision " << precisionName(m.precision) << "\n";
    if (m.arch == Architecture::Transformer)
      os << "  layers " << m.layers << "\n  code " << codeFamilyName(m.code)
         << "\n  seed " << m.seed << "\n  coherence " << m.coherence
         << "\n  margin " << m.margin << "\n";
    if (m.scale)
      os << "  scale " << *m.scale << "\n";
    if (!m.construction.empty())
      os << "  construction " << m.construction << "\n";
  }
  os << "eval\n  samples " << spec.eval.samples << "\n  seed " << spec.eval.seed
     << "\n  inputs " << inputDistributionName(spec.eval.inputs) << "\n";
  return os.str();
}

std::string dumpNetwork(const Network &net) {
  std::ostringstream os;
  os << "network " << net.name << " (" << net.provenance.construction << ", "
     << architectureName(net.arch) << ", " << precisionName(net.precision)
     << ")\n  tokens " << net.tokenCount << ", classes " << net.classCount
     << ", longest input " << net.maxSequenceLength << ", width " << net.width
     << "\n";
  if (net.isTransformer())
    if (const int64_t identities = net.transformer().identityLayerCount())
      os << "  layers " << net.transformer().layers.size() << ", of which "
         << identities << " identity (no head, no MLP)\n";
  os << "  blocks";
  for (const ResidualBlock &b : net.blocks)
    os << " " << b.name << "[" << b.offset << ":" << b.offset + b.width << ")";
  os << "\n  weight arrays\n";
  forEachWeightArray(net,
                     [&os](const std::string &name, const float *, int64_t n) {
                       os << "    " << name << " " << n << "\n";
                     });
  char digest[17];
  std::snprintf(digest, sizeof digest, "%016llx",
                static_cast<unsigned long long>(weightDigest(net)));
  os << "  parameters " << parameterCount(net) << ", digest " << digest << "\n";
  return os.str();
}

} // namespace handwire

namespace handwire {

namespace {
std::string columns(const CompactMatrix &m) {
  return m.empty() ? "empty"
                   : std::to_string(m.rows) + " x [" + std::to_string(m.c0) +
                         ":" + std::to_string(m.c1) + ")";
}

const char *regionName(ScratchRegion r) {
  static const char *const kNames[] = {
      "residual",        "update",        "keys",
      "values",          "query",         "scores",
      "head-output",     "hidden",        "embedded",
      "block-scores",    "block-queries", "token-scores",
      "token-sums",      "state",         "next-state",
      "head-buffer-a",   "head-buffer-b", "walsh-values",
      "walsh-transform", "walsh-sums",    "walsh-running",
      "prefix-sums",     "event-z",       "event-sums",
      "event-new",       "event-flags",   "event-lists",
      "event-deltas",    "event-rings",   "guard"};
  static_assert(sizeof(kNames) / sizeof(kNames[0]) ==
                    static_cast<size_t>(ScratchRegion::Guard) + 1,
                "a name for every scratch region");
  return kNames[static_cast<int>(r)];
}

// Each region as `name floats` or `name (M + e) x floats`.
void dumpScratch(std::ostream &os, const ScratchLayout &layout) {
  os << "  scratch";
  for (const ScratchLayout::Region &r : layout.regions) {
    os << " " << regionName(r.id) << " ";
    if (!r.size.perPosition)
      os << r.size.floats;
    else
      os << "(M"
         << (r.size.extraPositions
                 ? " + " + std::to_string(r.size.extraPositions)
                 : "")
         << ") x " << r.size.floats;
  }
  os << "\n";
}

void dumpLayers(std::ostream &os, const ForwardPlan &p) {
  for (size_t l = 0; l < p.layers.size(); ++l) {
    const LayerPlan &layer = p.layers[l];
    os << "  layer " << p.networkLayer[l] << "\n";
    for (size_t h = 0; h < layer.heads.size(); ++h) {
      const HeadPlan &head = layer.heads[h];
      os << "    head " << h << ": dk " << head.dk << ", dv " << head.dv
         << (head.uniform ? ", uniform" : "")
         << (head.blockedScores ? ", blocked scores" : "") << "\n      query "
         << columns(head.query) << ", key " << columns(head.key) << ", value "
         << columns(head.value) << ", output " << columns(head.output) << "\n";
      if (l == 0 && p.foldLayer0)
        os << "      folded tables: key tok " << head.keyTok.present << " pos "
           << head.keyPos.present << ", value tok " << head.valueTok.present
           << " pos " << head.valuePos.present << "\n";
      if (l == 0 && p.featureDim > 0)
        os << "      feature parts (of F): key " << columns(head.keyFeat)
           << ", value " << columns(head.valueFeat) << "\n";
      if (!head.notWalsh.empty())
        os << "      not a walsh head: " << head.notWalsh << "\n";
      if (const auto &w = head.walsh)
        os << "      walsh: group 2^" << w->bits << ", levels " << w->levels
           << " (largest " << w->maxLevel << "), taps " << w->tapOffsets.size()
           << ", blocks " << w->blockStart.size() << ", tasks "
           << w->taskSpectrum.size() << ", error bound " << w->errorBound
           << " (dense " << w->denseErrorBound << ")\n";
    }
    if (layer.hasMlp)
      os << "    mlp in " << columns(layer.mlpIn) << ", out "
         << columns(layer.mlpOut) << "\n";
  }
}
} // namespace

std::string dumpPlan(const ForwardPlan &p) {
  std::ostringstream os;
  os << "plan " << (p.transformer ? "transformer" : "rnn")
     << (p.sparse ? " (sparse one-layer)" : "") << ", width " << p.width
     << ", classes " << p.classes << ", storage "
     << (p.storage ? storageFormatName(*p.storage) : "f32") << "\n";
  if (p.transformer && !p.sparse) {
    os << "  layer 0 folded " << (p.foldLayer0 ? "yes" : "no") << "\n";
    if (p.featureDim > 0)
      os << "  continuous inputs: F " << p.featureDim << ", rows ["
         << p.featureRow0 << ", " << p.featureRow0 + p.feature.rows
         << ") of the residual, over F " << columns(p.feature) << "\n";
    if (p.networkLayer.size() < p.networkLayers)
      os << "  identity layers (not planned): "
         << p.networkLayers - p.networkLayer.size() << "\n";
    dumpLayers(os, p);
  } else if (p.sparse) {
    os << "  heads " << p.sparse->heads.size() << ", mlp "
       << (p.sparse->hasMlp ? "yes" : "no") << "\n";
  } else {
    os << "  recurrent " << p.recurrent.rows << " rows, "
       << p.recurrent.nonZeros << " non-zeros, ELL width "
       << p.recurrent.ellWidth << "\n  head layers " << p.head.size() << "\n";
    for (const HeadLayerPlan &h : p.head)
      os << "    " << h.weight.rows << " rows, " << h.weight.nonZeros
         << " non-zeros\n";
    if (const auto &ev = p.events) {
      int64_t broadcast = 0;
      for (int32_t b : ev->broadcast)
        broadcast += b;
      os << "  event-driven: " << ev->rows.size() << " computed rows, "
         << ev->colRows.size() << " pushed + " << ev->rowCols.size()
         << " read entries, " << broadcast << " broadcast columns, limit "
         << ev->limit << ", chains";
      for (const ShiftChain &c : ev->chains)
        os << " " << c.length() << " (" << c.taps.size() << " taps)";
      os << (ev->chains.empty() ? " none\n" : "\n");
    } else {
      os << "  dense recurrence\n";
    }
  }
  dumpScratch(os, p.scratch);
  os << "  read-out " << columns(p.readout) << "\n  scratch floats at length "
     << p.maxLength << ": " << p.scratchFloats(p.maxLength)
     << "\n  multiply-adds at length " << p.maxLength << ": "
     << static_cast<int64_t>(p.flops(p.maxLength)) << "\n  tables bytes "
     << static_cast<int64_t>(p.tableBytes()) << "\n";
  return os.str();
}

} // namespace handwire
