// The JIT against the reference evaluator: random networks of every shape the
// IR allows, and every construction on generated inputs. Decisions must agree
// exactly and logits within the tolerance each construction declares.
#include "JitAgreement.h"
#include "RandomNetworks.h"
#include "TestScale.h"
#include "TestSpecs.h"

#include "Pipeline.h"
#include "codegen/EmitLLVM.h"
#include "eval/Evaluate.h"
#include "jit/JitBackend.h"
#include "jit/JitLink.h"
#include "reference/Evaluator.h"
#include "support/Random.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <optional>

namespace handwire {
namespace {

using handwire::testing::expectSameLogits;
using handwire::testing::randomRnn;
using handwire::testing::randomTransformer;

// f(net, seed, layers) for a random Transformer of every shape: each layer
// count, 1 or 2 heads, with and without an MLP and a uniform (zero-query)
// head; seeds count up from `seed`.
template <typename F>
void forEveryShape(std::initializer_list<int> layerCounts, uint64_t seed, F f) {
  int64_t shape = 0;
  for (int layers : layerCounts)
    for (int heads : {1, 2})
      for (bool mlp : {false, true})
        for (bool zeroQuery : {false, true}) {
          SCOPED_TRACE(::testing::Message()
                       << layers << " layers, " << heads << " heads, mlp "
                       << mlp << ", uniform head " << zeroQuery);
          if (handwire::testing::runsCase(shape++))
            f(randomTransformer(seed, layers, heads, mlp, zeroQuery), seed,
              layers);
          ++seed;
        }
}

TEST(Jit, RandomTransformersOfEveryShape) {
  forEveryShape({1, 2, 3}, 1, [](const Network &net, uint64_t seed, int) {
    expectSameLogits(net, seed, 1e-4);
  });
}

TEST(Jit, RandomTransformersWithMoreTokensThanHalfTheKeys) {
  // 30 tokens, 40 positions: a blocked layer 0 scores the token part of its
  // keys with one dot product per key instead of a per-token table.
  for (uint64_t seed = 40; seed < 43; ++seed) {
    Network net = randomTransformer(seed, 2, 2, true, false);
    SplitMix64 rng(seed);
    net.tokenCount = 30;
    std::get<TransformerBody>(net.body).embed.token =
        handwire::testing::randomMatrix(rng, 30, net.width, 1);
    ASSERT_TRUE(planForward(net).layers[0].heads[0].blockedScores);
    expectSameLogits(net, seed, 1e-4);
  }
}

// One-layer fp32 models with sparse matrices get the sparse plan (the
// linear-width constructions at N = 65536 need it); deeper ones, and 16-bit
// plans, expand their matrices dense. Both must compute the same function.
TEST(Jit, RandomSparseTransformers) {
  forEveryShape(
      {1, 2}, 60, [](const Network &dense, uint64_t seed, int layers) {
        const Network net = handwire::testing::sparsified(dense, seed);
        ASSERT_TRUE(net.hasSparseTransformerWeights());
        EXPECT_EQ(planForward(net).sparse.has_value(), layers == 1);
        EXPECT_FALSE(planForward(net, StorageFormat::BF16).sparse);
        expectSameLogits(net, seed, 1e-4);
      });
}

// A key that is a scaled identity on a block of the residual stream is read
// as a slice of the position table, scaled while fillTables transposes it
// (nothing is copied at plan time); a 16-bit plan scales, then rounds, a
// copy. Either way the keys are exactly the product position K^T. A value
// block that holds only -0.0 in the position table is zero: no value table.
TEST(Jit, ScaledIdentityKeysAreScaledSlices) {
  Network net = randomTransformer(70, 1, 1, false, false);
  auto &t = std::get<TransformerBody>(net.body);
  Matrix &pos = t.embed.position.dense(), &tok = t.embed.token.dense();
  pos.leftCols(5).setZero(); // position code: columns [5, 8)
  pos.rightCols(4).setConstant(-0.0f);
  tok.middleCols(5, 3).setZero(); // tokens elsewhere
  Matrix key = Matrix::Zero(3, 12), value = Matrix::Zero(4, 12);
  key.middleCols(5, 3) = 2.5f * Matrix::Identity(3, 3);
  SplitMix64 rng(71);
  value.rightCols(4) = handwire::testing::randomMatrix(rng, 4, 4, 1);
  t.layers[0].heads[0].key = key;
  t.layers[0].heads[0].value = value;

  ForwardPlan plan = planForward(net);
  const HeadPlan &h = plan.layers[0].heads[0];
  EXPECT_TRUE(h.keyPos.isScaledView());
  EXPECT_FALSE(h.keyTok.present);
  EXPECT_TRUE(h.valueTok.present);
  EXPECT_FALSE(h.valuePos.present);
  plan.fillTables();
  const Matrix keys = pos * key.transpose();
  for (int64_t j = 0; j < pos.rows(); ++j)
    for (int64_t c = 0; c < 3; ++c)
      EXPECT_EQ(
          h.keyPosByDim[static_cast<size_t>((j / kKeyTile) * 3 * kKeyTile +
                                            c * kKeyTile + j % kKeyTile)],
          keys(j, c))
          << "position " << j << ", component " << c;
  EXPECT_FALSE(planForward(net, StorageFormat::BF16)
                   .layers[0]
                   .heads[0]
                   .keyPos.isScaledView());
  expectSameLogits(net, 70, 1e-4);
}

TEST(Jit, LargeTablesAreAlignedToHugePages) {
  HugeArray<float> big = allocateHugeFloats(int64_t(16) << 20); // 64 MiB
  HugeArray<float> small = allocateHugeFloats(100);
  ASSERT_TRUE(big && small);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(big.get()) % (2u << 20), 0u);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(small.get()) % 64, 0u);
  big[(int64_t(16) << 20) - 1] = 1.0f; // the whole range is usable
  small[99] = 1.0f;
}

