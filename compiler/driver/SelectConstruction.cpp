#include "driver/SelectConstruction.h"

#include "analysis/SeparationCard.h"
#include "constructions/Construction.h"

#include <algorithm>

namespace handwire {

namespace {
// The construction for a model: the first that accepts it (RNNs: by their
// `construction` field); for a Transformer, the deepest one its `layers`
// allow (string equality with layers = 3: the two-layer construction and one
// identity layer, not the one-layer linear-width one and two).
const Construction *constructionAccepting(TaskKind task,
                                          const ModelSpec &model) {
  const Construction *chosen = nullptr;
  for (const Construction *c : allConstructions())
    if (c->task() == task && c->arch() == model.arch && c->accepts(model) &&
        (!chosen || c->depth() > chosen->depth()))
      chosen = c;
  return chosen;
}

// Bytes of weights `c` would emit for `model`, or nullopt if it would refuse
// the model or need more than `limit`. Cheap bound first, as planConstruction.
std::optional<double> fittingBytes(const Construction &c, const Spec &spec,
                                   const ModelSpec &model, double limit) {
  try {
    if (!(c.minimumBytes(spec, model) <= limit))
      return std::nullopt;
    const double bytes = c.estimateBytes(spec, model);
    if (bytes <= limit)
      return bytes;
  } catch (const UserError &) {
  }
  return std::nullopt;
}

// The cheapest model of another construction (another architecture, depth or
// rnn construction) that handwire can build for this task within `limit`
// bytes of weights and, if the model asked for has a size (`askedBytes`),
// strictly below it, as a note ("" if there is none): what to write instead
// of a refused model. Every size is Construction::estimateBytes (stored
// floats and CSR indices, as the memory limit counts them), so they compare.
std::string cheapestAlternative(const Spec &spec, const ModelSpec &model,
                                double limit,
                                std::optional<double> askedBytes) {
  const Construction *asked = constructionAccepting(spec.task.kind, model);
  std::vector<ModelSpec> variants;
  for (int layers = 1; layers <= 4; ++layers) {
    ModelSpec v = model;
    v.arch = Architecture::Transformer;
    v.layers = layers;
    variants.push_back(v);
  }
  // Every rnn construction of the task, by its `construction` value.
  for (const Construction *c :
       constructionsFor(spec.task.kind, Architecture::RNN)) {
    ModelSpec rnn = model;
    rnn.arch = Architecture::RNN;
    rnn.layers = 1;
    rnn.construction = c->variant();
    variants.push_back(rnn);
  }

  const double ceiling = askedBytes ? std::min(limit, *askedBytes) : limit;
  std::optional<double> best;
  std::string what;
  for (const ModelSpec &v : variants) {
    const Construction *c = constructionAccepting(spec.task.kind, v);
    // The same construction at another depth only adds identity layers:
    // never cheaper. Among equal sizes the first (fewest layers) stays.
    if (!c || c == asked)
      continue;
    const std::optional<double> bytes = fittingBytes(*c, spec, v, ceiling);
    if (!bytes || (askedBytes && !(*bytes < *askedBytes)) ||
        (best && !(*bytes < *best)))
      continue;
    best = bytes;
    what = v.arch == Architecture::RNN
               ? std::string("an rnn model") +
                     (v.construction.empty()
                          ? ""
                          : " with construction = " + v.construction)
               : "a transformer with layers = " + std::to_string(v.layers);
    what += " (" + std::string(c->id()) + ", about " + humanBytes(*bytes) +
            " of weights)";
  }
  return best ? "cheapest legal alternative: " + what : "";
}
} // namespace

const Construction *selectConstruction(const Spec &spec, const ModelSpec &model,
                                       DiagnosticEngine &diags,
                                       int64_t memoryLimitBytes) {
  if (const Construction *c = constructionAccepting(spec.task.kind, model))
    return c;
  std::string list;
  for (const Construction *c : allConstructions())
    if (c->task() == spec.task.kind)
      list += (list.empty() ? "" : ", ") + c->requirement();
  const SourceLoc at = model.arch == Architecture::Transformer
                           ? model.fieldLoc("layers")
                           : model.loc;
  diags.error(at, std::string("no construction of ") +
                      taskKindName(spec.task.kind) + " for this " +
                      architectureName(model.arch) +
                      " model; available: " + list);
  const std::string bound = lowerBoundFor(spec.task, model.arch, model.layers);
  if (!bound.empty())
    diags.note(at, bound + "; handwire emits no model that would be below it");
  const std::string alternative = cheapestAlternative(
      spec, model, static_cast<double>(memoryLimitBytes), std::nullopt);
  if (!alternative.empty())
    diags.note(at, alternative);
  return nullptr;
}

const Construction *planConstruction(const Spec &spec, const ModelSpec &model,
                                     const CompileOptions &options,
                                     DiagnosticEngine &diags) {
  // 4. select the construction for (task, architecture, layers)
  const Construction *chosen =
      selectConstruction(spec, model, diags, options.memoryLimitBytes);
  if (!chosen)
    return nullptr;

  // 5. refuse what would not fit, before allocating anything
  const double limit = static_cast<double>(options.memoryLimitBytes);
  double bytes = 0, bytesAtDefault = 0;
  ModelSpec atDefault = model;
  atDefault.coherence = ModelSpec{}.coherence;
  // A lower bound first (it does not depend on coherence), then the estimate,
  // which plans the position code and may refuse it.
  bool atLeast = false;
  try {
    bytes = chosen->minimumBytes(spec, model);
    atLeast = !(bytes <= limit);
    if (!atLeast)
      bytes = chosen->estimateBytes(spec, model);
    if (!atLeast && !(bytes <= limit) && model.locs.count("coherence"))
      bytesAtDefault = chosen->estimateBytes(spec, atDefault);
  } catch (const UserError &e) {
    diags.error(e.loc().valid() ? e.loc() : model.loc, e.what());
    return nullptr;
  }
  if (!(bytes <= limit)) {
    // Blame a small coherence (code dimension ~ 1/coherence^2) if the model
    // would fit at the default one; otherwise max_length.
    const bool coherence =
        !atLeast && model.locs.count("coherence") && bytesAtDefault <= limit;
    const SourceLoc at = coherence ? model.fieldLoc("coherence")
                                   : spec.task.fieldLoc("max_length");
    diags.error(at, "model '" + model.name + "' would need " +
                        (atLeast ? "at least " : "about ") + humanBytes(bytes) +
                        " of weights, above the limit of " +
                        humanBytes(options.memoryLimitBytes) + "; " +
                        (coherence ? "raise coherence" : "lower max_length") +
                        " or raise the limit with --memory-limit");
    if (!coherence) {
      const std::string alternative =
          cheapestAlternative(spec, model, limit, bytes);
      if (!alternative.empty())
        diags.note(at, alternative);
    }
    return nullptr;
  }
  return chosen;
}

} // namespace handwire
