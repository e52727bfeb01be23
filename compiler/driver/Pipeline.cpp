#include "driver/Pipeline.h"

#include "analysis/PrecisionCertificate.h"

#include "analysis/SeparationCard.h"
#include "constructions/Construction.h"
#include "frontend/Parser.h"
#include "frontend/Sema.h"
#include "ir/Verifier.h"

#include <sstream>

namespace handwire {

namespace {
// 2. command-line overrides, applied to the AST so that sema checks them;
// 3. sema.
std::optional<Spec> analyze(std::optional<ast::File> file,
                            const std::vector<std::string> &overrides,
                            DiagnosticEngine &diags) {
  if (!file)
    return std::nullopt;
  for (const std::string &o : overrides)
    if (!applyOverride(*file, o, diags))
      return std::nullopt;
  return analyzeSpec(*file, diags);
}
} // namespace

std::optional<Spec> loadSpec(const std::string &path,
                             const std::vector<std::string> &overrides,
                             DiagnosticEngine &diags) {
  // 1. parse
  return analyze(parseTaskFile(path, diags), overrides, diags);
}

std::optional<Spec> loadSpecSource(const std::string &name,
                                   const std::string &text,
                                   const std::vector<std::string> &overrides,
                                   DiagnosticEngine &diags) {
  return analyze(parseTaskSource(name, text, diags), overrides, diags);
}

namespace {
std::string humanBytes(double b) {
  std::ostringstream os;
  os.precision(3);
  if (b >= (1 << 30))
    os << b / (1 << 30) << " GiB";
  else if (b >= (1 << 20))
    os << b / (1 << 20) << " MiB";
  else
    os << b / 1024 << " KiB";
  return os.str();
}
} // namespace

const Construction *selectConstruction(const Spec &spec, const ModelSpec &model,
                                       DiagnosticEngine &diags) {
  std::vector<std::string> offered;
  for (const Construction *c : allConstructions()) {
    if (c->task() != spec.task.kind)
      continue;
    offered.push_back(c->requirement());
    if (c->arch() == model.arch && c->accepts(model))
      return c;
  }
  std::string list;
  for (const auto &o : offered)
    list += (list.empty() ? "" : ", ") + o;
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
  return nullptr;
}

const Construction *planConstruction(const Spec &spec, const ModelSpec &model,
                                     const CompileOptions &options,
                                     DiagnosticEngine &diags) {
  // 4. select the construction for (task, architecture, layers)
  const Construction *chosen = selectConstruction(spec, model, diags);
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
    diags.error(coherence ? model.fieldLoc("coherence")
                          : spec.task.fieldLoc("max_length"),
                "model '" + model.name + "' would need " +
                    (atLeast ? "at least " : "about ") + humanBytes(bytes) +
                    " of weights, above the limit of " +
                    humanBytes(options.memoryLimitBytes) + "; " +
                    (coherence ? "raise coherence" : "lower max_length") +
                    " or raise the limit with --memory-limit");
    return nullptr;
  }
  return chosen;
}

std::optional<Network> buildNetwork(const Spec &spec, const ModelSpec &model,
                                    const CompileOptions &options,
                                    DiagnosticEngine &diags) {
  const Construction *chosen = planConstruction(spec, model, options, diags);
  if (!chosen)
    return std::nullopt;

  // 6. construct
  Network net;
  try {
    net = chosen->build(spec, model, {});
  } catch (const UserError &e) {
    diags.error(e.loc().valid() ? e.loc() : model.loc, e.what());
    return std::nullopt;
  }

  // 7. verify: a structural problem is a bug in the construction
  std::vector<std::string> problems = verifyNetwork(net);
  if (!problems.empty()) {
    std::string all;
    for (const auto &p : problems)
      all += "\n  " + p;
    internalError(__FILE__, __LINE__,
                  std::string("construction ") + chosen->id() +
                      " produced an invalid network:" + all);
  }

  // 8. certify: refuse a network that cannot be exact on every input, or not
  // in the precision the spec asks for
  net.certificate.precisions = precisionVerdicts(net);
  for (const PrecisionVerdict &v : net.certificate.precisions)
    if (v.precision == model.precision && !v.exact) {
      net.certificate.certified = false;
      for (const std::string &why : v.reasons)
        net.certificate.failures.push_back(std::string("not exact in ") +
                                           precisionName(v.precision) + ": " +
                                           why);
    }
  if (!net.certificate.certified) {
    const SourceLoc at = model.scale ? model.fieldLoc("scale")
                         : model.precision != Precision::F32
                             ? model.fieldLoc("precision")
                             : model.loc;
    for (const auto &f : net.certificate.failures) {
      if (options.allowUncertified)
        diags.warning(at, "model '" + model.name + "' is not certified: " + f);
      else
        diags.error(at, "model '" + model.name + "' cannot be certified: " + f);
    }
    if (!options.allowUncertified) {
      diags.note(at, model.scale
                         ? "remove the override to use the derived scale, or "
                           "pass --allow-uncertified to build it anyway"
                         : "choose a wider precision (precision = f32), or "
                           "pass --allow-uncertified to build it anyway");
      return std::nullopt;
    }
  }
  return net;
}

} // namespace handwire