TEST(Jit, HugeVectorsKeepTheirContentsAndAlignLargeBlocks) {
  HugeVector<int32_t> v;
  for (int32_t i = 0; i < (int32_t(3) << 20); ++i) // grows past 2 MiB
    v.push_back(i * 7);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(v.data()) % (2u << 20), 0u);
  for (int32_t i = 0; i < (int32_t(3) << 20); i += 4099)
    ASSERT_EQ(v[static_cast<size_t>(i)], i * 7);
  // From 256 KiB on, blocks are whole huge pages (one fault, not 64+).
  HugeVector<char> quarter(size_t(300) << 10, 'x');
  EXPECT_EQ(reinterpret_cast<uintptr_t>(quarter.data()) % (2u << 20), 0u);
  EXPECT_EQ(quarter.back(), 'x');
  HugeVector<float> small(10, 1.5f);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(small.data()) % 64, 0u);
  EXPECT_EQ(small[9], 1.5f);
  // Advising a matrix's memory keeps it zeroed and its shape.
  const Matrix m = zeroMatrix(1000, 700);
  EXPECT_EQ(m.rows(), 1000);
  EXPECT_EQ(m.cols(), 700);
  EXPECT_EQ(m.cwiseAbs().maxCoeff(), 0.0f);
}

// Index lookup at N = 256 with a wide (random) code, emitted and optimized:
// long loops.
std::unique_ptr<LlvmModule> optimizedWideIndexLookup() {
  Spec spec = handwire::testing::indexLookupSpec(256);
  spec.models[0].code = CodeFamily::Rademacher;
  DiagnosticEngine diags;
  auto net = buildNetwork(spec, spec.models[0], {}, diags);
  EXPECT_TRUE(net);
  if (!net)
    return nullptr;
  std::unique_ptr<LlvmModule> m = emitModule(planForward(*net), "t");
  optimizeModule(*m);
  return m;
}

TEST(Jit, VectorizedLoopsHaveNoVectorEpilogue) {
  // EmitLLVM.cpp turns LLVM's epilogue vectorization off (remainders run
  // scalar): string equality's two-layer model at N = 4096 had 858 lines of
  // optimized IR with it, 658 without.
  const std::unique_ptr<LlvmModule> m = optimizedWideIndexLookup();
  ASSERT_TRUE(m);
  const std::string ir = moduleText(*m);
  EXPECT_NE(ir.find("vector.body"), std::string::npos);
  EXPECT_EQ(ir.find("vec.epilog"), std::string::npos);
}

