// Stage "emit": ForwardPlan -> one LLVM function per model, and the JIT that
// turns it into native code. LLVM stays behind this header: no LLVM type
// appears here.
//
// The generated function has this C ABI (compiler/codegen/ForwardABI.h):
//   void hw_forward(const int32_t *tokens, int64_t length, float *scratch,
//   float *logits);
// tokens[0 .. length) are token ids (1 <= length <= maxLength, each <
// tokenCount); scratch holds plan.scratchFloats(length) floats owned by the
// caller (one buffer per thread); logits receives plan.classes floats. Weights
// are baked into the code as addresses of the plan's (and the network's)
// buffers, which must outlive the compiled function.
#pragma once

#include "codegen/ForwardPlan.h"

#include <memory>
#include <string>

namespace handwire {

using ForwardFn = void (*)(const int32_t *tokens, int64_t length,
                           float *scratch, float *logits);

struct CompileTimes {
  double emitMs = 0, optimizeMs = 0, codegenMs = 0;
};

class CompiledForward {
public:
  ~CompiledForward();
  ForwardFn function() const { return fn_; }
  const CompileTimes &times() const { return times_; }
  struct Impl;

private:
  friend std::unique_ptr<CompiledForward> compileForward(const ForwardPlan &,
                                                         const std::string &);
  std::unique_ptr<Impl> impl_;
  ForwardFn fn_ = nullptr;
  CompileTimes times_;
};

// Emits, optimizes (O3 for the host CPU) and JIT-compiles the plan. Throws
// InternalError if LLVM fails (a bug, never the user's fault).
std::unique_ptr<CompiledForward> compileForward(const ForwardPlan &plan,
                                                const std::string &name);

enum class EmitKind { LLVM, OptimizedLLVM, Assembly };
// The generated code as text, for `handwire compile --emit=llvm|asm`.
std::string emitText(const ForwardPlan &plan, const std::string &name,
                     EmitKind kind);

} // namespace handwire
