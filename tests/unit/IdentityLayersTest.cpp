// A deeper model than the construction is the construction followed by
// identity layers (no head, no MLP): a spec asking for layers = 2 on index
// lookup or associative recall compiles, is exact in the JIT and the
// reference, and every consumer (the plans: dense, sparse, Walsh, 16-bit; the
// model file; ONNX; the separation card) treats an identity layer as one.
#include "JitAgreement.h"
#include "RandomNetworks.h"
#include "TestBuild.h"
#include "TestScale.h"
#include "TestSpecs.h"

#include "Pipeline.h"
#include "analysis/SeparationCard.h"
#include "codegen/ForwardPlan.h"
#include "constructions/Construction.h"
#include "eval/Evaluate.h"
#include "export/ModelFile.h"
#include "export/Onnx.h"
#include "ir/Verifier.h"
#include "jit/JitBackend.h"
#include "reference/Evaluator.h"
#include "spec/Vocabulary.h"
#include "tasks/TaskSemantics.h"

#include <gtest/gtest.h>

#include <filesystem>

namespace handwire {
namespace {

using handwire::testing::expectSameLogits;
using handwire::testing::indexLookupSpec;

using testing::build;

// `net` with identity layers inserted before layer `at` (at = layers: after
// the last one).
Network withIdentities(Network net, size_t at, int count) {
  auto &layers = std::get<TransformerBody>(net.body).layers;
  layers.insert(layers.begin() + static_cast<std::ptrdiff_t>(at),
                static_cast<size_t>(count), TransformerLayer{});
  return net;
}

std::vector<double> jitLogits(const JitBackend &jit, int64_t classes,
                              const std::vector<int32_t> &tokens) {
  std::vector<double> out(static_cast<size_t>(classes));
  jit.logits(tokens.data(), static_cast<int64_t>(tokens.size()), out.data());
  return out;
}

// Random networks with identity layers before, between and after their
// layers: the JIT plans them away (the same logits, bit for bit, as without
// them) and the reference computes the same function.
TEST(IdentityLayers, RandomTransformersComputeTheSameFunction) {
  uint64_t seed = 300;
  for (int layers : {1, 2})
    for (bool mlp : {false, true})
      for (size_t at = 0; at <= static_cast<size_t>(layers); ++at) {
        SCOPED_TRACE(::testing::Message() << layers << " layers, mlp " << mlp
                                          << ", identities at " << at);
        const Network plain =
            handwire::testing::randomTransformer(seed, layers, 2, mlp, false);
        const Network padded = withIdentities(plain, at, 2);
        EXPECT_EQ(padded.transformer().identityLayerCount(), 2);
        EXPECT_EQ(parameterCount(padded), parameterCount(plain));
        const ForwardPlan plan = planForward(padded);
        EXPECT_EQ(plan.layers.size(), static_cast<size_t>(layers));
        EXPECT_EQ(plan.networkLayers, static_cast<size_t>(layers + 2));
        expectSameLogits(padded, seed, 1e-4);
        JitBackend a(plain), b(padded);
        SplitMix64 rng(seed);
        for (int trial = 0; trial < 20; ++trial) {
          std::vector<int32_t> tokens(1 + rng.below(plain.maxSequenceLength));
          for (auto &t : tokens)
            t = static_cast<int32_t>(rng.below(plain.tokenCount));
          EXPECT_EQ(jitLogits(a, plain.classCount, tokens),
                    jitLogits(b, plain.classCount, tokens));
          const Eigen::VectorXd want = referenceLogits<double>(
              plain, tokens.data(), int64_t(tokens.size()));
          const Eigen::VectorXd got = referenceLogits<double>(
              padded, tokens.data(), int64_t(tokens.size()));
          for (int64_t c = 0; c < plain.classCount; ++c)
            EXPECT_NEAR(got[c], want[c], 1e-12 * (1 + std::fabs(want[c])));
        }
        ++seed;
      }
}

// A one-layer model stored sparse keeps its sparse plan (and the reference
// its sparse path) when identity layers follow it.
TEST(IdentityLayers, SparseOneLayerModelsKeepTheSparsePlan) {
  for (uint64_t seed = 320; seed < 323; ++seed) {
    const Network net = withIdentities(
        handwire::testing::sparsified(
            handwire::testing::randomTransformer(seed, 1, 2, true, false),
            seed),
        1, 1);
    ASSERT_TRUE(net.hasSparseTransformerWeights());
    EXPECT_TRUE(planForward(net).sparse);
    expectSameLogits(net, seed, 1e-4);
  }
}

// 16-bit plans: x is stored rounded, so an identity layer changes nothing
// there either; the JIT's native pass matches the emulated one.
TEST(IdentityLayers, SixteenBitPassesMatchTheEmulatedOne) {
  const Network plain =
      handwire::testing::randomTransformer(330, 2, 1, true, false);
  const Network padded = withIdentities(plain, 1, 1);
  for (StorageFormat f : {StorageFormat::F16, StorageFormat::BF16}) {
    JitBackend jit(padded, f), jitPlain(plain, f);
    LowPrecisionBackend ref(padded, f), refPlain(plain, f);
    SplitMix64 rng(330);
    std::vector<double> a(3), b(3), c(3), d(3);
    for (int trial = 0; trial < 30; ++trial) {
      std::vector<int32_t> tokens(1 + rng.below(plain.maxSequenceLength));
      for (auto &t : tokens)
        t = static_cast<int32_t>(rng.below(plain.tokenCount));
      const int64_t n = static_cast<int64_t>(tokens.size());
      jit.logits(tokens.data(), n, a.data());
      jitPlain.logits(tokens.data(), n, b.data());
      ref.logits(tokens.data(), n, c.data());
      refPlain.logits(tokens.data(), n, d.data());
      EXPECT_EQ(a, b);
      EXPECT_EQ(c, d); // rounding a rounded x again changes nothing
      EXPECT_EQ(decision(a.data(), 3), decision(c.data(), 3));
    }
  }
}

// The two-layer equality model asked for three layers: its Walsh head is
// still planned (the identity layer is not), and it is exact.
TEST(IdentityLayers, WalshHeadsSurviveAnIdentityLayer) {
  Spec spec = handwire::testing::taskSpec(TaskKind::StringEquality, 200, 3,
                                          Architecture::Transformer);
  spec.models[0].code = CodeFamily::ExtendedBch;
  const Network net = build(spec, 0);
  EXPECT_EQ(net.provenance.construction, "string_equality/transformer-2layer");
  ASSERT_EQ(net.transformer().layers.size(), 3u);
  EXPECT_TRUE(net.transformer().layers[2].isIdentity());
  const ForwardPlan plan = planForward(net);
  ASSERT_EQ(plan.layers.size(), 2u);
  EXPECT_TRUE(plan.layers[0].heads[0].walsh);
  JitBackend jit(net);
  ReferenceBackend<double> ref(net);
  EvalOptions o;
  o.samples = handwire::testing::samples(200);
  const EvalResult r = evaluate(spec.task, net, {&jit, &ref}, o);
  EXPECT_EQ(r.disagreements, 0);
  EXPECT_EQ(r.backends[0].mismatches, 0);
  EXPECT_EQ(r.backends[1].mismatches, 0);
}

TEST(IdentityLayers, IndexLookupWithTwoOrThreeLayersIsExactOnEveryInput) {
  for (int layers : {2, 3})
    for (auto [N, V] : {std::pair{6, 2}, std::pair{4, 3}}) {
      SCOPED_TRACE(::testing::Message()
                   << layers << " layers, N = " << N << ", V = " << V);
      Spec spec = indexLookupSpec(N, V);
      spec.models[0].layers = layers;
      const Network net = build(spec, 0);
      ASSERT_EQ(net.transformer().layers.size(), size_t(layers));
      EXPECT_EQ(net.transformer().identityLayerCount(), layers - 1);
      EXPECT_TRUE(net.certificate.certified);
      JitBackend jit(net);
      int64_t count = 0;
      handwire::testing::forAllIndexLookupInputs(
          spec.task, [&](const std::vector<int32_t> &tokens) {
            const int64_t truth = groundTruth(spec.task, tokens);
            const std::vector<double> j =
                jitLogits(jit, net.classCount, tokens);
            const Eigen::VectorXd r = referenceLogits<double>(
                net, tokens.data(), int64_t(tokens.size()));
            ASSERT_EQ(decision(j.data(), net.classCount), truth);
            ASSERT_EQ(decision(r.data(), net.classCount), truth);
            for (int64_t c = 0; c < net.classCount; ++c)
              if (c != truth) {
                EXPECT_GE(r[truth] - r[c],
                          net.certificate.readoutMargin - 1e-6);
              }
            ++count;
          });
      EXPECT_GT(count, 100);
    }
}

// The bar of issue #19: a two-layer Transformer for index lookup at N = 4096,
// exact in the JIT and the reference on adversarial and uniform inputs.
TEST(IdentityLayers, TwoLayerIndexLookupIsExactAtN4096) {
  Spec spec = indexLookupSpec(4096);
  spec.models[0].layers = 2;
  const Network net = build(spec, 0);
  ASSERT_EQ(net.transformer().layers.size(), 2u);
  EXPECT_TRUE(net.transformer().layers[1].isIdentity());
  EXPECT_TRUE(net.certificate.certified);
  JitBackend jit(net);
  ReferenceBackend<float> ref(net);
  for (InputDistribution inputs :
       {InputDistribution::Adversarial, InputDistribution::Uniform}) {
    EvalOptions o;
    o.samples = handwire::testing::samples(2000);
    o.seed = 19;
    o.inputs = inputs;
    const EvalResult r = evaluate(spec.task, net, {&jit, &ref}, o);
    EXPECT_EQ(r.samples, o.samples);
    EXPECT_EQ(r.adversarial,
              inputs == InputDistribution::Adversarial ? o.samples : 0);
    EXPECT_EQ(r.disagreements, 0);
    EXPECT_LE(r.maxLogitDifference, net.certificate.logitTolerance);
    EXPECT_EQ(r.backends[0].mismatches, 0);
    EXPECT_EQ(r.backends[1].mismatches, 0);
    EXPECT_GE(r.backends[1].minMargin, net.certificate.readoutMargin - 1e-4);
  }
}

TEST(IdentityLayers, AssociativeRecallWithTwoLayersIsExact) {
  Spec spec = handwire::testing::taskSpec(TaskKind::AssociativeRecall, 16, 2,
                                          Architecture::Transformer);
  spec.task.keys = 64;
  const Network net = build(spec, 0);
  EXPECT_EQ(net.provenance.construction,
            "associative_recall/transformer-1layer");
  ASSERT_EQ(net.transformer().layers.size(), 2u);
  JitBackend jit(net);
  ReferenceBackend<double> ref(net);
  EvalOptions o;
  o.samples = handwire::testing::samples(3000);
  const EvalResult r = evaluate(spec.task, net, {&jit, &ref}, o);
  EXPECT_EQ(r.disagreements, 0);
  EXPECT_EQ(r.backends[0].mismatches, 0);
  EXPECT_EQ(r.backends[1].mismatches, 0);
}

// Sized honestly: the same parameters as the one-layer model (an identity
// layer has none), and the report counts the layer.
TEST(IdentityLayers, SizeAndSeparationCardCountTheLayers) {
  Spec spec = indexLookupSpec(1024);
  const Network one = build(spec, 0);
  spec.models[0].layers = 3;
  const Network three = build(spec, 0);
  EXPECT_EQ(parameterCount(three), parameterCount(one));
  const Construction *c = nullptr;
  for (const Construction *k : allConstructions())
    if (std::string(k->id()) == "index_lookup/transformer-1layer")
      c = k;
  ASSERT_TRUE(c);
  EXPECT_EQ(c->size(spec, spec.models[0]).parameters,
            double(parameterCount(three)));
  const SeparationCard card = separationCard(spec.task, three);
  EXPECT_EQ(card.layers, 3);
  EXPECT_EQ(card.identityLayers, 2);
  EXPECT_EQ(card.heads, 1);
  EXPECT_EQ(card.parameters, parameterCount(one));
  // One layer computes: its cut is what the one-layer bounds count.
  EXPECT_EQ(card.sizeMeasure, "cut bits");
  EXPECT_EQ(card.sizeBits, separationCard(spec.task, one).sizeBits);
}

// The one-layer equality bound binds a one-layer model padded with an
// identity layer (it computes what its one layer does), not "no bound for
// two layers".
TEST(IdentityLayers, OneLayerBoundStillBindsAPaddedOneLayerModel) {
  Spec spec = handwire::testing::taskSpec(TaskKind::StringEquality, 64, 1,
                                          Architecture::Transformer);
  const Network one = build(spec, 0);
  const Network padded = withIdentities(one, 1, 1);
  const SeparationCard card = separationCard(spec.task, padded);
  EXPECT_EQ(card.layers, 2);
  ASSERT_TRUE(card.boundBits);
  EXPECT_DOUBLE_EQ(*card.boundBits, 65);
  EXPECT_EQ(card.sizeMeasure, "cut bits");
  EXPECT_TRUE(card.respectsBound);
  EXPECT_NE(
      card.boundNote.find(
          "1 of its 2 layers is an identity, so it computes what a 1-layer "
          "model does: the bound for 1 layer applies"),
      std::string::npos)
      << card.boundNote;
  // The two-layer construction has no bound.
  spec.models[0].layers = 2;
  const SeparationCard two = separationCard(spec.task, build(spec, 0));
  EXPECT_FALSE(two.boundBits);
  EXPECT_EQ(two.identityLayers, 0);
}

TEST(IdentityLayers, TheDeepestConstructionTheDepthAllowsIsChosen) {
  struct Case {
    TaskKind task;
    int layers;
    const char *id;
  };
  for (const Case &c :
       {Case{TaskKind::StringEquality, 1,
             "string_equality/transformer-1layer-linear"},
        Case{TaskKind::StringEquality, 2, "string_equality/transformer-2layer"},
        Case{TaskKind::StringEquality, 4, "string_equality/transformer-2layer"},
        Case{TaskKind::BoundedDyck, 5, "bounded_dyck/transformer-4layer"}}) {
    Spec spec = handwire::testing::taskSpec(c.task, 16, c.layers,
                                            Architecture::Transformer);
    const Network net = build(spec, 0);
    EXPECT_EQ(net.provenance.construction, c.id) << c.layers;
    EXPECT_EQ(net.transformer().layers.size(), size_t(c.layers));
  }
  // Fewer layers than any construction: still refused.
  Spec spec = handwire::testing::taskSpec(TaskKind::BoundedDyck, 16, 3,
                                          Architecture::Transformer);
  DiagnosticEngine diags;
  EXPECT_FALSE(buildNetwork(spec, spec.models[0], {}, diags));
  EXPECT_EQ(diags.errorCount(), 1);
}

// The model file and ONNX: the identity layer round-trips (heads 0, no MLP)
// and adds no ONNX node (no causal mask: one layer computes).
TEST(IdentityLayers, ModelFileAndOnnxCarryTheLayer) {
  Spec spec = indexLookupSpec(64);
  spec.models[0].layers = 2;
  const Network net = build(spec, 0);
  const std::string dir =
      (std::filesystem::path(HANDWIRE_BINARY_DIR) / "identity_layers_test")
          .string();
  const ModelPaths paths = writeModel(spec.task, net, dir, "m");
  const LoadedModel back = readModel(paths.config, int64_t(1) << 30);
  ASSERT_EQ(back.net.transformer().layers.size(), 2u);
  EXPECT_TRUE(back.net.transformer().layers[1].isIdentity());
  EXPECT_EQ(parameterCount(back.net), parameterCount(net));
  JitBackend a(net), b(back.net);
  const Vocabulary voc = vocabularyOf(spec.task);
  SplitMix64 rng(5);
  for (int trial = 0; trial < 50; ++trial) {
    const int64_t n = 1 + static_cast<int64_t>(rng.below(64));
    std::vector<int32_t> tokens(static_cast<size_t>(n + 1));
    for (int64_t i = 0; i < n; ++i)
      tokens[i] = static_cast<int32_t>(rng.below(voc.symbolCount));
    tokens[n] = static_cast<int32_t>(voc.firstIndexToken + rng.below(n));
    const std::vector<double> l = jitLogits(a, net.classCount, tokens);
    EXPECT_EQ(l, jitLogits(b, net.classCount, tokens));
    EXPECT_EQ(decision(l.data(), net.classCount),
              groundTruth(spec.task, tokens));
  }
  std::filesystem::remove_all(dir);

  const OnnxSummary s =
      checkOnnxBytes(onnxModelBytes(spec.task, net, int64_t(1) << 30), "m");
  EXPECT_EQ(s.ops.at("Softmax"), 1);
  EXPECT_EQ(s.ops.count("Range"), 0u);
}

} // namespace
} // namespace handwire