TEST(Jit, CompilesCorrectlyWhileTheWarmUpRuns) {
  // The warm-up compiles its own module on another thread; a compile started
  // beside it must not be disturbed (ASan/UBSan run this too). Only a
  // process's first warm-up runs: this test's process has had none.
  CodegenWarmUp warmUp;
  expectSameLogits(randomRnn(11), 11, 1e-4);
  CodegenWarmUp second; // does nothing
  expectSameLogits(randomRnn(12), 12, 1e-4);
}

TEST(Jit, TransformerLayersCompileAsModulesOfTheirOwn) {
  // One module per layer besides the forward function's, which calls them
  // (the modules are optimized and compiled on two threads); a one-layer
  // model stays one module. The logits are the reference's either way.
  auto count = [](const std::string &text, const std::string &what) {
    size_t n = 0;
    for (size_t at = text.find(what); at != std::string::npos;
         at = text.find(what, at + 1))
      ++n;
    return n;
  };
  for (int layers : {1, 3}) {
    const Network net = randomTransformer(90 + layers, layers, 2, true, false);
    std::unique_ptr<LlvmModule> m = emitModule(planForward(net), net.name);
    // The text links the modules into one (what opt and llc accept).
    const std::string ir = moduleText(*m);
    EXPECT_EQ(count(ir, "; ModuleID = "), 1u) << layers << " layers";
    EXPECT_EQ(count(ir, "define void @hw_forward"),
              layers > 1 ? size_t(layers) + 1 : 1);
    for (int l = 0; l < layers && layers > 1; ++l) {
      const std::string fn = "@hw_forward.layer" + std::to_string(l) + "(";
      EXPECT_EQ(count(ir, "define void " + fn), 1u) << fn;
      EXPECT_EQ(count(ir, "call void " + fn), 1u) << fn;
      EXPECT_EQ(count(ir, "declare void " + fn), 0u) << fn;
    }
    optimizeModule(*m);
    std::string why;
    EXPECT_TRUE(verifyModule(*m, &why)) << why;
    expectSameLogits(net, 91, 1e-4);
  }
}

TEST(Jit, RandomElmanRnns) {
  for (uint64_t seed = 1; seed <= 5; ++seed)
    expectSameLogits(randomRnn(seed), seed, 1e-4);
}

using Case = handwire::testing::ConstructionCase;
using handwire::testing::everyConstruction;
using handwire::testing::taskSpec;

class JitConstructions : public ::testing::TestWithParam<int> {};

TEST_P(JitConstructions, AgreeWithReferenceAndAreExactAtN1024) {
  Case c = everyConstruction(1024)[GetParam()];
  DiagnosticEngine diags;
  auto net = buildNetwork(c.spec, c.spec.models[c.model], {}, diags);
  ASSERT_TRUE(net);
  JitBackend jit(*net);
  ReferenceBackend<double> ref(*net);
  // Reference and JIT side by side on uniform and adversarial inputs...
  // (50 for nearest neighbour, whose double reference takes ~0.3 s a pass).
  const std::string name = c.name;
  const bool nearest = name.rfind("NearestNeighbour", 0) == 0;
  EvalOptions both;
  both.samples = handwire::testing::samples(nearest ? 50 : 200);
  EvalResult r = evaluate(c.spec.task, *net, {&jit, &ref}, both);
  EXPECT_EQ(r.disagreements, 0);
  EXPECT_LE(r.maxLogitDifference, net->certificate.logitTolerance);
  EXPECT_EQ(r.backends[0].mismatches, 0);
  EXPECT_EQ(r.backends[1].mismatches, 0);
  // ...then the JIT alone on 10,000. The two-layer models attend from every
  // row (O(M^2 k) per input, ~35 ms at N = 1024), the linear-width ones
  // carry n-wide values and the nearest-neighbour RNN steps 31k units 2N
  // times, so CI gives them 1,000 and HANDWIRE_LONG_TESTS=1 the full 10,000.
  EvalOptions many;
  const bool heavy = (name.find("2L") != std::string::npos ||
                      name.find("1L") != std::string::npos || nearest) &&
                     !std::getenv("HANDWIRE_LONG_TESTS");
  many.samples = handwire::testing::samples(heavy ? 1000 : 10000);
  many.seed = 77;
  EvalResult m = evaluate(c.spec.task, *net, {&jit}, many);
  EXPECT_EQ(m.backends[0].mismatches, 0);
  EXPECT_GE(m.backends[0].minMargin, net->certificate.readoutMargin - 1e-3);
}

