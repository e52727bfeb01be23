// The compiler, from .task text to native code, in the order it runs. Each
// stage is one call into the unit that owns it; this file only orders the
// stages, times them, verifies between them and hands each stage's result to
// an observer (`handwire compile --emit STAGE` prints one).
//
//   stage        consumes               produces                 unit
//   1 parse      .task text             AST frontend/Parser 2 sema       AST +
//   -D overrides     Spec                     frontend/Sema 3 construct  Spec,
//   one model        Network (verified)       constructions/ 4 certify Network
//   certified Network        driver/Certify 5 plan       Network ForwardPlan
//   codegen/ForwardPlan 6 emit-llvm  ForwardPlan            LLVM module
//   codegen/EmitLLVM 7 optimize   LLVM module            O3 module (host CPU)
//   codegen/EmitLLVM 8 link       optimized module       native forward pass
//   runtime/jit 9 export     certified Network      safetensors + JSON, ONNX
//   export/
//
// Stages 1-2 run once per spec, 3-9 once per model. A compiled model file
// (.json) enters at stage 4's output (export/ModelFile.h reads and verifies
// it). `eval` and `sweep` run stages 1-8, `compile` and `inspect` 1-4 (and 9).
#pragma once

#include "driver/SelectConstruction.h"
#include "export/Onnx.h"
#include "ir/Network.h"
#include "ir/StorageFormat.h"
#include "spec/TaskSpec.h"
#include "support/Diagnostics.h"

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace handwire {

namespace ast {
struct File;
}
struct ForwardPlan;
class LlvmModule;
class JitBackend;

enum class Stage {
  Parse,
  Sema,
  Construct,
  Certify,
  Plan,
  EmitLLVM,
  Optimize,
  Link,
  Export
};
constexpr int kStageCount = 9;
const char *stageName(Stage s); // "parse", "emit-llvm", ...
// What `compile --emit` calls the output of a stage, ordered by depth:
// ast, spec, network, certificate, plan, llvm, llvm-opt, asm, weights (and
// onnx, the other export format).
const char *stageEmitName(Stage s);
std::optional<Stage> stageForEmit(const std::string &name);
std::vector<std::string> emitNames(); // every --emit value, in stage order

// One stage's wall time, for one model (empty for stages 1-2).
struct StageTiming {
  Stage stage;
  std::string model;
  double ms = 0;
};

// A stage's result, for the observer: the member of that stage is set. The
// module is the one the next stage will take (link: the one about to be
// linked; printing its assembly is `--emit asm`).
struct StageResult {
  StageResult(const ast::File *f) : ast(f) {}
  StageResult(const Spec *s) : spec(s) {}
  StageResult(const Network *n) : network(n) {}
  StageResult(const ForwardPlan *p) : plan(p) {}
  StageResult(LlvmModule *m) : module(m) {}
  const ast::File *ast = nullptr;    // parse
  const Spec *spec = nullptr;        // sema
  const Network *network = nullptr;  // construct, certify, export
  const ForwardPlan *plan = nullptr; // plan
  LlvmModule *module = nullptr;      // emit-llvm, optimize, link
};
using StageObserver = std::function<void(Stage, const StageResult &)>;

#ifdef NDEBUG
constexpr bool kVerifyEachStage = false;
#else
constexpr bool kVerifyEachStage = true;
#endif

struct PipelineOptions {
  CompileOptions compile;
  // Check each stage's result with its verifier (the network's verifier runs
  // always: a construction bug must never reach a user's file).
  bool verifyEachStage = kVerifyEachStage;
  StageObserver observer; // called after each stage, if set
  OnnxOptions onnx;       // the ONNX export's batch axis and external data
};

class Pipeline {
public:
  Pipeline(PipelineOptions options, DiagnosticEngine &diags);
  ~Pipeline();

  // Stages 1-2: the spec at `path`, with "block.field=value" overrides
  // applied before sema. nullopt on error (reported to diags).
  std::optional<Spec> frontEnd(const std::string &path,
                               const std::vector<std::string> &overrides);
  // The same for a spec in memory (`name` is its file name in locations).
  std::optional<Spec> frontEndSource(const std::string &name,
                                     const std::string &text,
                                     const std::vector<std::string> &overrides);
  // Stage 2 alone, over a file already parsed (the sweep parses once and
  // analyses at every N).
  std::optional<Spec> sema(ast::File file,
                           const std::vector<std::string> &overrides);

  // Stages 3-4: one model's network, constructed, verified and certified.
  std::optional<Network> network(const Spec &spec, const ModelSpec &model);

  // Stages 5-8: the native forward pass of a certified network; `storage`
  // runs a 16-bit network's rounding natively (ForwardPlan.h). The network
  // must outlive the result. Throws InternalError if LLVM fails.
  std::unique_ptr<JitBackend> native(const Network &net,
                                     std::optional<StorageFormat> storage);

  // Stage 9: the model's files in `dir`, named TASK.MODEL.*; returns their
  // paths (ONNX: the .onnx and, with external data, its .onnx.data, as
  // options.onnx says). Throws UserError if they cannot be written.
  enum class ExportFormat { Weights, Onnx };
  std::vector<std::string> exportModel(const TaskSpec &task, const Network &net,
                                       const std::string &dir,
                                       ExportFormat format);
  // The names (without directory) of the files exportModel writes, in the
  // order it returns them.
  static std::vector<std::string> exportFileNames(const TaskSpec &task,
                                                  const Network &net,
                                                  ExportFormat format,
                                                  const OnnxOptions &onnx = {});

  // Every stage run so far, in order.
  const std::vector<StageTiming> &timings() const { return timings_; }

private:
  template <typename F>
  auto timed(Stage stage, const std::string &model, F &&run);
  void observe(Stage stage, const StageResult &result) const;
  double lastMs(Stage stage) const; // of the latest run of `stage`
  void verifyModuleAfter(Stage stage, const LlvmModule &module) const;

  PipelineOptions options_;
  DiagnosticEngine &diags_;
  std::vector<StageTiming> timings_;
};

// One-call forms of the stages, for tests and tools that need no timings.
std::optional<Spec> loadSpec(const std::string &path,
                             const std::vector<std::string> &overrides,
                             DiagnosticEngine &diags);
std::optional<Spec> loadSpecSource(const std::string &name,
                                   const std::string &text,
                                   const std::vector<std::string> &overrides,
                                   DiagnosticEngine &diags);
std::optional<Spec> analyzeSpecFile(ast::File file,
                                    const std::vector<std::string> &overrides,
                                    DiagnosticEngine &diags);
std::optional<Network> buildNetwork(const Spec &spec, const ModelSpec &model,
                                    const CompileOptions &options,
                                    DiagnosticEngine &diags);

} // namespace handwire
