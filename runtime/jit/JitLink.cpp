// An LlvmModule -> ORC LLJIT. The only translation unit of runtime/ that
// includes LLVM (through codegen/LlvmModule.h).
#include "jit/JitLink.h"

#include "codegen/LlvmModule.h"
#include "support/Diagnostics.h"

#include <llvm/ExecutionEngine/Orc/CompileUtils.h>
#include <llvm/ExecutionEngine/Orc/JITTargetMachineBuilder.h>
#include <llvm/ExecutionEngine/Orc/LLJIT.h>
#include <llvm/ExecutionEngine/Orc/ThreadSafeModule.h>
#include <llvm/Support/MemoryBuffer.h>

#include <vector>

namespace handwire {

using namespace llvm;

struct CompiledForward::Impl {
  std::unique_ptr<orc::LLJIT> jit;
};

CompiledForward::CompiledForward(std::unique_ptr<Impl> impl, ForwardFn fn)
    : impl_(std::move(impl)), fn_(fn) {}

CompiledForward::~CompiledForward() = default;

std::unique_ptr<CompiledForward> linkModule(std::unique_ptr<LlvmModule> m) {
  HW_ASSERT(!m->parts.empty(), "linkModule needs an emitted module");
  // Machine code of every part, on up to one thread per core.
  std::vector<std::unique_ptr<MemoryBuffer>> objects(m->parts.size());
  forEachPartInParallel(*m, [&](size_t part, TargetMachine &machine) {
    auto object = orc::SimpleCompiler(machine)(*m->parts[part].module);
    if (!object)
      internalError(__FILE__, __LINE__, toString(object.takeError()));
    objects[part] = std::move(*object);
  });
  // The JIT only links those objects: its IR compiler (which would build a
  // TargetMachine per compile) is never used. No platform support: the
  // module has no static initializers or atexit handlers, and the generic
  // platform's own support module cost 5-10 ms of every compile (index
  // lookup: 40-55 -> 36-40 ms, warm).
  const Module &first = *m->parts[0].module;
  auto jit = orc::LLJITBuilder()
                 .setJITTargetMachineBuilder(orc::JITTargetMachineBuilder(
                     Triple(first.getTargetTriple())))
                 .setDataLayout(first.getDataLayout())
                 .setCompileFunctionCreator(
                     [](orc::JITTargetMachineBuilder jtmb)
                         -> Expected<
                             std::unique_ptr<orc::IRCompileLayer::IRCompiler>> {
                       return std::make_unique<orc::ConcurrentIRCompiler>(
                           std::move(jtmb));
                     })
                 .setPlatformSetUp(orc::setUpInactivePlatform)
                 .create();
  if (!jit)
    internalError(__FILE__, __LINE__, toString(jit.takeError()));
  for (std::unique_ptr<MemoryBuffer> &object : objects)
    if (auto e = (*jit)->addObjectFile(std::move(object)))
      internalError(__FILE__, __LINE__, toString(std::move(e)));
  auto sym = (*jit)->lookup(kForwardSymbol);
  if (!sym)
    internalError(__FILE__, __LINE__, toString(sym.takeError()));
  auto impl = std::make_unique<CompiledForward::Impl>();
  impl->jit = std::move(*jit);
  return std::unique_ptr<CompiledForward>(
      new CompiledForward(std::move(impl), sym->toPtr<ForwardFn>()));
}

} // namespace handwire