INSTANTIATE_TEST_SUITE_P(
    All, JitConstructions,
    ::testing::Range(0, static_cast<int>(everyConstruction(2).size())),
    [](const auto &info) {
      return std::string(everyConstruction(2)[info.param].name);
    });

// The emitted code keeps to the plan's scratch layout: compiled with a guard
// gap before, between and after its regions (ScratchLayout::withGuards), it
// leaves the canaries in every gap untouched (a region the emitter sizes
// otherwise than the layout, or places elsewhere, writes into one) and
// computes the same logits, bit for bit, as JitBackend. Every construction,
// in fp32 and 16 bits, at several lengths.
TEST(Jit, GeneratedCodeStaysInsideTheScratchLayout) {
  constexpr int64_t kGuard = 64;
  constexpr uint32_t kCanary = 0x7fa5a5a5; // a NaN: it would show if read
  const std::optional<StorageFormat> formats[] = {
      std::nullopt, StorageFormat::F16, StorageFormat::BF16};
  int64_t cases = 0; // (construction, N) pairs so far
  for (int64_t N : {16, 100})
    for (const Case &c : everyConstruction(N)) {
      ++cases;
      for (int64_t format = 0; format < 3; ++format) {
        // Under the sanitizers, one format per pair, in turn.
        if (!handwire::testing::runsCase(cases + format))
          continue;
        const std::optional<StorageFormat> &f = formats[format];
        SCOPED_TRACE(::testing::Message()
                     << c.name << " at N = " << N << ", "
                     << (f ? storageFormatName(*f) : "fp32"));
        DiagnosticEngine diags;
        auto net = buildNetwork(c.spec, c.spec.models[c.model], {}, diags);
        ASSERT_TRUE(net);
        const JitBackend jit(*net, f);
        ForwardPlan plan = planForward(*net, f);
        plan.fillTables();
        plan.scratch = plan.scratch.withGuards(kGuard);
        std::unique_ptr<LlvmModule> m = emitModule(plan, "guarded");
        optimizeModule(*m);
        const auto compiled = linkModule(std::move(m));
        SplitMix64 rng(static_cast<uint64_t>(N));
        for (int64_t M : {int64_t(1), int64_t(2), N / 2 + 1, N}) {
          std::vector<int32_t> tokens(static_cast<size_t>(M));
          for (int32_t &t : tokens)
            t = static_cast<int32_t>(rng.below(net->tokenCount));
          std::vector<uint32_t> scratch(
              static_cast<size_t>(plan.scratchFloats(M)), kCanary);
          std::vector<float> got(static_cast<size_t>(net->classCount));
          compiled->function()(tokens.data(), M, nullptr,
                               reinterpret_cast<float *>(scratch.data()),
                               got.data());
          int64_t at = 0;
          for (const ScratchLayout::Region &r : plan.scratch.regions) {
            for (int64_t i = at;
                 r.id == ScratchRegion::Guard && i < at + kGuard; ++i)
              ASSERT_EQ(scratch[static_cast<size_t>(i)], kCanary)
                  << "length " << M << ": a guard written at float " << i;
            at += r.size.at(M);
          }
          std::vector<double> want(got.size());
          jit.logits(tokens.data(), M, want.data());
          for (size_t k = 0; k < got.size(); ++k)
            EXPECT_EQ(got[k], static_cast<float>(want[k]))
                << "length " << M << ", class " << k;
        }
      }
    }
}

