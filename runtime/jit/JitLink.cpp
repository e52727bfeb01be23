// An LlvmModule -> ORC LLJIT. The only translation unit of runtime/ that
// includes LLVM (through codegen/LlvmModule.h).
#include "jit/JitLink.h"

#include "codegen/LlvmModule.h"
#include "support/Diagnostics.h"

#include <llvm/ExecutionEngine/Orc/CompileUtils.h>
#include <llvm/ExecutionEngine/Orc/JITTargetMachineBuilder.h>
#include <llvm/ExecutionEngine/Orc/LLJIT.h>
#include <llvm/ExecutionEngine/Orc/ThreadSafeModule.h>

namespace handwire {

using namespace llvm;

struct CompiledForward::Impl {
  // The machine that laid out and optimized the module also generates its
  // code; it outlives the JIT (members are destroyed in reverse).
  std::unique_ptr<TargetMachine> machine;
  std::unique_ptr<orc::LLJIT> jit;
};

CompiledForward::CompiledForward(std::unique_ptr<Impl> impl, ForwardFn fn)
    : impl_(std::move(impl)), fn_(fn) {}

CompiledForward::~CompiledForward() = default;

std::unique_ptr<CompiledForward> linkModule(std::unique_ptr<LlvmModule> m) {
  auto impl = std::make_unique<CompiledForward::Impl>();
  impl->machine = std::move(m->machine);
  TargetMachine *tm = impl->machine.get();
  // LLJIT would otherwise build two more TargetMachines for the host, one for
  // its data layout and one to compile with, each creating its subtarget
  // again on first use: the module's own machine and layout serve both.
  // No platform support: the module has no static initializers or atexit
  // handlers, and the generic platform's own support module cost 5-10 ms of
  // every compile (index lookup: 40-55 -> 36-40 ms, warm).
  auto jit = orc::LLJITBuilder()
                 .setJITTargetMachineBuilder(
                     orc::JITTargetMachineBuilder(tm->getTargetTriple()))
                 .setDataLayout(m->module->getDataLayout())
                 .setCompileFunctionCreator(
                     [tm](orc::JITTargetMachineBuilder)
                         -> Expected<
                             std::unique_ptr<orc::IRCompileLayer::IRCompiler>> {
                       return std::make_unique<orc::SimpleCompiler>(*tm);
                     })
                 .setPlatformSetUp(orc::setUpInactivePlatform)
                 .create();
  if (!jit)
    internalError(__FILE__, __LINE__, toString(jit.takeError()));
  if (auto e = (*jit)->addIRModule(
          orc::ThreadSafeModule(std::move(m->module), std::move(m->context))))
    internalError(__FILE__, __LINE__, toString(std::move(e)));
  auto sym = (*jit)->lookup(kForwardSymbol);
  if (!sym)
    internalError(__FILE__, __LINE__, toString(sym.takeError()));
  impl->jit = std::move(*jit);
  return std::unique_ptr<CompiledForward>(
      new CompiledForward(std::move(impl), sym->toPtr<ForwardFn>()));
}

} // namespace handwire
