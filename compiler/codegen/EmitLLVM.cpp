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
#include <llvm/Linker/Linker.h>
#include <llvm/MC/TargetRegistry.h>
#include <llvm/Passes/PassBuilder.h>
#include <llvm/Support/CommandLine.h>
#include <llvm/Support/SourceMgr.h>
#include <llvm/Support/TargetSelect.h>
#include <llvm/Support/raw_ostream.h>
#include <llvm/TargetParser/Host.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#if defined(__linux__)
#include <sys/resource.h>
#include <unistd.h>
#endif

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

// A module from `make` (in the module's own context), laid out for the host;
// null if `make` gives none.
std::optional<LlvmModulePart>
hostPart(function_ref<std::unique_ptr<Module>(LLVMContext &)> make) {
  LlvmModulePart out;
  out.context = std::make_unique<LLVMContext>();
  out.module = make(*out.context);
  if (!out.module)
    return std::nullopt;
  MachineLoan machine;
  out.module->setDataLayout(machine->createDataLayout());
  out.module->setTargetTriple(machine->getTargetTriple().str());
  return out;
}

LlvmModulePart emptyPart(const std::string &name) {
  return *hostPart([&](LLVMContext &context) {
    return std::make_unique<Module>(name, context);
  });
}

std::mutex machinePoolMutex;
std::vector<std::unique_ptr<TargetMachine>> &machinePool() {
  static auto *pool = new std::vector<std::unique_ptr<TargetMachine>>();
  return *pool; // never destroyed: loans may end during static destruction
}

// Whether a Transformer's layers go to modules of their own. Code generation
// is most of a compile, and the modules of a model of two or more layers are
// optimized and compiled on two threads at once, largest first (the
// four-layer Dyck model: its blocked head alone is half of the code). Split
// whatever the core count, so that the code is the same everywhere.
bool layersApart(const ForwardPlan &plan) {
  return plan.transformer && !plan.sparse && plan.layers.size() >= 2;
}

size_t instructionCount(const Module &m) {
  size_t n = 0;
  for (const Function &f : m)
    n += f.getInstructionCount();
  return n;
}

} // namespace

MachineLoan::MachineLoan() {
  {
    std::lock_guard<std::mutex> lock(machinePoolMutex);
    if (!machinePool().empty()) {
      machine_ = std::move(machinePool().back());
      machinePool().pop_back();
      return;
    }
  }
  initLLVM();
  machine_ = hostMachine();
}

MachineLoan::~MachineLoan() {
  std::lock_guard<std::mutex> lock(machinePoolMutex);
  machinePool().push_back(std::move(machine_));
}

void forEachPartInParallel(
    LlvmModule &m, const std::function<void(size_t, TargetMachine &)> &f) {
  // Largest part first, each taken by the next free worker: the longest
  // part then bounds the time.
  std::vector<std::pair<size_t, size_t>> order; // (instructions, part)
  for (size_t i = 0; i < m.parts.size(); ++i)
    order.emplace_back(instructionCount(*m.parts[i].module), i);
  std::sort(order.rbegin(), order.rend());
  std::vector<std::exception_ptr> errors(m.parts.size());
  std::atomic<size_t> next{0};
  auto work = [&] {
    std::optional<MachineLoan> machine;
    for (size_t k; (k = next++) < order.size();) {
      const size_t i = order[k].second;
      try {
        if (!machine)
          machine.emplace();
        f(i, **machine);
      } catch (...) {
        errors[i] = std::current_exception();
      }
    }
  };
  const size_t workers = std::min<size_t>(
      m.parts.size(), std::max(1u, std::thread::hardware_concurrency()));
  std::vector<std::thread> threads;
  for (size_t w = 1; w < workers; ++w)
    threads.emplace_back(work);
  work();
  for (std::thread &t : threads)
    t.join();
  for (const std::exception_ptr &e : errors)
    if (e)
      std::rethrow_exception(e);
}

