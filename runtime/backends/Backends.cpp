#include "backends/Backends.h"

#include "jit/JitBackend.h"
#include "reference/Evaluator.h"
#include "support/Diagnostics.h"

#include <chrono>

namespace handwire {

namespace {
constexpr BackendChoice kChoices[] = {BackendChoice::Auto, BackendChoice::Jit,
                                      BackendChoice::Reference,
                                      BackendChoice::Both};

JitCompileTimes timesOf(const JitBackend &jit, double wallMs) {
  const CompileTimes &t = jit.compileTimes();
  JitCompileTimes r;
  r.wallMs = wallMs;
  r.totalMs = jit.compileMs();
  r.planMs = jit.planMs();
  r.emitMs = t.emitMs;
  r.optimizeMs = t.optimizeMs;
  r.codegenMs = t.codegenMs;
  r.tableBytes = jit.plan().tableBytes();
  r.walshHeads = jit.walshPlannedBeside();
  r.tablesFillMs = jit.tablesFillMs();
  r.tablesWaitMs = jit.tablesWaitMs();
  return r;
}

// Compiles the JIT into `out`; false (with out.error) if it refuses.
bool addJit(const Network &net, ForwardBackends &out) {
  try {
    const auto t0 = std::chrono::steady_clock::now();
    DiagnosticEngine diags;
    Pipeline pipeline({}, diags); // stages 5-8: plan, emit, optimize, link
    std::unique_ptr<JitBackend> jit = pipeline.native(net, out.format);
    out.stages = pipeline.timings();
    const double wallMs = std::chrono::duration<double, std::milli>(
                              std::chrono::steady_clock::now() - t0)
                              .count();
    out.jitTimes = timesOf(*jit, wallMs);
    out.jit = jit.get();
    out.owned.push_back(std::move(jit));
    return true;
  } catch (const UserError &e) {
    out.error = e.what();
  } catch (const std::bad_alloc &) {
    out.error = "out of memory while compiling the forward pass";
  }
  return false;
}

std::unique_ptr<Backend> referenceFor(const Network &net, Precision p,
                                      std::optional<StorageFormat> format) {
  if (format)
    return std::make_unique<LowPrecisionBackend>(net, *format);
  if (p == Precision::F64)
    return std::make_unique<ReferenceBackend<double>>(net);
  return std::make_unique<ReferenceBackend<float>>(net);
}
} // namespace

const char *backendChoiceName(BackendChoice c) {
  switch (c) {
  case BackendChoice::Auto:
    return "auto";
  case BackendChoice::Jit:
    return "jit";
  case BackendChoice::Reference:
    return "reference";
  case BackendChoice::Both:
    return "both";
  }
  return "?";
}

std::optional<BackendChoice> backendChoiceByName(const std::string &name) {
  for (BackendChoice c : kChoices)
    if (name == backendChoiceName(c))
      return c;
  return std::nullopt;
}

std::vector<const Backend *> ForwardBackends::list() const {
  std::vector<const Backend *> out;
  for (const auto &b : owned)
    out.push_back(b.get());
  return out;
}

ForwardBackends chooseBackends(const Network &net, BackendChoice choice,
                               std::optional<Precision> precision) {
  const Precision p = precision.value_or(net.precision);
  ForwardBackends out;
  out.format = storageFormatOf(p);
  if (choice == BackendChoice::Auto)
    choice =
        p == Precision::F64 ? BackendChoice::Reference : BackendChoice::Jit;
  if (choice == BackendChoice::Jit || choice == BackendChoice::Both)
    if (!addJit(net, out))
      return out;
  if (choice == BackendChoice::Reference || choice == BackendChoice::Both)
    out.owned.push_back(referenceFor(net, p, out.format));
  return out;
}

} // namespace handwire
