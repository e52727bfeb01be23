// The JIT backend: plans a Network, emits and optimizes it with LLVM
// (codegen/EmitLLVM.h), links it (jit/JitLink.h) and runs the native forward
// function. No LLVM header is needed here.
#pragma once

#include "codegen/EmitLLVM.h"
#include "codegen/ForwardPlan.h"
#include "eval/Backend.h"
#include "ir/Network.h"
#include "jit/JitLink.h"

#include <memory>
#include <optional>

namespace handwire {

// Milliseconds of the stages after "plan"; codegen is the link (LLJIT).
struct CompileTimes {
  double emitMs = 0, optimizeMs = 0, codegenMs = 0;
};

class JitBackend : public Backend {
public:
  // Plans and compiles `net`, which must outlive the backend. `storage`: run
  // the 16-bit forward pass that LowPrecisionBackend emulates, natively
  // (weights and stored activations rounded, fp32 sums; ForwardPlan.h).
  explicit JitBackend(const Network &net,
                      std::optional<StorageFormat> storage = std::nullopt);
  // Finishes what a driver started: `plan` (planForward(net, ...), its
  // tables not yet filled) and `module`, emitted from it, optimized or not;
  // `times` and `planMs`: what those stages took. Fills the plan's tables on
  // another thread while it optimizes the module (if it is not yet) and
  // links it: hand the module over before optimizing it to overlap both.
  JitBackend(const Network &net, ForwardPlan plan,
             std::unique_ptr<LlvmModule> module, double planMs,
             const CompileTimes &times);
  ~JitBackend() override;
  // "jit", or "jit-f16" / "jit-bf16"
  std::string name() const override;
  using Backend::logits;
  void logits(const int32_t *tokens, int64_t length, const float *features,
              double *out) const override;

  const ForwardPlan &plan() const { return plan_; }
  const CompileTimes &compileTimes() const { return times_; }
  double planMs() const { return planMs_; }
  // Until the model can run: plan, emit, O3, codegen, and the wait for the
  // tables.
  double compileMs() const;
  // The plan's tables (ForwardPlan::fillTables) are filled, and its Walsh
  // heads planned, on another thread while LLVM compiles: how long that
  // took, and how long the constructor then waited for it.
  double tablesFillMs() const { return tablesFillMs_; }
  double tablesWaitMs() const { return tablesWaitMs_; }
  // Walsh heads planned that way (WalshTiming::WithTables).
  int64_t walshPlannedBeside() const { return walshPlannedBeside_; }

private:
  // Emits the module if it is null, optimizes it if it is not yet, links it,
  // the plan's tables filled meanwhile.
  void compile(std::unique_ptr<LlvmModule> module);

  const Network &net_;
  ForwardPlan plan_;
  double planMs_ = 0, tablesFillMs_ = 0, tablesWaitMs_ = 0;
  int64_t walshPlannedBeside_ = 0;
  CompileTimes times_;
  std::unique_ptr<CompiledForward> compiled_;
};

} // namespace handwire
