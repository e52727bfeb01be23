// JIT vs reference evaluator, per construction and N: inputs per second,
// GFLOP/s (multiply-adds x 2, from the plan's count), and JIT compile time.
//   build/bench/handwire_bench --benchmark_filter=IndexLookup
// Machines here are noisy: compare ratios within one run.
#include "PointsAsFeatures.h"
#include "TestSpecs.h"

#include "Pipeline.h"
#include "jit/JitBackend.h"
#include "reference/Evaluator.h"
#include "tasks/Generators.h"

#include <benchmark/benchmark.h>

#include <map>
#include <memory>

namespace handwire {
namespace {

// Networks are built once per (model, N) and shared by the benchmarks.
const Network &indexLookup(int model, int64_t N) {
  static std::map<std::pair<int, int64_t>, std::unique_ptr<Network>> cache;
  auto &slot = cache[{model, N}];
  if (!slot) {
    Spec spec = testing::indexLookupSpec(N);
    DiagnosticEngine diags;
    slot = std::make_unique<Network>(
        *buildNetwork(spec, spec.models[model], {}, diags));
  }
  return *slot;
}

// String equality's two-layer Transformer: layer 0 keeps all M = 2N + 1
// rows; with its linear code (code = auto) its head is a Walsh head, O(M
// log M) per pass in the JIT, and O(M^2 k) in the reference.
const Network &equalityTwoLayer(int64_t N) {
  static std::map<int64_t, std::unique_ptr<Network>> cache;
  auto &slot = cache[N];
  if (!slot) {
    Spec spec = testing::taskSpec(TaskKind::StringEquality, N, 2,
                                  Architecture::Transformer);
    DiagnosticEngine diags;
    slot = std::make_unique<Network>(
        *buildNetwork(spec, spec.models[0], {}, diags));
  }
  return *slot;
}

// A construction of testing::everyConstruction by name, and its spec; the
// two-layer Transformers with the shipped specs' linear code (the test case
// of nearest neighbour draws a Rademacher code, which keeps it dense).
struct Built {
  Spec spec;
  std::unique_ptr<Network> net;
};
const Built &construction(const std::string &name, int64_t N) {
  static std::map<std::pair<std::string, int64_t>, Built> cache;
  Built &slot = cache[{name, N}];
  if (!slot.net)
    for (const auto &c : testing::everyConstruction(N))
      if (name == c.name) {
        DiagnosticEngine diags;
        slot.spec = c.spec;
        if (name.find("2L") != std::string::npos ||
            name == "NearestNeighbourTransformer")
          slot.spec.models[c.model].code = CodeFamily::ExtendedBch;
        if (auto net =
                buildNetwork(slot.spec, slot.spec.models[c.model], {}, diags))
          slot.net = std::make_unique<Network>(std::move(*net));
      }
  return slot;
}

// Nearest neighbour as specs/nearest_neighbour.task has it (d = 10, L = 4),
// and its RNN (a clock, write buffers and memories: 30 N units).
Spec nearestNeighbourSpec(int64_t N) {
  Spec spec = testing::taskSpec(TaskKind::NearestNeighbour, N);
  spec.task.dimension = 10;
  spec.task.labels = 4;
  spec.task.margin = 0.2;
  return spec;
}
const Network &nearestNeighbourRnn(int64_t N) {
  static std::map<int64_t, std::unique_ptr<Network>> cache;
  auto &slot = cache[N];
  if (!slot) {
    Spec spec = nearestNeighbourSpec(N);
    DiagnosticEngine diags;
    slot = std::make_unique<Network>(
        *buildNetwork(spec, spec.models[0], {}, diags));
  }
  return *slot;
}

// Adversarial inputs: full length N, the worst case for time too.
std::vector<Example> inputs(const Spec &spec, int count) {
  ExampleGenerator gen(spec.task, InputDistribution::Adversarial, 1);
  std::vector<Example> out(static_cast<size_t>(count));
  for (int i = 0; i < count; ++i)
    gen.generate(static_cast<uint64_t>(i), out[static_cast<size_t>(i)]);
  return out;
}

// `features`: per example, its continuous inputs (none: token-only).
void runOn(benchmark::State &state, const Backend &b, const Network &net,
           const std::vector<Example> &xs, double flopsPerInput,
           const std::vector<std::vector<float>> *features = nullptr) {
  std::vector<double> logits(static_cast<size_t>(net.classCount));
  size_t i = 0;
  for (auto _ : state) {
    const size_t k = i++ % xs.size();
    const Example &ex = xs[k];
    b.logits(ex.tokens.data(), static_cast<int64_t>(ex.tokens.size()),
             features ? (*features)[k].data() : nullptr, logits.data());
    benchmark::DoNotOptimize(logits.data());
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["GFLOP/s"] = benchmark::Counter(
      2 * flopsPerInput * state.iterations(), benchmark::Counter::kIsRate,
      benchmark::Counter::kIs1000);
}
void run(benchmark::State &state, const Backend &b, const Network &net,
         int64_t N, double flopsPerInput,
         TaskKind task = TaskKind::IndexLookup) {
  runOn(state, b, net,
        inputs(task == TaskKind::IndexLookup ? testing::indexLookupSpec(N)
               : task == TaskKind::NearestNeighbour
                   ? nearestNeighbourSpec(N)
                   : testing::taskSpec(task, N),
               8),
        flopsPerInput);
}

void BM_IndexLookupTransformer_Jit(benchmark::State &state) {
  const Network &net = indexLookup(0, state.range(0));
  JitBackend jit(net);
  run(state, jit, net, state.range(0), jit.plan().flops(state.range(0) + 1));
}
// Multiply-adds of the reference's index-lookup pass: dense keys and values
// of every row, then one query row.
double referenceLookupFlops(const Network &net, int64_t n) {
  const double M = static_cast<double>(n + 1),
               D = static_cast<double>(net.width);
  const auto &h = net.transformer().layers[0].heads[0];
  return M * D * static_cast<double>(h.key.rows() + h.value.rows()) +
         M * static_cast<double>(h.key.rows() + h.value.rows());
}
void BM_IndexLookupTransformer_Reference(benchmark::State &state) {
  const Network &net = indexLookup(0, state.range(0));
  ReferenceBackend<float> ref(net);
  run(state, ref, net, state.range(0),
      referenceLookupFlops(net, state.range(0)));
}
// 16-bit forward passes (index lookup's Transformer is exact in both
// formats): the JIT's native one and the exactly emulated reference.
void BM_IndexLookupTransformer_JitF16(benchmark::State &state) {
  const Network &net = indexLookup(0, state.range(0));
  JitBackend jit(net, StorageFormat::F16);
  run(state, jit, net, state.range(0), jit.plan().flops(state.range(0) + 1));
}
void BM_IndexLookupTransformer_JitBf16(benchmark::State &state) {
  const Network &net = indexLookup(0, state.range(0));
  JitBackend jit(net, StorageFormat::BF16);
  run(state, jit, net, state.range(0), jit.plan().flops(state.range(0) + 1));
}
void BM_IndexLookupTransformer_ReferenceBf16(benchmark::State &state) {
  const Network &net = indexLookup(0, state.range(0));
  LowPrecisionBackend ref(net, StorageFormat::BF16);
  run(state, ref, net, state.range(0),
      referenceLookupFlops(net, state.range(0)));
}
void BM_IndexLookupRnn_Jit(benchmark::State &state) {
  const Network &net = indexLookup(1, state.range(0));
  JitBackend jit(net);
  run(state, jit, net, state.range(0), jit.plan().flops(state.range(0) + 1));
}
void BM_IndexLookupRnn_Reference(benchmark::State &state) {
  const Network &net = indexLookup(1, state.range(0));
  ReferenceBackend<float> ref(net);
  run(state, ref, net, state.range(0),
      JitBackend(net).plan().flops(state.range(0) + 1));
}
// The event-driven recurrence (EventPlan) against the dense one (the same
// plan without it: every step O(H), H = 30 N) and the reference.
void BM_NearestNeighbourRnn_Jit(benchmark::State &state) {
  const Network &net = nearestNeighbourRnn(state.range(0));
  JitBackend jit(net);
  run(state, jit, net, state.range(0), jit.plan().flops(2 * state.range(0) + 2),
      TaskKind::NearestNeighbour);
}
void BM_NearestNeighbourRnn_JitDense(benchmark::State &state) {
  const Network &net = nearestNeighbourRnn(state.range(0));
  ForwardPlan plan = planForward(net);
  plan.events.reset();
  std::unique_ptr<LlvmModule> module = emitModule(plan, kForwardSymbol);
  JitBackend jit(net, std::move(plan), std::move(module), 0, CompileTimes{});
  run(state, jit, net, state.range(0), jit.plan().flops(2 * state.range(0) + 2),
      TaskKind::NearestNeighbour);
}
void BM_NearestNeighbourRnn_Reference(benchmark::State &state) {
  const Network &net = nearestNeighbourRnn(state.range(0));
  ReferenceBackend<float> ref(net);
  ForwardPlan dense = planForward(net);
  dense.events.reset();
  run(state, ref, net, state.range(0), dense.flops(2 * state.range(0) + 2),
      TaskKind::NearestNeighbour);
}
// GFLOP/s of both from the JIT plan's count (the reference does O(M^2 k)).
void BM_EqualityTwoLayer_Jit(benchmark::State &state) {
  const Network &net = equalityTwoLayer(state.range(0));
  JitBackend jit(net);
  run(state, jit, net, state.range(0), jit.plan().flops(2 * state.range(0) + 1),
      TaskKind::StringEquality);
}
void BM_EqualityTwoLayer_Reference(benchmark::State &state) {
  const Network &net = equalityTwoLayer(state.range(0));
  ReferenceBackend<float> ref(net);
  run(state, ref, net, state.range(0),
      JitBackend(net).plan().flops(2 * state.range(0) + 1),
      TaskKind::StringEquality);
}
// The two-layer nearest-neighbour Transformer: its layer-0 head is a Walsh
// head too (a previous-token head: two kernels per block).
void BM_NearestNeighbourTwoLayer_Jit(benchmark::State &state) {
  const Built &b = construction("NearestNeighbourTransformer", state.range(0));
  JitBackend jit(*b.net);
  runOn(state, jit, *b.net, inputs(b.spec, 8),
        jit.plan().flops(b.net->maxSequenceLength));
}
// The same model with its points as continuous inputs (X read from F = d
// numbers per position: tests/unit/PointsAsFeatures.h), on the same inputs.
void BM_NearestNeighbourTwoLayer_JitFeatures(benchmark::State &state) {
  const Built &b = construction("NearestNeighbourTransformer", state.range(0));
  const Network copy = testing::pointsAsFeatures(*b.net);
  JitBackend jit(copy);
  const std::vector<Example> xs = inputs(b.spec, 8);
  std::vector<std::vector<float>> features;
  for (const Example &ex : xs)
    features.push_back(testing::pointsOf(*b.net, ex.tokens));
  runOn(state, jit, copy, xs, jit.plan().flops(b.net->maxSequenceLength),
        &features);
}
void BM_NearestNeighbourTwoLayer_Reference(benchmark::State &state) {
  const Built &b = construction("NearestNeighbourTransformer", state.range(0));
  ReferenceBackend<float> ref(*b.net);
  runOn(state, ref, *b.net, inputs(b.spec, 8),
        JitBackend(*b.net).plan().flops(b.net->maxSequenceLength));
}
// Plan and compile of the two-layer models (Walsh heads: the plan finds the
// code's basis and the decomposition's tasks).
void BM_Plan_TwoLayer(benchmark::State &state, const char *name) {
  const Built &b = construction(name, state.range(0));
  for (auto _ : state) {
    ForwardPlan plan = planForward(*b.net);
    benchmark::DoNotOptimize(&plan);
  }
}
void BM_JitCompile_TwoLayer(benchmark::State &state, const char *name) {
  const Built &b = construction(name, state.range(0));
  for (auto _ : state) {
    JitBackend jit(*b.net);
    benchmark::DoNotOptimize(&jit);
  }
}

// The machine's peaks, measured, for the kernels' GFLOP/s and GB/s to be
// read against: fp32 fused multiply-adds from 8 independent 16-lane chains
// (GFLOP/s counts 2 per lane), and a streaming read of 256 MiB (GB/s).
using Float16 = float __attribute__((vector_size(64)));
void BM_Peak_Fp32Fma(benchmark::State &state) {
  constexpr int kChains = 8;
  constexpr int64_t kSteps = 1 << 16;
  Float16 acc[kChains], x, y;
  for (int i = 0; i < 16; ++i) {
    x[i] = 1.0f + 1e-7f * float(i);
    y[i] = 1e-7f;
  }
  for (Float16 &a : acc)
    a = y;
  for (auto _ : state) {
    for (int64_t s = 0; s < kSteps; ++s)
      for (Float16 &a : acc)
        a = a * x + y;
    benchmark::DoNotOptimize(acc);
  }
  state.counters["GFLOP/s"] = benchmark::Counter(
      2.0 * 16 * kChains * kSteps * state.iterations(),
      benchmark::Counter::kIsRate, benchmark::Counter::kIs1000);
}
void BM_Peak_ReadBandwidth(benchmark::State &state) {
  const int64_t n = int64_t(64) << 20; // floats: 256 MiB
  std::vector<float> buf(static_cast<size_t>(n), 1.0f);
  for (auto _ : state) {
    Float16 sum[4] = {};
    const Float16 *v = reinterpret_cast<const Float16 *>(buf.data());
    for (int64_t i = 0; i < n / 16; i += 4)
      for (int k = 0; k < 4; ++k)
        sum[k] += v[i + k];
    benchmark::DoNotOptimize(sum);
  }
  state.counters["GB/s"] = benchmark::Counter(
      double(n) * sizeof(float) * double(state.iterations()),
      benchmark::Counter::kIsRate, benchmark::Counter::kIs1000);
}

void BM_JitCompile_IndexLookupTransformer(benchmark::State &state) {
  const Network &net = indexLookup(0, state.range(0));
  for (auto _ : state) {
    JitBackend jit(net);
    benchmark::DoNotOptimize(&jit);
  }
}
// The plan alone, and its tables (no LLVM): what JitCompile spends outside
// LLVM.
void BM_Plan_IndexLookupTransformer(benchmark::State &state) {
  const Network &net = indexLookup(0, state.range(0));
  for (auto _ : state) {
    ForwardPlan plan = planForward(net);
    benchmark::DoNotOptimize(&plan);
  }
}
void BM_PlanTables_IndexLookupTransformer(benchmark::State &state) {
  const Network &net = indexLookup(0, state.range(0));
  for (auto _ : state) {
    ForwardPlan plan = planForward(net);
    plan.fillTables();
    benchmark::DoNotOptimize(&plan);
  }
}

BENCHMARK(BM_IndexLookupTransformer_Jit)
    ->Arg(1024)
    ->Arg(16384)
    ->Arg(65536)
    ->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_IndexLookupTransformer_Reference)
    ->Arg(1024)
    ->Arg(16384)
    ->Arg(65536)
    ->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_IndexLookupTransformer_JitF16)
    ->Arg(1024)
    ->Arg(16384)
    ->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_IndexLookupTransformer_JitBf16)
    ->Arg(1024)
    ->Arg(16384)
    ->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_IndexLookupTransformer_ReferenceBf16)
    ->Arg(1024)
    ->Arg(16384)
    ->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_IndexLookupRnn_Jit)->Arg(1024)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_IndexLookupRnn_Reference)
    ->Arg(1024)
    ->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_NearestNeighbourRnn_Jit)
    ->Arg(1024)
    ->Arg(16384)
    ->Arg(65536)
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_NearestNeighbourRnn_JitDense)
    ->Arg(1024)
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_NearestNeighbourRnn_Reference)
    ->Arg(1024)
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_EqualityTwoLayer_Jit)
    ->Arg(1024)
    ->Arg(4096)
    ->Arg(65536)
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_NearestNeighbourTwoLayer_Jit)
    ->Arg(1024)
    ->Arg(4096)
    ->Arg(65536)
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_NearestNeighbourTwoLayer_JitFeatures)
    ->Arg(1024)
    ->Arg(4096)
    ->Arg(65536)
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_NearestNeighbourTwoLayer_Reference)
    ->Arg(1024)
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_Plan_TwoLayer, Equality, "EqualityTransformer2L")
    ->Arg(4096)
    ->Arg(65536)
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_Plan_TwoLayer, NearestNeighbour,
                  "NearestNeighbourTransformer")
    ->Arg(4096)
    ->Arg(65536)
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_JitCompile_TwoLayer, Equality, "EqualityTransformer2L")
    ->Arg(1024)
    ->Arg(4096)
    ->Arg(65536)
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_JitCompile_TwoLayer, NearestNeighbour,
                  "NearestNeighbourTransformer")
    ->Arg(1024)
    ->Arg(4096)
    ->Arg(65536)
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Peak_Fp32Fma)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Peak_ReadBandwidth)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_EqualityTwoLayer_Reference)
    ->Arg(1024)
    ->Arg(4096)
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Plan_IndexLookupTransformer)
    ->Arg(65536)
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_PlanTables_IndexLookupTransformer)
    ->Arg(65536)
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_JitCompile_IndexLookupTransformer)
    ->Arg(1024)
    ->Arg(65536)
    ->Unit(benchmark::kMillisecond);

} // namespace
} // namespace handwire

BENCHMARK_MAIN();
