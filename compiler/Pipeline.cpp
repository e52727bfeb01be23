#include "Pipeline.h"

#include "codegen/EmitLLVM.h"
#include "codegen/ForwardPlan.h"
#include "constructions/Construction.h"
#include "driver/Certify.h"
#include "export/ModelFile.h"
#include "export/Onnx.h"
#include "frontend/Parser.h"
#include "frontend/Sema.h"
#include "ir/Verifier.h"
#include "jit/JitBackend.h"

#include <chrono>

namespace handwire {

namespace {
struct StageNames {
  Stage stage;
  const char *name, *emit;
};
constexpr StageNames kStages[kStageCount] = {
    {Stage::Parse, "parse", "ast"},
    {Stage::Sema, "sema", "spec"},
    {Stage::Construct, "construct", "network"},
    {Stage::Certify, "certify", "certificate"},
    {Stage::Plan, "plan", "plan"},
    {Stage::EmitLLVM, "emit-llvm", "llvm"},
    {Stage::Optimize, "optimize", "llvm-opt"},
    {Stage::Link, "link", "asm"},
    {Stage::Export, "export", "weights"},
};
} // namespace

const char *stageName(Stage s) { return kStages[static_cast<int>(s)].name; }
const char *stageEmitName(Stage s) { return kStages[static_cast<int>(s)].emit; }
std::optional<Stage> stageForEmit(const std::string &name) {
  for (const StageNames &s : kStages)
    if (name == s.emit)
      return s.stage;
  if (name == "onnx")
    return Stage::Export;
  return std::nullopt;
}
std::vector<std::string> emitNames() {
  std::vector<std::string> out;
  for (const StageNames &s : kStages)
    out.push_back(s.emit);
  out.push_back("onnx");
  return out;
}

Pipeline::Pipeline(PipelineOptions options, DiagnosticEngine &diags)
    : options_(std::move(options)), diags_(diags) {}
Pipeline::~Pipeline() = default;

template <typename F>
auto Pipeline::timed(Stage stage, const std::string &model, F &&run) {
  const auto t0 = std::chrono::steady_clock::now();
  auto result = run();
  timings_.push_back({stage, model,
                      std::chrono::duration<double, std::milli>(
                          std::chrono::steady_clock::now() - t0)
                          .count()});
  return result;
}

double Pipeline::lastMs(Stage stage) const {
  for (auto t = timings_.rbegin(); t != timings_.rend(); ++t)
    if (t->stage == stage)
      return t->ms;
  return 0;
}

void Pipeline::observe(Stage stage, const StageResult &result) const {
  if (options_.observer)
    options_.observer(stage, result);
}

void Pipeline::verifyModuleAfter(Stage stage, const LlvmModule &module) const {
  std::string why;
  if (options_.verifyEachStage && !verifyModule(module, &why))
    internalError(__FILE__, __LINE__,
                  std::string("the LLVM module is invalid after ") +
                      stageName(stage) + ": " + why);
}

// 1. parse: .task text -> AST (every node located)
std::optional<Spec>
Pipeline::frontEnd(const std::string &path,
                   const std::vector<std::string> &overrides) {
  std::optional<ast::File> file =
      timed(Stage::Parse, "", [&] { return parseTaskFile(path, diags_); });
  if (!file)
    return std::nullopt;
  observe(Stage::Parse, &*file);
  return sema(std::move(*file), overrides);
}

std::optional<Spec>
Pipeline::frontEndSource(const std::string &name, const std::string &text,
                         const std::vector<std::string> &overrides) {
  std::optional<ast::File> file = timed(
      Stage::Parse, "", [&] { return parseTaskSource(name, text, diags_); });
  if (!file)
    return std::nullopt;
  observe(Stage::Parse, &*file);
  return sema(std::move(*file), overrides);
}

// 2. sema: the overrides edit the AST (so that sema checks them), then the
// AST gets its meaning: a validated Spec, every field located.
std::optional<Spec> Pipeline::sema(ast::File file,
                                   const std::vector<std::string> &overrides) {
  std::optional<Spec> spec = timed(Stage::Sema, "", [&]() {
    for (const std::string &o : overrides)
      if (!applyOverride(file, o, diags_))
        return std::optional<Spec>();
    return analyzeSpec(file, diags_);
  });
  if (spec)
    observe(Stage::Sema, &*spec);
  return spec;
}

// 3. construct: select the construction for (task, architecture, layers),
// refuse what would not fit before allocating, build, verify; then
// 4. certify: refuse a network that is not exact in its precision.
std::optional<Network> Pipeline::network(const Spec &spec,
                                         const ModelSpec &model) {
  std::optional<Network> net = timed(Stage::Construct, model.name, [&]() {
    std::optional<Network> out;
    const Construction *chosen =
        planConstruction(spec, model, options_.compile, diags_);
    if (!chosen)
      return out;
    try {
      out = chosen->construct(spec, model, {});
    } catch (const UserError &e) {
      diags_.error(e.loc().valid() ? e.loc() : model.loc, e.what());
      return out;
    }
    // A structural problem is a bug in the construction, never the user's.
    const std::vector<std::string> problems = verifyNetwork(*out);
    if (!problems.empty()) {
      std::string all;
      for (const auto &p : problems)
        all += "\n  " + p;
      internalError(__FILE__, __LINE__,
                    std::string("construction ") + chosen->id() +
                        " produced an invalid network:" + all);
    }
    return out;
  });
  if (!net)
    return std::nullopt;
  observe(Stage::Construct, &*net);

  const bool certified = timed(Stage::Certify, model.name, [&] {
    return certifyNetwork(*net, model, options_.compile, diags_);
  });
  if (!certified)
    return std::nullopt;
  observe(Stage::Certify, &*net);
  return net;
}

// 5. plan: the work the forward pass needs, laid out for code generation;
// 6. emit-llvm: the plan as one LLVM function; 7. optimize: O3 for the host;
// 8. link: ORC LLJIT makes it native (the plan's tables are filled, and its
// Walsh heads planned, while it optimizes and links).
std::unique_ptr<JitBackend>
Pipeline::native(const Network &net, std::optional<StorageFormat> storage) {
  const std::string &model = net.name;
  // Walsh heads are planned beside the compile (ForwardPlan.h, WalshTiming)
  // unless someone looks at the plan or the module.
  const bool observed = options_.observer || options_.verifyEachStage;
  ForwardPlan plan = timed(Stage::Plan, model, [&] {
    return planForward(net, storage,
                       observed ? WalshTiming::Now : WalshTiming::WithTables);
  });
  observe(Stage::Plan, &plan);

  std::unique_ptr<LlvmModule> module =
      timed(Stage::EmitLLVM, model, [&] { return emitModule(plan, model); });
  verifyModuleAfter(Stage::EmitLLVM, *module);
  observe(Stage::EmitLLVM, module.get());

  // 7. optimize, here if someone looks at the optimized module (an observer,
  // or the verifier); otherwise the backend optimizes it while it fills the
  // plan's tables on another thread, and the time is read back from it.
  const bool optimizeHere = observed;
  if (optimizeHere) {
    timed(Stage::Optimize, model, [&] {
      optimizeModule(*module);
      return 0;
    });
    verifyModuleAfter(Stage::Optimize, *module);
    observe(Stage::Optimize, module.get());
  }

  // 8. link (the backend reports the earlier stages' times beside its own).
  observe(Stage::Link, module.get());
  CompileTimes times;
  times.emitMs = lastMs(Stage::EmitLLVM);
  times.optimizeMs = optimizeHere ? lastMs(Stage::Optimize) : 0;
  const double planMs = lastMs(Stage::Plan);
  std::unique_ptr<JitBackend> jit = timed(Stage::Link, model, [&] {
    return std::make_unique<JitBackend>(net, std::move(plan), std::move(module),
                                        planMs, times);
  });
  if (!optimizeHere) { // split the backend's optimize out of the link's time
    const double optimizeMs = jit->compileTimes().optimizeMs;
    timings_.back().ms -= optimizeMs;
    timings_.insert(timings_.end() - 1, {Stage::Optimize, model, optimizeMs});
  }
  return jit;
}

// 9. export: the certified network as files other tools load.
std::vector<std::string> Pipeline::exportModel(const TaskSpec &task,
                                               const Network &net,
                                               const std::string &dir,
                                               ExportFormat format) {
  const std::string stem =
      std::string(taskKindName(task.kind)) + "." + net.name;
  return timed(Stage::Export, net.name, [&]() -> std::vector<std::string> {
    if (format == ExportFormat::Onnx)
      return writeOnnx(task, net, dir, stem, options_.compile.memoryLimitBytes,
                       options_.onnx);
    const ModelPaths paths = writeModel(task, net, dir, stem);
    return {paths.weights, paths.config};
  });
}

std::vector<std::string> Pipeline::exportFileNames(const TaskSpec &task,
                                                   const Network &net,
                                                   ExportFormat format,
                                                   const OnnxOptions &onnx) {
  const std::string stem =
      std::string(taskKindName(task.kind)) + "." + net.name;
  if (format == ExportFormat::Onnx)
    return onnxFileNames(net, stem, onnx);
  return {stem + ".safetensors", stem + ".json"};
}

std::optional<Spec> loadSpec(const std::string &path,
                             const std::vector<std::string> &overrides,
                             DiagnosticEngine &diags) {
  return Pipeline({}, diags).frontEnd(path, overrides);
}

std::optional<Spec> loadSpecSource(const std::string &name,
                                   const std::string &text,
                                   const std::vector<std::string> &overrides,
                                   DiagnosticEngine &diags) {
  return Pipeline({}, diags).frontEndSource(name, text, overrides);
}

std::optional<Spec> analyzeSpecFile(ast::File file,
                                    const std::vector<std::string> &overrides,
                                    DiagnosticEngine &diags) {
  return Pipeline({}, diags).sema(std::move(file), overrides);
}

std::optional<Network> buildNetwork(const Spec &spec, const ModelSpec &model,
                                    const CompileOptions &options,
                                    DiagnosticEngine &diags) {
  PipelineOptions po;
  po.compile = options;
  return Pipeline(po, diags).network(spec, model);
}

} // namespace handwire
