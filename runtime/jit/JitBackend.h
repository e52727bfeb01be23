// The JIT backend: plans a Network, compiles it with LLVM (codegen/EmitLLVM.h)
// and runs the native forward function. No LLVM header is needed here.
#pragma once

#include "codegen/EmitLLVM.h"
#include "codegen/ForwardPlan.h"
#include "eval/Backend.h"
#include "ir/Network.h"

#include <memory>
#include <optional>

namespace handwire {

class JitBackend : public Backend {
public:
  // Plans and compiles `net`, which must outlive the backend. `storage`: run
  // the 16-bit forward pass that LowPrecisionBackend emulates, natively
  // (weights and stored activations rounded, fp32 sums; ForwardPlan.h).
  explicit JitBackend(const Network &net,
                      std::optional<StorageFormat> storage = std::nullopt);
  ~JitBackend() override;
  // "jit", or "jit-f16" / "jit-bf16"
  std::string name() const override;
  void logits(const int32_t *tokens, int64_t length,
              double *out) const override;

  const ForwardPlan &plan() const { return plan_; }
  const CompileTimes &compileTimes() const { return compiled_->times(); }
  double planMs() const { return planMs_; }
  // Compile time proper: plan, emit, O3 and codegen.
  double compileMs() const;
  // The plan's tables (ForwardPlan::fillTables) are filled on another thread
  // while LLVM compiles: how long that took, and how long the constructor
  // then waited for it.
  double tablesFillMs() const { return tablesFillMs_; }
  double tablesWaitMs() const { return tablesWaitMs_; }

private:
  const Network &net_;
  ForwardPlan plan_;
  double planMs_ = 0, tablesFillMs_ = 0, tablesWaitMs_ = 0;
  std::unique_ptr<CompiledForward> compiled_;
};

} // namespace handwire
