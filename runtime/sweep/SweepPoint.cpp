#include "sweep/SweepPoint.h"

#include "analysis/SeparationCard.h"
#include "backends/ModelEval.h"
#include "frontend/Parser.h"
#include "jit/JitBackend.h"

#include <algorithm>
#include <chrono>

namespace handwire {

namespace {
SweepRow failed(SweepRow row, const char *status, std::string reason) {
  row.status = status;
  row.reason = std::move(reason);
  return row;
}

// The sizes of a built model, from its separation card. The plot shows the
// quantity the applicable lower bound is stated in (state bits, cut bits),
// else width x precision.
void recordSizes(const TaskSpec &task, const Network &net, SweepRow &row) {
  const SeparationCard card = separationCard(task, net);
  row.heads = card.heads;
  row.layers = card.layers;
  row.width = card.width;
  row.codeDim = card.codeDim;
  row.parameters = card.parameters;
  row.precisionBits = card.precisionBits;
  row.sizeMeasure = card.sizeMeasure;
  row.sizeBits = card.sizeBits;
  row.bound = card.bound;
  row.boundBits = card.boundBits;
  if (card.boundBits)
    row.respectsBound = card.respectsBound;
  if (net.arch == Architecture::RNN || card.boundBits) {
    row.plotMeasure = card.sizeMeasure;
    row.plotBits = static_cast<double>(card.sizeBits);
  } else {
    row.plotMeasure = "width x " + std::to_string(card.precisionBits) + " bits";
    row.plotBits = static_cast<double>(card.width * card.precisionBits);
  }
}
} // namespace

std::string firstError(const DiagnosticEngine &diags) {
  std::string text;
  for (const Diagnostic &d : diags.diagnostics()) {
    if (d.severity == Severity::Error) {
      if (!text.empty())
        break;
      text = d.message;
    } else if (d.severity == Severity::Note && !text.empty()) {
      text += "; " + d.message;
    }
  }
  return text.empty() ? "refused (no diagnostic)" : text;
}

std::optional<SweepSpecs>
loadSweepSpecs(const std::string &path,
               const std::vector<std::string> &overrides,
               const std::vector<int64_t> &lengths, DiagnosticEngine &diags) {
  std::optional<ast::File> file = parseTaskFile(path, diags);
  if (!file)
    return std::nullopt;
  std::optional<Spec> base = analyzeSpecFile(*file, overrides, diags);
  if (!base)
    return std::nullopt;
  SweepSpecs out{*base, lengths, {}, {}};
  for (int64_t n : lengths) {
    DiagnosticEngine d;
    std::vector<std::string> ov = overrides;
    ov.push_back("task.max_length=" + std::to_string(n));
    std::optional<Spec> s = analyzeSpecFile(*file, ov, d);
    out.atLength.push_back(s ? *s : *base);
    out.errors.push_back(s ? std::string() : firstError(d));
  }
  return out;
}

SweepRow SweepPointRunner::describe(const SweepPoint &p) const {
  const ModelSpec &model = specs_.base.models[p.model];
  SweepRow row;
  row.task = taskKindName(specs_.base.task.kind);
  row.model = model.name;
  row.architecture = architectureName(model.arch);
  row.layers = model.arch == Architecture::RNN ? 1 : model.layers;
  row.n = p.n;
  return row;
}

// Construct, verify, certify; nullopt (row refused) if that fails.
std::optional<Network> SweepPointRunner::build(const Spec &spec,
                                               const ModelSpec &model,
                                               SweepRow &row) const {
  DiagnosticEngine diags;
  std::optional<Network> net;
  const auto t0 = std::chrono::steady_clock::now();
  try {
    net = buildNetwork(spec, model, settings_.compile, diags);
  } catch (const std::bad_alloc &) {
    net.reset();
    diags.error(model.loc, "out of memory while building the model");
  } catch (const std::exception &e) {
    net.reset();
    diags.error(model.loc, e.what());
  }
  row.buildMs = std::chrono::duration<double, std::milli>(
                    std::chrono::steady_clock::now() - t0)
                    .count();
  if (!net)
    row = failed(std::move(row), "refused", firstError(diags));
  return net;
}

SweepRow SweepPointRunner::run(const SweepPoint &p, PointSlot &slot) {
  const size_t li = static_cast<size_t>(
      std::find(specs_.lengths.begin(), specs_.lengths.end(), p.n) -
      specs_.lengths.begin());
  const Spec &spec = specs_.atLength[li];
  SweepRow row = describe(p);
  slot.start(row.model + " N=" + std::to_string(p.n));
  if (!specs_.errors[li].empty())
    return failed(std::move(row), "refused", specs_.errors[li]);

  slot.setPhase(PointPhase::Building);
  const std::optional<Network> net = build(spec, spec.models[p.model], row);
  if (!net)
    return row;
  recordSizes(spec.task, *net, row);

  slot.setPhase(PointPhase::Compiling);
  ForwardBackends backends;
  try {
    backends = chooseBackends(*net, BackendChoice::Auto);
  } catch (const std::exception &e) {
    backends.error = e.what();
  }
  if (!backends.ok())
    return failed(std::move(row), "error", "JIT: " + backends.error);
  row.backend = backends.owned.front()->name();
  row.jitMs = backends.jitTimes ? backends.jitTimes->wallMs : 0;
  const double flops = backends.jit ? backends.jit->plan().flops(p.n) : 0;
  if (auto why = costs_.skipReason(row.model, p.n, flops))
    return failed(std::move(row), "skipped", *why);

  try {
    evaluateInto(spec, *net, backends, flops, slot, row);
  } catch (const std::exception &e) {
    return failed(std::move(row), "error", std::string("eval: ") + e.what());
  }
  return row;
}

// Evaluates as `eval` does, stopping at the slot's stop flag.
void SweepPointRunner::evaluateInto(const Spec &spec, const Network &net,
                                    const ForwardBackends &backends,
                                    double flops, PointSlot &slot,
                                    SweepRow &row) {
  EvalOptions eo = evalOptionsFor(spec.eval, settings_.eval);
  eo.threads = settings_.evalThreads;
  eo.cancel = &slot.stopFlag();
  eo.progress = [&slot](int64_t done, int64_t) { slot.setDone(done); };
  slot.beginEval(eo.samples);
  const ModelEvalReport rep = evaluateModel(spec.task, net, backends, eo);
  slot.setPhase(PointPhase::Idle);
  const EvalResult &r = rep.result;
  const BackendSummary &b = rep.backends.front();
  row.threads = settings_.evalThreads;
  row.samples = r.samples;
  row.adversarial = r.adversarial;
  row.mismatches = b.result.mismatches;
  if (r.samples > 0)
    row.minMargin = b.result.minMargin;
  row.evalSeconds = r.wallSeconds;
  row.inputsPerSecond =
      r.wallSeconds > 0 ? double(r.samples) / r.wallSeconds : 0;
  row.inputsPerSecondPerThread = b.inputsPerSecond;
  row.status = b.result.mismatches > 0 ? "mismatch" : "ok";
  const bool interrupted =
      settings_.interrupted && settings_.interrupted->load();
  if (r.cancelled && slot.budgetHit() && !interrupted)
    row.reason = "time budget: " + std::to_string(r.samples) + " of " +
                 std::to_string(eo.samples) + " inputs in " +
                 secondsText(settings_.timeBudgetSeconds);
  else if (r.cancelled)
    row = failed(std::move(row), "interrupted",
                 "Ctrl-C after " + std::to_string(r.samples) + " of " +
                     std::to_string(eo.samples) + " inputs");
  if (r.samples > 0 && b.result.seconds > 0)
    costs_.record(row.model, row.n, b.result.seconds / double(r.samples),
                  flops);
}

} // namespace handwire
