// Stage "link": an emitted (and optimized) LlvmModule -> native code in an
// ORC LLJIT, and the forward function's address (codegen/EmitLLVM.h's ABI).
// No LLVM type appears here.
#pragma once

#include "codegen/EmitLLVM.h"

#include <memory>

namespace handwire {

// The JIT holding a module's native code; the function lives as long as it.
class CompiledForward {
public:
  ~CompiledForward();
  ForwardFn function() const { return fn_; }
  struct Impl;

private:
  friend std::unique_ptr<CompiledForward>
      linkModule(std::unique_ptr<LlvmModule>);
  explicit CompiledForward(std::unique_ptr<Impl> impl, ForwardFn fn);
  std::unique_ptr<Impl> impl_;
  ForwardFn fn_ = nullptr;
};

// Generates the module's machine code for the host and links it (the module
// is consumed). Throws InternalError if LLVM fails (a bug, never the user's
// fault).
std::unique_ptr<CompiledForward> linkModule(std::unique_ptr<LlvmModule> m);

} // namespace handwire
