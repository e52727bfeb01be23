// Stages "emit LLVM" and "optimize": ForwardPlan -> LLVM IR, then O3 for the
// host CPU. Linking it into native code is runtime/jit's (jit/JitLink.h). No
// LLVM type appears here: LlvmModule is opaque (codegen/LlvmModule.h defines
// it, for codegen and runtime/jit). It holds one module, or for a Transformer
// of two or more layers one per layer besides the forward function's, which
// calls them: the modules are optimized and compiled on two threads.
//
// The generated function has this C ABI (ForwardFn):
//   void hw_forward(const int32_t *tokens, int64_t length,
//   const float *features, float *scratch, float *logits);
// tokens[0 .. length) are token ids (1 <= length <= maxLength, each <
// tokenCount); features[0 .. length F) the continuous inputs of a model with
// F = Embedding::featureDim() > 0 (row i is position i's vector; never null
// then), unused otherwise; scratch holds plan.scratchFloats(length) floats
// owned by the caller (one buffer per thread), laid out as plan.scratch says;
// logits receives plan.classes floats. Weights are baked into the code as
// addresses of the plan's (and the network's) buffers, which must outlive the
// compiled function.
#pragma once

#include "codegen/ForwardPlan.h"

#include <memory>
#include <string>
#include <thread>

namespace handwire {

using ForwardFn = void (*)(const int32_t *tokens, int64_t length,
                           const float *features, float *scratch,
                           float *logits);
// The generated function's symbol.
inline constexpr const char *kForwardSymbol = "hw_forward";

class LlvmModule;

} // namespace handwire

// unique_ptr<LlvmModule> is destroyed out of line (EmitLLVM.cpp), so code that
// sees only this header can own one.
namespace std {
template <> struct default_delete<handwire::LlvmModule> {
  void operator()(handwire::LlvmModule *m) const;
};
} // namespace std

namespace handwire {

// The plan's forward function (kForwardSymbol) in a new module laid out for
// the host CPU, verified. Throws InternalError if LLVM fails (a bug, never
// the user's fault). The module reads the plan's buffers by address.
std::unique_ptr<LlvmModule> emitModule(const ForwardPlan &plan,
                                       const std::string &name);

// O3 for the host CPU (vectorized; loops are neither interleaved nor unrolled
// unless they ask: EmitLLVM.cpp says why), the modules on up to one thread
// per core.
void optimizeModule(LlvmModule &m);
bool isOptimized(const LlvmModule &m);

// True if the module is valid LLVM IR; otherwise false, with LLVM's reasons
// in *why (if given). emitModule checks its output; a driver can check after
// every stage.
bool verifyModule(const LlvmModule &m, std::string *why = nullptr);

// A process's first compile is about twice as slow as its later ones:
// LLVM's code and tables are paged in and its lazily built state (the host
// subtarget, pass and instruction-selection tables) is made on first use
// (equality's two-layer Transformer at N = 4096: 71-99 ms cold, 48-70 ms after
// one throwaway compile, fresh processes). A CodegenWarmUp runs the optimizer
// and code generator once over a small vectorizable module on another thread,
// so a command that will compile can pay that cost while its front end,
// construction and certification run. The thread runs at the lowest
// priority: when a real compile starts first, its two threads keep both
// cores. Best effort: a failure is ignored. Only a process's first
// CodegenWarmUp starts the thread (later ones do
// nothing); the destructor waits for it. HANDWIRE_JIT_WARMUP=0 turns it off
// (to time cold compiles).
class CodegenWarmUp {
public:
  CodegenWarmUp();
  ~CodegenWarmUp();
  CodegenWarmUp(const CodegenWarmUp &) = delete;
  CodegenWarmUp &operator=(const CodegenWarmUp &) = delete;

private:
  std::thread thread_;
};

// The module as textual IR (`handwire compile --emit llvm|llvm-opt`): one
// module, its parts linked (each optimized on its own).
std::string moduleText(const LlvmModule &m);
// The module as host assembly (`--emit asm`). Runs the code generator's
// passes over the module, which they may change: print text before this.
std::string assemblyText(LlvmModule &m);

} // namespace handwire