std::unique_ptr<LlvmModule> emitModule(const ForwardPlan &plan,
                                       const std::string &name) {
  auto out = std::make_unique<LlvmModule>();
  out->parts.push_back(emptyPart("handwire." + name));
  // Host features as "+avx512bf16,..." (JITTargetMachineBuilder::detectHost).
  const bool nativeBf16 =
      MachineLoan()->getTargetFeatureString().contains("+avx512bf16");
  std::vector<std::string> layerFunctions;
  if (layersApart(plan))
    for (size_t l = 0; l < plan.layers.size(); ++l)
      layerFunctions.push_back(std::string(kForwardSymbol) + ".layer" +
                               std::to_string(l));
  Emitter(plan, *out->parts[0].module, nativeBf16)
      .emit(kForwardSymbol, layerFunctions);
  for (size_t l = 0; l < layerFunctions.size(); ++l) {
    out->parts.push_back(
        emptyPart("handwire." + name + ".layer" + std::to_string(l)));
    Emitter(plan, *out->parts.back().module, nativeBf16)
        .emitLayer(layerFunctions[l], l);
  }
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
  forEachPartInParallel(m, [&](size_t part, TargetMachine &machine) {
    LoopAnalysisManager lam;
    FunctionAnalysisManager fam;
    CGSCCAnalysisManager cgam;
    ModuleAnalysisManager mam;
    PipelineTuningOptions tuning;
    tuning.LoopInterleaving = false;
    tuning.LoopUnrolling = false;
    PassBuilder pb(&machine, tuning);
    pb.registerModuleAnalyses(mam);
    pb.registerCGSCCAnalyses(cgam);
    pb.registerFunctionAnalyses(fam);
    pb.registerLoopAnalyses(lam);
    pb.crossRegisterProxies(lam, fam, cgam, mam);
    pb.buildPerModuleDefaultPipeline(OptimizationLevel::O3)
        .run(*m.parts[part].module, mam);
  });
  m.optimized = true;
}

bool isOptimized(const LlvmModule &m) { return m.optimized; }

bool verifyModule(const LlvmModule &m, std::string *why) {
  for (const LlvmModulePart &part : m.parts) {
    std::string err;
    raw_string_ostream es(err);
    if (llvm::verifyModule(*part.module, &es)) {
      if (why)
        *why = es.str();
      return false;
    }
  }
  return true;
}

std::string moduleText(const LlvmModule &m) {
  auto print = [](const Module &module) {
    std::string text;
    raw_string_ostream os(text);
    module.print(os, nullptr);
    return os.str();
  };
  if (m.parts.size() == 1)
    return print(*m.parts[0].module);
  // Several modules (in contexts of their own) print as one, linked in a
  // context of its own: text that opt and llc accept as it is.
  LLVMContext context;
  std::unique_ptr<Module> whole;
  for (const LlvmModulePart &part : m.parts) {
    SMDiagnostic err;
    std::unique_ptr<Module> copy =
        parseAssemblyString(print(*part.module), err, context);
    if (!copy)
      internalError(__FILE__, __LINE__,
                    "a module part does not parse: " + err.getMessage().str());
    if (!whole)
      whole = std::move(copy);
    else if (Linker::linkModules(*whole, std::move(copy)))
      internalError(__FILE__, __LINE__, "the module parts do not link");
  }
  return print(*whole);
}

std::string assemblyText(LlvmModule &m) {
  std::string text;
  MachineLoan machine;
  for (LlvmModulePart &part : m.parts) {
    SmallVector<char, 0> buf;
    raw_svector_ostream os(buf);
    legacy::PassManager pm;
    if (machine->addPassesToEmitFile(pm, os, nullptr,
                                     CodeGenFileType::AssemblyFile))
      internalError(__FILE__, __LINE__, "the host target cannot emit assembly");
    pm.run(*part.module);
    text.append(buf.begin(), buf.end());
  }
  return text;
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
  std::optional<LlvmModulePart> part = hostPart([](LLVMContext &context) {
    SMDiagnostic err;
    return parseAssemblyString(kWarmUpIR, err, context);
  });
  if (!part)
    return;
  LlvmModule m;
  m.parts.push_back(std::move(*part));
  optimizeModule(m);
  if (auto object = orc::SimpleCompiler(*MachineLoan())(*m.parts[0].module);
      !object)
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
#if defined(__linux__)
    // Lowest priority: the warm-up only uses a core nothing else wants, never
    // one a real compile's threads need (they compile two modules at once).
    (void)setpriority(PRIO_PROCESS, static_cast<id_t>(gettid()), 19);
#endif
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