// A driver that runs plan, emit and optimize itself hands the results to
// JitBackend, which links them (filling the plan's tables meanwhile): the
// same forward pass, bit for bit, whether the module comes optimized or not.
TEST(Jit, BackendFromStagesRunByTheCaller) {
  const Network net = randomTransformer(80, 2, 2, true, false);
  const JitBackend whole(net);
  for (bool optimized : {false, true}) {
    ForwardPlan plan = planForward(net);
    ASSERT_GT(plan.tableBytes(), 0); // tables to fill during the link
    std::unique_ptr<LlvmModule> m = emitModule(plan, net.name);
    std::string why;
    EXPECT_TRUE(verifyModule(*m, &why)) << why;
    if (optimized) {
      optimizeModule(*m);
      EXPECT_TRUE(verifyModule(*m, &why)) << why;
    }
    CompileTimes before;
    before.emitMs = 1;
    before.optimizeMs = optimized ? 2 : 0;
    const JitBackend staged(net, std::move(plan), std::move(m), 0.5, before);
    // The caller's stage times are kept (JitBackend times only its own).
    EXPECT_EQ(staged.compileTimes().emitMs, 1);
    if (optimized) {
      EXPECT_EQ(staged.compileTimes().optimizeMs, 2);
    }
    SplitMix64 rng(81);
    for (int trial = 0; trial < 20; ++trial) {
      const int64_t n =
          1 + static_cast<int64_t>(rng.below(net.maxSequenceLength));
      std::vector<int32_t> tokens(static_cast<size_t>(n));
      for (int32_t &t : tokens)
        t = static_cast<int32_t>(rng.below(net.tokenCount));
      std::vector<double> a(static_cast<size_t>(net.classCount)), b(a.size());
      whole.logits(tokens.data(), n, a.data());
      staged.logits(tokens.data(), n, b.data());
      EXPECT_EQ(a, b) << "length " << n;
    }
  }
}

TEST(Jit, IndexLookupTransformerAtN65536) {
  Spec spec = handwire::testing::indexLookupSpec(65536);
  DiagnosticEngine diags;
  auto net = buildNetwork(spec, spec.models[0], {}, diags);
  ASSERT_TRUE(net);
  JitBackend jit(*net);
  ReferenceBackend<float> ref(*net);
  EvalOptions o;
  o.samples = handwire::testing::samples(16);
  EvalResult r = evaluate(spec.task, *net, {&jit, &ref}, o);
  EXPECT_EQ(r.disagreements, 0);
  EXPECT_LE(r.maxLogitDifference, net->certificate.logitTolerance);
  EvalOptions many;
  many.samples = handwire::testing::samples(2000);
  EvalResult m = evaluate(spec.task, *net, {&jit}, many);
  EXPECT_EQ(m.backends[0].mismatches, 0);
}

// The linear-width one-layer models at N = 65536: sparse, their weights are
// a few MB (dense, 384 GiB); the JIT plans them sparse.
TEST(Jit, OneLayerPairModelsAtN65536) {
  for (TaskKind kind : {TaskKind::StringEquality, TaskKind::Disjointness}) {
    Spec spec = taskSpec(kind, 65536, 1, Architecture::Transformer);
    DiagnosticEngine diags;
    auto net = buildNetwork(spec, spec.models[0], {}, diags);
    ASSERT_TRUE(net);
    JitBackend jit(*net);
    ASSERT_TRUE(jit.plan().sparse);
    ReferenceBackend<float> ref(*net);
    EvalOptions o;
    o.samples = handwire::testing::samples(40);
    EvalResult r = evaluate(spec.task, *net, {&jit, &ref}, o);
    EXPECT_EQ(r.disagreements, 0);
    EXPECT_LE(r.maxLogitDifference, net->certificate.logitTolerance);
    EXPECT_EQ(r.backends[1].mismatches, 0);
    EvalOptions many;
    many.samples = handwire::testing::samples(1000);
    many.seed = 5;
    EvalResult m = evaluate(spec.task, *net, {&jit}, many);
    EXPECT_EQ(m.backends[0].mismatches, 0);
    EXPECT_GE(m.backends[0].minMargin, net->certificate.readoutMargin - 1e-3);
  }
}

