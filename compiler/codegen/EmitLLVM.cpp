// ForwardPlan -> LLVM IR (Emitter) -> O3 with the host TargetMachine, and the
// module's text and assembly.
#include "codegen/EmitLLVM.h"

#include "codegen/Emitter.h"
#include "codegen/LlvmModule.h"
#include "support/Diagnostics.h"

#include <llvm/ExecutionEngine/Orc/JITTargetMachineBuilder.h>
#include <llvm/IR/LegacyPassManager.h>
#include <llvm/IR/Verifier.h>
#include <llvm/MC/TargetRegistry.h>
#include <llvm/Passes/PassBuilder.h>
#include <llvm/Support/TargetSelect.h>
#include <llvm/Support/raw_ostream.h>
#include <llvm/TargetParser/Host.h>

#include <mutex>

void std::default_delete<handwire::LlvmModule>::operator()(
    handwire::LlvmModule *m) const {
  delete m;
}

namespace handwire {

using namespace llvm;

namespace {

void initLLVM() {
  static std::once_flag once;
  std::call_once(once, [] {
    InitializeNativeTarget();
    InitializeNativeTargetAsmPrinter();
    InitializeNativeTargetAsmParser();
  });
}

std::unique_ptr<TargetMachine> hostMachine() {
  auto jtmb = orc::JITTargetMachineBuilder::detectHost();
  if (!jtmb)
    internalError(__FILE__, __LINE__, toString(jtmb.takeError()));
  jtmb->setCodeGenOptLevel(CodeGenOptLevel::Aggressive);
  auto tm = jtmb->createTargetMachine();
  if (!tm)
    internalError(__FILE__, __LINE__, toString(tm.takeError()));
  return std::move(*tm);
}

} // namespace

std::unique_ptr<LlvmModule> emitModule(const ForwardPlan &plan,
                                       const std::string &name) {
  initLLVM();
  auto out = std::make_unique<LlvmModule>();
  out->machine = hostMachine();
  const TargetMachine &tm = *out->machine;
  out->context = std::make_unique<LLVMContext>();
  out->module = std::make_unique<Module>("handwire." + name, *out->context);
  out->module->setDataLayout(tm.createDataLayout());
  out->module->setTargetTriple(tm.getTargetTriple().str());
  // Host features as "+avx512bf16,..." (JITTargetMachineBuilder::detectHost).
  const bool nativeBf16 = tm.getTargetFeatureString().contains("+avx512bf16");
  Emitter(plan, *out->module, nativeBf16).emit(kForwardSymbol);
  std::string why;
  if (!verifyModule(*out, &why))
    internalError(__FILE__, __LINE__, "emitted invalid LLVM IR: " + why);
  return out;
}

// O3 with the host TargetMachine (without it the loops stay scalar:
// toolchain.md §1.4), vectorized but neither interleaved nor unrolled unless
// a loop asks (Emitter::loop's `unroll`). Interleaving (four vector bodies
// per loop, then an epilogue) and unrolling multiplied the code of every
// small loop: index lookup's compile took 75 ms with both, 57 with unrolling
// only and 33-42 with neither, and the forward passes ran as fast or faster
// (bench/README.md, 2026-12-05).
void optimizeModule(LlvmModule &m) {
  LoopAnalysisManager lam;
  FunctionAnalysisManager fam;
  CGSCCAnalysisManager cgam;
  ModuleAnalysisManager mam;
  PipelineTuningOptions tuning;
  tuning.LoopInterleaving = false;
  tuning.LoopUnrolling = false;
  PassBuilder pb(m.machine.get(), tuning);
  pb.registerModuleAnalyses(mam);
  pb.registerCGSCCAnalyses(cgam);
  pb.registerFunctionAnalyses(fam);
  pb.registerLoopAnalyses(lam);
  pb.crossRegisterProxies(lam, fam, cgam, mam);
  pb.buildPerModuleDefaultPipeline(OptimizationLevel::O3).run(*m.module, mam);
  m.optimized = true;
}

bool isOptimized(const LlvmModule &m) { return m.optimized; }

bool verifyModule(const LlvmModule &m, std::string *why) {
  std::string err;
  raw_string_ostream es(err);
  const bool broken = llvm::verifyModule(*m.module, &es);
  if (broken && why)
    *why = es.str();
  return !broken;
}

std::string moduleText(const LlvmModule &m) {
  std::string text;
  raw_string_ostream os(text);
  m.module->print(os, nullptr);
  return os.str();
}

std::string assemblyText(LlvmModule &m) {
  SmallVector<char, 0> buf;
  raw_svector_ostream os(buf);
  legacy::PassManager pm;
  if (m.machine->addPassesToEmitFile(pm, os, nullptr,
                                     CodeGenFileType::AssemblyFile))
    internalError(__FILE__, __LINE__, "the host target cannot emit assembly");
  pm.run(*m.module);
  return std::string(buf.begin(), buf.end());
}

} // namespace handwire
