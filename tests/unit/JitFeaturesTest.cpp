// Continuous inputs in the JIT (Embedding::feature, ForwardPlan.h): random
// Transformers with a random feature matrix against the reference (fp32) and
// the emulated 16-bit pass, null features against explicit zeros, the
// emitted code inside its scratch layout, and the nearest-neighbour model
// with its points moved from the token table to the continuous inputs: its
// layer 0 stays a Walsh head and its logits stay the original's.
#include "JitAgreement.h"
#include "PointsAsFeatures.h"
#include "RandomNetworks.h"
#include "TestBuild.h"
#include "TestScale.h"

#include "Pipeline.h"
#include "codegen/EmitLLVM.h"
#include "eval/Evaluate.h"
#include "jit/JitBackend.h"
#include "jit/JitLink.h"
#include "reference/Evaluator.h"
#include "spec/Vocabulary.h"
#include "support/Random.h"
#include "tasks/Generators.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <optional>

namespace handwire {
namespace {

using handwire::testing::expectSameAsEmulated;
using handwire::testing::expectSameLogits;
using handwire::testing::pointsAsFeatures;
using handwire::testing::pointsOf;
using handwire::testing::RandomInput;
using handwire::testing::randomInput;
using handwire::testing::randomMatrix;
using handwire::testing::randomTransformer;

constexpr int64_t kF = 3;           // continuous inputs per position
constexpr double kFeatureNorm = 1;  // their promised norm bound
constexpr double kTolerance = 1e-4; // as JitTest's random networks

// Which residual columns the feature matrix writes: all 12, or only the
// first 5, which randomTransformer's keys never read (their key parts are
// zero, their value parts not).
enum class Writes { AllColumns, ValueOnlyColumns };

// Entries of at most 1/2: a residual column gains at most sqrt(kF) / 2 <
// 1, as much as a token or position entry adds (random networks amplify
// fp32 rounding with the size of x; the tolerance is the token-only tests').
Network withFeatures(Network net, uint64_t seed, Writes writes) {
  SplitMix64 rng(seed ^ 0x5eedf00d);
  auto &t = std::get<TransformerBody>(net.body);
  Matrix feature = randomMatrix(rng, net.width, kF, 0.5f);
  if (writes == Writes::ValueOnlyColumns)
    feature.bottomRows(net.width - 5).setZero();
  t.embed.feature = feature;
  t.embed.featureNorm = kFeatureNorm;
  return net;
}

// n positions' random continuous inputs, each of norm <= kFeatureNorm.
std::vector<float> randomFeatures(SplitMix64 &rng, int64_t n) {
  std::vector<float> f(static_cast<size_t>(n * kF));
  for (int64_t i = 0; i < n; ++i) {
    double norm = 0;
    for (int64_t c = 0; c < kF; ++c) {
      float &x = f[static_cast<size_t>(i * kF + c)];
      x = static_cast<float>(rng.below(1 << 20)) / (1 << 20) - 0.5f;
      norm += double(x) * x;
    }
    // |x| <= 1/2, so ||f_i|| <= sqrt(kF) / 2 < kFeatureNorm.
    EXPECT_LE(std::sqrt(norm), kFeatureNorm);
  }
  return f;
}

std::vector<int32_t> randomTokens(SplitMix64 &rng, const Network &net,
                                  int64_t n) {
  std::vector<int32_t> tokens(static_cast<size_t>(n));
  for (auto &t : tokens)
    t = static_cast<int32_t>(rng.below(net.tokenCount));
  return tokens;
}

// f(net, seed) for random Transformers of 1-3 layers, 1 or 2 heads, with
// and without an MLP and a uniform head, both feature layouts.
template <typename F> void forEveryShapeWithFeatures(F f) {
  uint64_t seed = 100;
  for (Writes writes : {Writes::AllColumns, Writes::ValueOnlyColumns})
    for (int layers : {1, 2, 3})
      for (int heads : {1, 2})
        for (bool mlp : {false, true})
          for (bool zeroQuery : {false, true}) {
            SCOPED_TRACE(::testing::Message()
                         << layers << " layers, " << heads << " heads, mlp "
                         << mlp << ", uniform head " << zeroQuery
                         << ", features write "
                         << (writes == Writes::AllColumns ? "every column"
                                                          : "value columns"));
            if (handwire::testing::runsCase(static_cast<int64_t>(seed - 100)))
              f(withFeatures(
                    randomTransformer(seed, layers, heads, mlp, zeroQuery),
                    seed, writes),
                seed, writes);
            ++seed;
          }
}

TEST(JitFeatures, RandomTransformersMatchTheReference) {
  forEveryShapeWithFeatures([](const Network &net, uint64_t seed,
                               Writes writes) {
    // The plan folds the feature parts of layer 0's keys and values.
    const ForwardPlan plan = planForward(net);
    EXPECT_EQ(plan.featureDim, kF);
    EXPECT_FALSE(plan.feature.empty());
    for (const HeadPlan &h : plan.layers[0].heads) {
      EXPECT_FALSE(h.valueFeat.empty());
      EXPECT_EQ(h.keyFeat.empty(), h.uniform || writes != Writes::AllColumns);
    }
    expectSameLogits(net, seed, kTolerance, 50, randomFeatures);
  });
}

// 16-bit plans with continuous inputs do not fold layer 0 (rounding x = tok
// + pos + feature f is not exact): they must still compute the emulated
// pass, decisions equal and logits within lowPrecisionLogitTolerance.
TEST(JitFeatures, RandomTransformersMatchTheEmulated16BitPass) {
  forEveryShapeWithFeatures([](const Network &net, uint64_t seed, Writes) {
    for (StorageFormat f : {StorageFormat::F16, StorageFormat::BF16}) {
      SCOPED_TRACE(storageFormatName(f));
      EXPECT_FALSE(planForward(net, f).foldLayer0);
      expectSameAsEmulated(net, f, seed, 30, randomFeatures);
    }
  });
}

// A 16-bit plan whose feature matrix is zero folds layer 0 as before.
TEST(JitFeatures, AZeroFeatureMatrixChangesNoPlan) {
  Network net = randomTransformer(7, 2, 1, false, false);
  auto &t = std::get<TransformerBody>(net.body);
  t.embed.token.dense().rightCols(6).setZero();
  t.embed.position.dense().leftCols(6).setZero();
  t.embed.feature = Matrix::Zero(net.width, kF);
  const ForwardPlan plan = planForward(net, StorageFormat::BF16);
  EXPECT_TRUE(plan.feature.empty());
  EXPECT_TRUE(plan.foldLayer0);
}

// Null features mean zeros (Backend::logits): the same logits, bit for bit,
// as an explicit all-zero buffer, and the reference's.
TEST(JitFeatures, NullFeaturesAreZeros) {
  forEveryShapeWithFeatures([](const Network &net, uint64_t seed, Writes) {
    JitBackend jit(net);
    SplitMix64 rng(seed);
    std::vector<double> null(static_cast<size_t>(net.classCount)),
        zero(null.size());
    for (int trial = 0; trial < 10; ++trial) {
      const RandomInput in = randomInput(rng, net, {});
      const std::vector<float> zeros(static_cast<size_t>(in.n * kF), 0.0f);
      jit.logits(in.tokens.data(), in.n, nullptr, null.data());
      jit.logits(in.tokens.data(), in.n, zeros.data(), zero.data());
      const Eigen::VectorXd want =
          referenceLogits<double>(net, in.tokens.data(), in.n, nullptr);
      for (int64_t c = 0; c < net.classCount; ++c) {
        ASSERT_EQ(null[c], zero[c]) << "length " << in.n;
        ASSERT_NEAR(null[c], want[c], kTolerance * (1 + std::fabs(want[c])));
      }
    }
  });
}

// The feature reads and the keys written per input keep to the scratch
// layout: compiled with guard gaps around every region, the canaries stay.
constexpr int64_t kGuard = 64;
constexpr uint32_t kCanary = 0x7fa5a5a5; // a NaN: it would show if read
TEST(JitFeatures, GeneratedCodeStaysInsideTheScratchLayout) {
  forEveryShapeWithFeatures([](const Network &net, uint64_t seed, Writes) {
    for (std::optional<StorageFormat> f :
         {std::optional<StorageFormat>(), std::optional(StorageFormat::BF16)}) {
      const JitBackend jit(net, f);
      ForwardPlan plan = planForward(net, f);
      plan.fillTables();
      plan.scratch = plan.scratch.withGuards(kGuard);
      std::unique_ptr<LlvmModule> m = emitModule(plan, "guarded");
      optimizeModule(*m);
      const auto compiled = linkModule(std::move(m));
      SplitMix64 rng(seed);
      for (int64_t M : {int64_t(1), int64_t(17), net.maxSequenceLength}) {
        const std::vector<int32_t> tokens = randomTokens(rng, net, M);
        const std::vector<float> features = randomFeatures(rng, M);
        std::vector<uint32_t> scratch(
            static_cast<size_t>(plan.scratchFloats(M)), kCanary);
        std::vector<float> got(static_cast<size_t>(net.classCount));
        compiled->function()(tokens.data(), M, features.data(),
                             reinterpret_cast<float *>(scratch.data()),
                             got.data());
        int64_t at = 0;
        for (const ScratchLayout::Region &r : plan.scratch.regions) {
          for (int64_t i = at; r.id == ScratchRegion::Guard && i < at + kGuard;
               ++i)
            ASSERT_EQ(scratch[static_cast<size_t>(i)], kCanary)
                << "length " << M << ": a guard written at float " << i;
          at += r.size.at(M);
        }
        std::vector<double> want(got.size());
        jit.logits(tokens.data(), M, features.data(), want.data());
        for (size_t k = 0; k < got.size(); ++k)
          EXPECT_EQ(got[k], static_cast<float>(want[k])) << "length " << M;
      }
    }
  });
}

// --- nearest neighbour with its points as continuous inputs ---

Spec nearestNeighbourSpec(int64_t N, Precision precision) {
  // specs/nearest_neighbour.task's task and `model transformer`.
  Spec s;
  s.file = "<test>";
  s.task.kind = TaskKind::NearestNeighbour;
  s.task.maxLength = N;
  s.task.dimension = 10;
  s.task.labels = 4;
  s.task.margin = 0.2;
  ModelSpec tf;
  tf.name = "transformer";
  tf.layers = 2;
  tf.code = CodeFamily::ExtendedBch;
  tf.coherence = 0.5;
  tf.precision = precision;
  s.models = {tf};
  return s;
}

// f(example, its points as continuous inputs) for `count` uniform and
// `count` adversarial inputs of the task.
template <typename F>
void forGeneratedInputs(const Spec &spec, const Network &net, uint64_t seed,
                        uint64_t count, F f) {
  for (InputDistribution dist :
       {InputDistribution::Uniform, InputDistribution::Adversarial}) {
    ExampleGenerator gen(spec.task, dist, seed, adversarialHints(net));
    Example ex;
    for (uint64_t i = 0; i < count; ++i) {
      gen.generate(i, ex);
      SCOPED_TRACE(::testing::Message()
                   << "input " << i << ", adversarial " << ex.adversarial);
      f(ex, pointsOf(net, ex.tokens));
    }
  }
}

TEST(JitFeatures, NearestNeighbourPointsAsFeaturesKeepTheWalshHead) {
  const Spec spec = nearestNeighbourSpec(256, Precision::F32);
  const Network net = handwire::testing::build(spec, 0);
  ASSERT_NE(net.block("X"), nullptr);
  const Network copy = pointsAsFeatures(net);
  ASSERT_EQ(copy.featureDim(), spec.task.dimension);

  // Layer 0 (the copy head: position-only queries and keys, values X) is
  // still a Walsh head; its values are now the feature part alone.
  const ForwardPlan original = planForward(net), plan = planForward(copy);
  ASSERT_TRUE(original.layers[0].heads[0].walsh);
  const HeadPlan &h = plan.layers[0].heads[0];
  ASSERT_TRUE(h.walsh) << h.notWalsh;
  EXPECT_FALSE(h.valueTok.present);
  EXPECT_FALSE(h.valuePos.present);
  EXPECT_FALSE(h.valueFeat.empty());
  EXPECT_TRUE(h.keyFeat.empty());
  // Its values' bound grew (Cauchy-Schwarz gives 1 per component where the
  // token table held 1/sqrt(d)), but the Walsh and the dense bounds scale
  // alike, so the choice is the original's.
  const WalshHeadPlan &w = *h.walsh, &w0 = *original.layers[0].heads[0].walsh;
  EXPECT_GT(w.errorBound, w0.errorBound);
  EXPECT_NEAR(w.errorBound / w.denseErrorBound,
              w0.errorBound / w0.denseErrorBound, 1e-9);

  JitBackend jitOriginal(net), jitCopy(copy);
  const int64_t classes = net.classCount;
  std::vector<double> a(static_cast<size_t>(classes)), b(a.size());
  int checked = 0, adversarial = 0;
  forGeneratedInputs(
      spec, net, 31, 150, [&](const Example &ex, const std::vector<float> &f) {
        const int64_t n = static_cast<int64_t>(ex.tokens.size());
        jitOriginal.logits(ex.tokens.data(), n, a.data());
        jitCopy.logits(ex.tokens.data(), n, f.data(), b.data());
        const Eigen::VectorXd want =
            referenceLogits<double>(copy, ex.tokens.data(), n, f.data());
        for (int64_t c = 0; c < classes; ++c) {
          // The same numbers reach every sum in the same order.
          ASSERT_EQ(a[c], b[c]) << "class " << c;
          ASSERT_NEAR(b[c], want[c], copy.certificate.logitTolerance);
        }
        ASSERT_EQ(decision(b.data(), classes), ex.label);
        ++checked;
        adversarial += ex.adversarial;
      });
  EXPECT_EQ(checked, 300);
  EXPECT_EQ(adversarial, 150);
}

// The same copy in f16 (scales derived for its rounding): layer 0 is not
// folded (x = rnd(f) per input), and the JIT equals the emulated pass, and
// the original model, bit for bit.
TEST(JitFeatures, NearestNeighbourPointsAsFeaturesIn16Bits) {
  const Spec spec = nearestNeighbourSpec(64, Precision::F16);
  const Network net = handwire::testing::build(spec, 0);
  const Network copy = pointsAsFeatures(net);
  const StorageFormat f = StorageFormat::F16;
  EXPECT_FALSE(planForward(copy, f).foldLayer0);
  JitBackend jitOriginal(net, f), jitCopy(copy, f);
  LowPrecisionBackend ref(copy, f);
  const int64_t classes = net.classCount;
  std::vector<double> a(static_cast<size_t>(classes)), b(a.size()),
      want(a.size());
  forGeneratedInputs(spec, net, 37, 100,
                     [&](const Example &ex, const std::vector<float> &f) {
                       const int64_t n = static_cast<int64_t>(ex.tokens.size());
                       jitOriginal.logits(ex.tokens.data(), n, a.data());
                       jitCopy.logits(ex.tokens.data(), n, f.data(), b.data());
                       ref.logits(ex.tokens.data(), n, f.data(), want.data());
                       for (int64_t c = 0; c < classes; ++c) {
                         ASSERT_EQ(b[c], want[c]) << "class " << c;
                         ASSERT_EQ(a[c], b[c]) << "class " << c;
                       }
                       ASSERT_EQ(decision(b.data(), classes), ex.label);
                     });
}

} // namespace
} // namespace handwire
