// ForwardPlan -> LLVM IR (Emitter) -> O3 with the host TargetMachine, and the
// module's text and assembly.
#include "codegen/EmitLLVM.h"

#include "codegen/Emitter.h"
#include "codegen/LlvmModule.h"
#include "support/Diagnostics.h"

#include <llvm/AsmParser/Parser.h>
#include <llvm/ExecutionEngine/Orc/CompileUtils.h>
#include <llvm/ExecutionEngine/Orc/JITTargetMachineBuilder.h>
#include <llvm/IR/LegacyPassManager.h>
#include <llvm/IR/Verifier.h>
#include <llvm/MC/TargetRegistry.h>
#include <llvm/Passes/PassBuilder.h>
#include <llvm/Support/CommandLine.h>
#include <llvm/Support/SourceMgr.h>
#include <llvm/Support/TargetSelect.h>
#include <llvm/Support/raw_ostream.h>
#include <llvm/TargetParser/Host.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
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
    // A vectorized loop's remainder runs as scalar code, not as a second,
    // narrower vector loop: the epilogue loops were a third of the optimized
    // IR and of code generation (string equality at N = 4096: 858 -> 658
    // lines, codegen 55 -> 35 ms in llc) for remainders of a few iterations.
    // Process-wide, as LLVM has no per-loop switch for it.
    auto &options = cl::getRegisteredOptions();
    if (auto it = options.find("enable-epilogue-vectorization");
        it != options.end())
      it->second->addOccurrence(1, it->first(), "false");
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

// A module from `make` (in the module's own context), laid out for the host's
// TargetMachine, which the LlvmModule keeps; null if `make` gives none.
std::unique_ptr<LlvmModule>
hostModule(function_ref<std::unique_ptr<Module>(LLVMContext &)> make) {
  initLLVM();
  auto out = std::make_unique<LlvmModule>();
  out->machine = hostMachine();
  out->context = std::make_unique<LLVMContext>();
  out->module = make(*out->context);
  if (!out->module)
    return nullptr;
  out->module->setDataLayout(out->machine->createDataLayout());
  out->module->setTargetTriple(out->machine->getTargetTriple().str());
  return out;
}

} // namespace

std::unique_ptr<LlvmModule> emitModule(const ForwardPlan &plan,
                                       const std::string &name) {
  auto out = hostModule([&](LLVMContext &context) {
    return std::make_unique<Module>("handwire." + name, context);
  });
  const TargetMachine &tm = *out->machine;
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

namespace {

// What the emitter makes, in small: a row gather by token, a dot product
// reduction, the exp of EmitCore, a max and sum reduction and a scaling
// loop, each vectorized by O3 for the host.
constexpr const char *kWarmUpIR = R"(
define void @hw_warm_up(ptr noalias %tok, i64 %n, ptr noalias %w, ptr noalias %x, ptr noalias %out) {
entry:
  br label %rows
rows:
  %r = phi i64 [ 0, %entry ], [ %r1, %rows.end ]
  %t32 = load i32, ptr %tok, align 4
  %t = sext i32 %t32 to i64
  %wrow = mul nuw nsw i64 %t, %n
  br label %cols
cols:
  %c = phi i64 [ 0, %rows ], [ %c1, %cols ]
  %acc = phi float [ 0.0, %rows ], [ %acc1, %cols ]
  %wi = add nuw nsw i64 %wrow, %c
  %wp = getelementptr float, ptr %w, i64 %wi
  %wv = load float, ptr %wp, align 4
  %xp = getelementptr float, ptr %x, i64 %c
  %xv = load float, ptr %xp, align 4
  %acc1 = call reassoc contract float @llvm.fmuladd.f32(float %wv, float %xv, float %acc)
  %c1 = add nuw nsw i64 %c, 1
  %cd = icmp eq i64 %c1, 345
  br i1 %cd, label %rows.end, label %cols
rows.end:
  %s = fmul reassoc contract float %acc1, 0x3FF7154760000000
  %m = call reassoc nnan nsz contract float @llvm.maxnum.f32(float %s, float -8.700000e+01)
  %k = call contract float @llvm.rint.f32(float %m)
  %f = fsub reassoc contract float %m, %k
  %p = call reassoc contract float @llvm.fmuladd.f32(float %f, float 0x3FE62E4300000000, float 1.000000e+00)
  %ki = fptosi float %k to i32
  %e = add i32 %ki, 127
  %eb = shl i32 %e, 23
  %ef = bitcast i32 %eb to float
  %v = fmul reassoc contract float %p, %ef
  %op = getelementptr float, ptr %out, i64 %r
  store float %v, ptr %op, align 4
  %r1 = add nuw nsw i64 %r, 1
  %rd = icmp slt i64 %r1, %n
  br i1 %rd, label %rows, label %norm
norm:
  %j = phi i64 [ 0, %rows.end ], [ %j1, %norm ]
  %tot = phi float [ 0.0, %rows.end ], [ %tot1, %norm ]
  %mx = phi float [ 0.0, %rows.end ], [ %mx1, %norm ]
  %np = getelementptr float, ptr %out, i64 %j
  %nv = load float, ptr %np, align 4
  %tot1 = fadd reassoc contract float %tot, %nv
  %mx1 = call reassoc nnan nsz contract float @llvm.maxnum.f32(float %mx, float %nv)
  %j1 = add nuw nsw i64 %j, 1
  %jd = icmp slt i64 %j1, %n
  br i1 %jd, label %norm, label %scale
scale:
  %inv = fdiv reassoc contract float %mx1, %tot1
  br label %sl
sl:
  %q = phi i64 [ 0, %scale ], [ %q1, %sl ]
  %qp = getelementptr float, ptr %out, i64 %q
  %qv = load float, ptr %qp, align 4
  %qs = fmul reassoc contract float %qv, %inv
  store float %qs, ptr %qp, align 4
  %q1 = add nuw nsw i64 %q, 1
  %qd = icmp slt i64 %q1, %n
  br i1 %qd, label %sl, label %done
done:
  ret void
}
declare float @llvm.fmuladd.f32(float, float, float)
declare float @llvm.maxnum.f32(float, float)
declare float @llvm.rint.f32(float)
)";

// Parse, lay out for the host, O3, and generate machine code into memory
// with linkModule's compiler (orc::SimpleCompiler), without linking.
void warmUpCodegen() {
  std::unique_ptr<LlvmModule> m = hostModule([](LLVMContext &context) {
    SMDiagnostic err;
    return parseAssemblyString(kWarmUpIR, err, context);
  });
  if (!m)
    return;
  optimizeModule(*m);
  if (auto object = orc::SimpleCompiler(*m->machine)(*m->module); !object)
    consumeError(object.takeError());
}

} // namespace

CodegenWarmUp::CodegenWarmUp() {
  if (const char *v = std::getenv("HANDWIRE_JIT_WARMUP");
      v && std::strcmp(v, "0") == 0)
    return;
  static std::atomic<bool> started{false};
  if (started.exchange(true)) // once per process: later compiles are warm
    return;
  thread_ = std::thread([] {
    try {
      warmUpCodegen();
    } catch (...) { // best effort: the real compile reports its own errors
    }
  });
}

CodegenWarmUp::~CodegenWarmUp() {
  if (thread_.joinable())
    thread_.join();
}

} // namespace handwire
