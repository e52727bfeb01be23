// The definition behind EmitLLVM.h's opaque LlvmModule. LLVM types: include
// this only from compiler/codegen and runtime/jit (which links the module).
#pragma once

#include "codegen/EmitLLVM.h"

#include <llvm/IR/LLVMContext.h>
#include <llvm/IR/Module.h>
#include <llvm/Target/TargetMachine.h>

#include <functional>
#include <memory>
#include <vector>

namespace handwire {

// A host TargetMachine lent by a process-wide pool (the first use of a
// machine builds its subtarget, about a millisecond: a pool keeps that to
// once per thread that compiles at a time). A machine serves one thread at a
// time; the loan returns it.
class MachineLoan {
public:
  MachineLoan();
  ~MachineLoan();
  MachineLoan(const MachineLoan &) = delete;
  MachineLoan &operator=(const MachineLoan &) = delete;
  llvm::TargetMachine &operator*() const { return *machine_; }
  llvm::TargetMachine *operator->() const { return machine_.get(); }

private:
  std::unique_ptr<llvm::TargetMachine> machine_;
};

// One module with its own context, laid out for the host, so that parts can
// be optimized and compiled on different threads (an LLVM context serves one
// thread at a time).
struct LlvmModulePart {
  // The context outlives the module (members are destroyed in reverse).
  std::unique_ptr<llvm::LLVMContext> context;
  std::unique_ptr<llvm::Module> module;
};

class LlvmModule {
public:
  // parts[0] defines kForwardSymbol; later parts define functions it calls
  // (a Transformer's layers: EmitLLVM.cpp, layersApart).
  std::vector<LlvmModulePart> parts;
  bool optimized = false;
};

// Runs f(i, machine) for every part i, largest first, on up to one thread
// per core (this one included), each thread with a machine of its own;
// rethrows the first exception once all have finished.
void forEachPartInParallel(
    LlvmModule &m, const std::function<void(size_t, llvm::TargetMachine &)> &f);

} // namespace handwire