TEST(Jit, BoundedDyckRnnAtN65536) {
  Spec spec = taskSpec(TaskKind::BoundedDyck, 65536);
  DiagnosticEngine diags;
  auto net = buildNetwork(spec, spec.models[0], {}, diags);
  ASSERT_TRUE(net);
  JitBackend jit(*net);
  ReferenceBackend<double> ref(*net);
  EvalOptions o;
  o.samples = 40;
  EvalResult r = evaluate(spec.task, *net, {&jit, &ref}, o);
  EXPECT_EQ(r.disagreements, 0);
  EXPECT_EQ(r.maxLogitDifference, 0); // integer arithmetic on both sides
  EXPECT_EQ(r.backends[0].mismatches, 0);
}

TEST(Jit, LayersThatKeepEveryRowScoreQueryBlocks) {
  // Two-layer equality keeps every row at layer 0: blocked scores over a
  // tile-padded table; the four-layer Dyck model's lookup (layer 3) too,
  // from per-input keys, but not its uniform heads (no scores) nor its last
  // layer (one row). A one-layer model (one query row) and a 16-bit plan
  // (which follows the reference's rounding points row by row) do not block.
  auto plans = [](const Spec &spec, std::optional<StorageFormat> format) {
    DiagnosticEngine diags;
    auto net = buildNetwork(spec, spec.models[0], {}, diags);
    EXPECT_TRUE(net);
    return std::make_pair(planForward(*net, format), net->maxSequenceLength);
  };
  // (A random code: with a linear one, layer 0 is a Walsh head instead.)
  Spec equality = handwire::testing::taskSpec(TaskKind::StringEquality, 100, 2,
                                              Architecture::Transformer);
  equality.models[0].code = CodeFamily::Rademacher;
  const auto [eq, M] = plans(equality, std::nullopt);
  const HeadPlan &h = eq.layers[0].heads[0];
  EXPECT_TRUE(h.blockedScores);
  EXPECT_EQ(h.paddedKeys % kKeyTile, 0);
  EXPECT_GE(h.paddedKeys, M);
  EXPECT_LT(h.paddedKeys, M + kKeyTile);
  EXPECT_FALSE(plans(handwire::testing::taskSpec(TaskKind::StringEquality, 100,
                                                 2, Architecture::Transformer),
                     StorageFormat::BF16)
                   .first.layers[0]
                   .heads[0]
                   .blockedScores);
  EXPECT_FALSE(plans(handwire::testing::indexLookupSpec(256), std::nullopt)
                   .first.layers[0]
                   .heads[0]
                   .blockedScores);
  Spec dyck = handwire::testing::taskSpec(TaskKind::BoundedDyck, 100, 4,
                                          Architecture::Transformer);
  dyck.task.brackets = 2;
  dyck.task.depth = 2;
  const ForwardPlan d = plans(dyck, std::nullopt).first;
  ASSERT_EQ(d.layers.size(), 4u);
  EXPECT_FALSE(d.layers[0].heads[0].blockedScores); // uniform
  EXPECT_TRUE(d.layers[2].heads[0].blockedScores);
  EXPECT_EQ(d.layers[2].heads[0].paddedKeys, 112);  // 101 tokens
  EXPECT_FALSE(d.layers[3].heads[0].blockedScores); // the last layer
}

TEST(Jit, GeneratedCodeIsVectorizedForTheHost) {
  const std::unique_ptr<LlvmModule> m = optimizedWideIndexLookup();
  ASSERT_TRUE(m);
  EXPECT_NE(moduleText(*m).find("<16 x float>"),
            std::string::npos); // vector IR (any x86-64 width)
  __builtin_cpu_init();
  if (!__builtin_cpu_supports("avx512f"))
    GTEST_SKIP() << "host has no AVX-512; vector IR checked, zmm not expected";
  EXPECT_NE(assemblyText(*m).find("zmm"), std::string::npos);
}

} // namespace
} // namespace handwire
