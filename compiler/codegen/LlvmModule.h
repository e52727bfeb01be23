// The definition behind EmitLLVM.h's opaque LlvmModule. LLVM types: include
// this only from compiler/codegen and runtime/jit (which links the module).
#pragma once

#include "codegen/EmitLLVM.h"

#include <llvm/IR/LLVMContext.h>
#include <llvm/IR/Module.h>
#include <llvm/Target/TargetMachine.h>

#include <memory>

namespace handwire {

class LlvmModule {
public:
  // The context outlives the module (members are destroyed in reverse).
  std::unique_ptr<llvm::LLVMContext> context;
  std::unique_ptr<llvm::Module> module;
  // The host's machine, which laid the module out; optimizeModule and
  // assemblyText reuse it.
  std::unique_ptr<llvm::TargetMachine> machine;
  bool optimized = false;
};

} // namespace handwire
