// The JIT's native 16-bit forward pass (JitBackend with a StorageFormat)
// against the exactly emulated one (LowPrecisionBackend): the conversions bit
// for bit, random networks of every shape (through each layer-0 plan: folded
// tables read alone, summed per input, or not folded), every construction of
// the registry at N = 64 and 1024, and the precision certificate's verdicts.
#include "JitAgreement.h"
#include "RandomNetworks.h"
#include "TestScale.h"
#include "TestSpecs.h"

#include "Pipeline.h"
#include "codegen/EmitLLVM.h"
#include "constructions/Construction.h"
#include "eval/Evaluate.h"
#include "jit/JitBackend.h"
#include "reference/Evaluator.h"
#include "support/Random.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <set>

namespace handwire {
namespace {

using handwire::testing::expectSameAsEmulated;
using handwire::testing::indexLookupSpec;
using handwire::testing::taskSpec;

const StorageFormat kFormats[] = {StorageFormat::F16, StorageFormat::BF16};

uint32_t bitsOf(double x) {
  const float f = static_cast<float>(x);
  uint32_t b;
  std::memcpy(&b, &f, 4);
  return b;
}

// An RNN whose logits are w_c + b_c (h = 1 after one token): the JIT's stored
// logits must be roundToFormat(w_c + b_c), bit for bit, for sums that are
// ties, carries, overflows and (f16) subnormals.
TEST(JitLowPrecision, ConversionsRoundLikeTheReference) {
  SplitMix64 rng(5);
  std::vector<std::pair<float, float>> sums = {
      {1.0f, std::ldexp(1.0f, -8)},      // bf16 tie: even (1)
      {1.0f, 3 * std::ldexp(1.0f, -8)},  // bf16 tie: even (1 + 2^-6)
      {1.0f, std::ldexp(1.0f, -11)},     // f16 tie: even (1)
      {1.0f, 3 * std::ldexp(1.0f, -11)}, // f16 tie: even (1 + 2^-9)
      {65504.0f, 16.0f},                 // f16: 65520 is infinite
      {65504.0f, 8.0f},                  // f16: 65512 rounds down
      {-65504.0f, -32.0f},               // f16: -infinity
      {std::ldexp(1.0f, -20), std::ldexp(1.0f, -25)}, // f16 subnormal
      {std::ldexp(1.0f, -24), -std::ldexp(1.0f, -26)}};
  while (sums.size() < 512) {
    // w and b representable in bf16 (hence in f16's range, when small):
    // random signs, exponents and 8-bit significands.
    auto draw = [&] {
      const float m = 1.0f + static_cast<float>(rng.below(128)) / 128.0f;
      const int e = static_cast<int>(rng.below(30)) - 20;
      return (rng.below(2) ? -1.0f : 1.0f) * std::ldexp(m, e);
    };
    sums.emplace_back(draw(), draw());
  }
  Network net;
  net.arch = Architecture::RNN;
  net.tokenCount = 1;
  net.classCount = static_cast<int64_t>(sums.size());
  net.maxSequenceLength = 1;
  net.width = 1;
  net.blocks = {{"h", 0, 1, ""}};
  ElmanBody e;
  e.recurrent.resize(1, 1);
  e.input.resize(1, 1);
  e.input.insert(0, 0) = 1.0f;
  e.bias = Vector::Zero(1);
  e.initial = Vector::Zero(1);
  net.body = e;
  net.readout.weight = Matrix(net.classCount, 1);
  net.readout.bias = Vector(net.classCount);
  for (size_t c = 0; c < sums.size(); ++c) {
    net.readout.weight(c, 0) = sums[c].first;
    net.readout.bias(c) = sums[c].second;
  }
  const int32_t token = 0;
  std::vector<double> jit(sums.size()), ref(sums.size());
  for (StorageFormat f : kFormats) {
    SCOPED_TRACE(storageFormatName(f));
    JitBackend(net, f).logits(&token, 1, jit.data());
    LowPrecisionBackend(net, f).logits(&token, 1, ref.data());
    for (size_t c = 0; c < sums.size(); ++c) {
      const float w = roundToFormat(sums[c].first, f),
                  b = roundToFormat(sums[c].second, f);
      const float want = roundToFormat(w + b, f);
      EXPECT_EQ(bitsOf(jit[c]), bitsOf(want))
          << w << " + " << b << ": got " << jit[c] << ", want " << want;
      EXPECT_EQ(bitsOf(jit[c]), bitsOf(ref[c]));
    }
  }
}

// Layer 0's three 16-bit plans (ForwardPlan.h), chosen by the embedding.
enum class Layer0 {
  Unfolded,   // token and position share columns: keys projected per input
  SummedKeys, // disjoint, keys read both tables: summed and rounded per input
  TableKeys   // disjoint, keys read the position table alone (pre-rounded)
};

Network withEmbedding(Network net, Layer0 kind) {
  if (kind == Layer0::Unfolded)
    return net; // randomTransformer's tables overlap in every column
  auto &t = std::get<TransformerBody>(net.body);
  t.embed.token.dense().rightCols(6).setZero();   // tokens in columns [0, 6)
  t.embed.position.dense().leftCols(6).setZero(); // positions in [6, 12)
  if (kind == Layer0::TableKeys)
    for (AttentionHead &h : t.layers[0].heads)
      h.key.dense().leftCols(6).setZero();
  return net;
}

TEST(JitLowPrecision, RandomTransformersMatchTheEmulatedPass) {
  uint64_t seed = 1;
  for (Layer0 kind : {Layer0::Unfolded, Layer0::SummedKeys, Layer0::TableKeys})
    for (int layers : {1, 2, 3})
      for (bool mlp : {false, true})
        for (bool zeroQuery : {false, true}) {
          const int heads = zeroQuery ? 2 : 1;
          if (!handwire::testing::runsCase(static_cast<int64_t>(seed) - 1)) {
            ++seed;
            continue;
          }
          SCOPED_TRACE(::testing::Message()
                       << "layer 0 plan " << static_cast<int>(kind) << ", "
                       << layers << " layers, mlp " << mlp << ", uniform head "
                       << zeroQuery);
          const Network net =
              withEmbedding(handwire::testing::randomTransformer(
                                seed, layers, heads, mlp, zeroQuery),
                            kind);
          // The plan really is the one this case is about.
          const ForwardPlan plan = planForward(net, StorageFormat::BF16);
          EXPECT_EQ(plan.foldLayer0, kind != Layer0::Unfolded);
          const HeadPlan &h = plan.layers[0].heads.back(); // never uniform
          if (kind == Layer0::SummedKeys) {
            EXPECT_TRUE(h.keyTok.present && h.keyPos.present);
            EXPECT_FALSE(h.keyPosByDim); // no position-parallel scores
          }
          if (kind == Layer0::TableKeys) {
            EXPECT_FALSE(h.keyTok.present);
            EXPECT_TRUE(h.keyPosByDim);
          }
          for (StorageFormat f : kFormats)
            expectSameAsEmulated(net, f, seed);
          ++seed;
        }
}

TEST(JitLowPrecision, RandomElmanRnnsMatchTheEmulatedPass) {
  for (uint64_t seed = 1; seed <= 5; ++seed)
    for (StorageFormat f : kFormats)
      expectSameAsEmulated(handwire::testing::randomRnn(seed), f, seed);
}

// Every construction of the registry (checked below).
using Case = handwire::testing::ConstructionCase;
std::vector<Case> registryCases(int64_t N) {
  return handwire::testing::everyConstruction(N);
}

TEST(JitLowPrecision, CasesCoverTheRegistry) {
  std::set<std::string> built, registered;
  for (const Case &c : registryCases(64)) {
    DiagnosticEngine diags;
    auto net = buildNetwork(c.spec, c.spec.models[c.model], {}, diags);
    ASSERT_TRUE(net) << c.name;
    built.insert(net->provenance.construction);
  }
  for (const Construction *c : allConstructions())
    registered.insert(c->id());
  EXPECT_EQ(built, registered);
}

class JitLowPrecisionConstructions
    : public ::testing::TestWithParam<std::tuple<int, int64_t>> {};

// Each construction built for each 16-bit format (its softmax scales derived
// for that format's rounding chain): the JIT's 16-bit pass agrees with the
// emulated one, and where the certificate says exact, neither mismatches.
TEST_P(JitLowPrecisionConstructions, AgreeWithTheEmulatedPass) {
  const auto [index, N] = GetParam();
  const Case c = registryCases(N)[index];
  // At N = 1024 most forward passes are slow (O(M^2) scores in two layers,
  // n-wide values in one, O(N) units over N steps in the RNNs; the emulated
  // reference is slower still): fewer inputs there.
  const std::string name = c.name;
  const bool cheap = N <= 64 || name == "IndexLookupTransformer" ||
                     name.rfind("BoundedDyck", 0) == 0;
  for (StorageFormat f : kFormats) {
    SCOPED_TRACE(storageFormatName(f));
    Spec spec = c.spec;
    const Precision p =
        f == StorageFormat::F16 ? Precision::F16 : Precision::BF16;
    spec.models[c.model].precision = p;
    DiagnosticEngine diags;
    // A construction the format cannot certify is refused; build it anyway
    // to compare the two 16-bit passes.
    CompileOptions opt;
    opt.allowUncertified = true;
    auto net = buildNetwork(spec, spec.models[c.model], opt, diags);
    if (!net) // refused before building (nearest neighbour's margin)
      continue;
    ASSERT_EQ(net->certificate.precisions.size(), 3u);
    JitBackend jit(*net, f);
    LowPrecisionBackend ref(*net, f);
    EvalOptions both; // mixed: uniform and adversarial inputs
    both.samples = handwire::testing::samples(cheap ? 300 : 40);
    const EvalResult r = evaluate(spec.task, *net, {&jit, &ref}, both);
    EXPECT_GT(r.adversarial, 0);
    EXPECT_EQ(r.disagreements, 0);
    EXPECT_LE(r.maxLogitDifference,
              lowPrecisionLogitTolerance(*net, f, r.maxAbsLogit));
    EXPECT_EQ(r.backends[0].mismatches, r.backends[1].mismatches);
    const bool exact =
        net->certificate.precisions[f == StorageFormat::F16 ? 1 : 2].exact;
    if (!exact)
      continue;
    EXPECT_TRUE(net->certificate.certified);
    EXPECT_EQ(r.backends[0].mismatches, 0);
    // Certified: the JIT alone on more inputs, none mismatching.
    EvalOptions many;
    many.samples = handwire::testing::samples(cheap ? 2000 : 200);
    many.seed = 77;
    const EvalResult m = evaluate(spec.task, *net, {&jit}, many);
    EXPECT_EQ(m.backends[0].mismatches, 0);
  }
}

INSTANTIATE_TEST_SUITE_P(
    All, JitLowPrecisionConstructions,
    ::testing::Combine(
        ::testing::Range(0, static_cast<int>(registryCases(2).size())),
        ::testing::Values(int64_t(64), int64_t(1024))),
    [](const auto &info) {
      return std::string(registryCases(2)[std::get<0>(info.param)].name) +
             "_N" + std::to_string(std::get<1>(info.param));
    });

// PrecisionTest's failing case: a softmax scale beyond f16's range (70000 >
// 65504) is refused for f16 and mismatches in the emulated f16 pass; the
// JIT's f16 pass mismatches too, and its bf16 pass stays exact.
TEST(JitLowPrecision, ScaleBeyondHalfRangeFailsInTheJitToo) {
  Spec spec = indexLookupSpec(64);
  spec.models = {spec.models[0]};
  spec.models[0].scale = 70000.0;
  DiagnosticEngine diags;
  auto net = buildNetwork(spec, spec.models[0], {}, diags);
  ASSERT_TRUE(net);
  ASSERT_FALSE(net->certificate.precisions[1].exact);
  ASSERT_TRUE(net->certificate.precisions[2].exact);
  EvalOptions o;
  o.samples = 200;
  JitBackend half(*net, StorageFormat::F16), brain(*net, StorageFormat::BF16);
  LowPrecisionBackend refHalf(*net, StorageFormat::F16);
  const EvalResult h = evaluate(spec.task, *net, {&half, &refHalf}, o);
  EXPECT_GT(h.backends[0].mismatches, 0);
  EXPECT_GT(h.backends[1].mismatches, 0);
  const EvalResult b = evaluate(spec.task, *net, {&brain}, o);
  EXPECT_EQ(b.backends[0].mismatches, 0);
}

// The plan's code as IR text (optimized: after O3) or host assembly.
std::string irText(const ForwardPlan &plan, bool optimized) {
  const std::unique_ptr<LlvmModule> m = emitModule(plan, "t");
  if (optimized)
    optimizeModule(*m);
  return moduleText(*m);
}
std::string assembly(const ForwardPlan &plan) {
  const std::unique_ptr<LlvmModule> m = emitModule(plan, "t");
  optimizeModule(*m);
  return assemblyText(*m);
}

// The 16-bit plans round with the host's conversion instructions, and fp32
// plans contain no 16-bit type at all.
TEST(JitLowPrecision, GeneratedCodeConvertsWithTheHostsInstructions) {
  Spec spec = indexLookupSpec(256);
  DiagnosticEngine diags;
  auto net = buildNetwork(spec, spec.models[0], {}, diags);
  ASSERT_TRUE(net);
  const std::string f32 = irText(planForward(*net), true);
  EXPECT_EQ(f32.find("half"), std::string::npos);
  EXPECT_EQ(f32.find("bfloat"), std::string::npos);
  const std::string ir = irText(planForward(*net, StorageFormat::F16), false);
  EXPECT_NE(ir.find("fptrunc float"), std::string::npos);
  EXPECT_NE(ir.find("to half"), std::string::npos);
  __builtin_cpu_init();
  if (__builtin_cpu_supports("f16c")) {
    const std::string a = assembly(planForward(*net, StorageFormat::F16));
    EXPECT_NE(a.find("vcvtps2ph"), std::string::npos);
    EXPECT_NE(a.find("vcvtph2ps"), std::string::npos);
  }
  if (__builtin_cpu_supports("avx512bf16")) {
    const std::string a = assembly(planForward(*net, StorageFormat::BF16));
    EXPECT_NE(a.find("vcvtneps2bf16"), std::string::npos);
  }
}

} // namespace
} // namespace handwire
