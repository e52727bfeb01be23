// The precision certificate against reality: its f16 / bf16 verdicts must
// match what the emulated 16-bit forward pass does on generated inputs.
#include "Pipeline.h"
#include "TestSpecs.h"
#include "analysis/PrecisionCertificate.h"
#include "eval/Evaluate.h"
#include "ir/SoftmaxChain.h"
#include "reference/Evaluator.h"
#include "support/Diagnostics.h"

#include <gtest/gtest.h>

#include <cmath>
#include <sstream>

namespace handwire {
namespace {

using handwire::testing::indexLookupSpec;
using handwire::testing::taskSpec;

TEST(Precision, RoundingIsToNearestEvenWithTheFormatsRange) {
  const auto bf = [](float x) { return roundToFormat(x, StorageFormat::BF16); };
  const auto h = [](float x) { return roundToFormat(x, StorageFormat::F16); };
  EXPECT_EQ(bf(1.0f + std::ldexp(1.0f, -8)), 1.0f); // tie to even
  EXPECT_EQ(bf(1.0f + 3 * std::ldexp(1.0f, -8)), 1.0f + std::ldexp(1.0f, -6));
  EXPECT_EQ(bf(std::ldexp(1.0f, 100) * 1.001f), std::ldexp(1.0f, 100));
  EXPECT_TRUE(std::isinf(bf(3.4028235e38f))); // rounds past bf16's largest
  EXPECT_EQ(h(1.0f + std::ldexp(1.0f, -11)), 1.0f);
  EXPECT_EQ(h(65504.0f), 65504.0f);
  EXPECT_EQ(h(65519.0f), 65504.0f);
  EXPECT_TRUE(std::isinf(h(65520.0f)));
  EXPECT_EQ(h(std::ldexp(1.0f, -25)), 0.0f);                      // tie: even
  EXPECT_EQ(h(3 * std::ldexp(1.0f, -25)), std::ldexp(1.0f, -23)); // tie: even
  EXPECT_EQ(h(-0.1f), -0.0999755859375f);
}

std::string allMessages(DiagnosticEngine &diags) {
  std::ostringstream os;
  diags.flush(os);
  return os.str();
}

Network buildOrDie(const Spec &spec, CompileOptions opt = {}) {
  DiagnosticEngine diags;
  auto net = buildNetwork(spec, spec.models[0], opt, diags);
  EXPECT_TRUE(net) << allMessages(diags);
  return net ? std::move(*net) : Network{};
}

int64_t mismatchesIn(const Spec &spec, const Network &net, StorageFormat f,
                     int64_t samples) {
  LowPrecisionBackend backend(net, f);
  EvalOptions eo;
  eo.samples = samples;
  eo.inputs = InputDistribution::Mixed;
  EvalResult r = evaluate(spec.task, net, {&backend}, eo);
  return r.backends[0].mismatches;
}

// Every construction at N = 64, built for each 16-bit format: the certificate
// says exact in that format (the derived scale satisfies the rounding chain
// there), and the emulated forward pass agrees on uniform and adversarial
// inputs.
TEST(Precision, CertifiedConstructionsAreExactInSixteenBits) {
  using A = Architecture;
  std::vector<Spec> specs = {
      indexLookupSpec(64),
      taskSpec(TaskKind::BoundedDyck, 64),
      taskSpec(TaskKind::StringEquality, 64, 2, A::Transformer),
      taskSpec(TaskKind::StringEquality, 64, 1, A::Transformer),
      taskSpec(TaskKind::StringEquality, 64),
      taskSpec(TaskKind::Disjointness, 64, 2, A::Transformer),
      taskSpec(TaskKind::Disjointness, 64, 1, A::Transformer),
      taskSpec(TaskKind::Disjointness, 64)};
  Spec rnn = indexLookupSpec(64);
  rnn.models = {rnn.models[1]};
  specs.push_back(rnn);
  for (const auto &[p, f] : {std::pair{Precision::F16, StorageFormat::F16},
                             std::pair{Precision::BF16, StorageFormat::BF16}})
    for (Spec spec : specs) {
      spec.models[0].precision = p;
      Network net = buildOrDie(spec);
      ASSERT_EQ(net.certificate.precisions.size(), 3u);
      EXPECT_TRUE(net.certificate.certified) << net.provenance.construction;
      for (const PrecisionVerdict &v : net.certificate.precisions)
        if (v.precision == p) {
          EXPECT_TRUE(v.exact)
              << net.provenance.construction << " in " << precisionName(p);
          EXPECT_GE(v.requiredBits, 1);
          EXPECT_LE(v.requiredBits, significandBits(p));
        }
      EXPECT_EQ(mismatchesIn(spec, net, f, 400), 0)
          << net.provenance.construction << " in " << storageFormatName(f);
    }
}

// A model built for fp32 sits at fp32's minimal scale: its 16-bit verdicts
// say the chain fails there and name the scale that format needs, which is
// what a 16-bit build derives.
TEST(Precision, SixteenBitVerdictsOfAnFp32ModelNameTheScaleTheyNeed) {
  Spec spec = indexLookupSpec(1024);
  spec.models = {spec.models[0]};
  const Network net = buildOrDie(spec);
  const auto &v = net.certificate.precisions;
  ASSERT_EQ(v.size(), 3u);
  EXPECT_TRUE(v[0].exact);
  ASSERT_FALSE(v[2].exact);
  ASSERT_FALSE(v[2].reasons.empty());
  EXPECT_NE(v[2].reasons[0].find("the rounding chain fails"), std::string::npos)
      << v[2].reasons[0];
  spec.models[0].precision = Precision::BF16;
  const Network bf16 = buildOrDie(spec);
  const double needed =
      soundSoftmaxScale(net.certificate.heads[0], Precision::BF16);
  EXPECT_EQ(bf16.certificate.heads[0].scale, needed);
  EXPECT_NE(v[2].reasons[0].find("needs scale >= "), std::string::npos);
}

// A softmax scale beyond f16's range: exact in f32 and bf16, refused in f16,
// and the f16 forward pass really fails while the bf16 one does not.
TEST(Precision, VerdictsMatchTheEmulatedForwardPass) {
  Spec spec = indexLookupSpec(64);
  spec.models = {spec.models[0]};
  spec.models[0].scale = 70000.0;
  Network net = buildOrDie(spec);
  ASSERT_TRUE(net.certificate.certified); // f32: a larger scale is fine
  const auto &v = net.certificate.precisions;
  ASSERT_EQ(v.size(), 3u);
  EXPECT_TRUE(v[0].exact);
  EXPECT_FALSE(v[1].exact);
  ASSERT_FALSE(v[1].reasons.empty());
  EXPECT_NE(v[1].reasons[0].find("overflow"), std::string::npos)
      << v[1].reasons[0];
  EXPECT_TRUE(v[2].exact);
  EXPECT_GT(mismatchesIn(spec, net, StorageFormat::F16, 200), 0);
  EXPECT_EQ(mismatchesIn(spec, net, StorageFormat::BF16, 200), 0);

  // Asking for f16 in the spec is refused at compile time, with the reason.
  spec.models[0].precision = Precision::F16;
  DiagnosticEngine diags;
  EXPECT_FALSE(buildNetwork(spec, spec.models[0], {}, diags));
  const std::string messages = allMessages(diags);
  EXPECT_NE(messages.find("not exact in f16"), std::string::npos) << messages;
}

// The 2-layer count multiplies its average by 2M: past M = 32752 that weight
// overflows f16, which the certificate names (building at that size is cheap;
// evaluating it is not, so the overflow itself is checked above).
TEST(Precision, TwoLayerCountOverflowsHalfPrecisionAtScale) {
  Spec spec =
      taskSpec(TaskKind::StringEquality, 16384, 2, Architecture::Transformer);
  Network net = buildOrDie(spec);
  const auto &v = net.certificate.precisions;
  ASSERT_EQ(v.size(), 3u);
  EXPECT_TRUE(v[0].exact);
  EXPECT_FALSE(v[1].exact);
  bool overflow = false;
  for (const std::string &why : v[1].reasons)
    overflow |= why.find("layers.1.mlp") != std::string::npos;
  EXPECT_TRUE(overflow) << v[1].reasons[0];
  EXPECT_TRUE(std::isinf(roundToFormat(65538.0f, StorageFormat::F16)));
}

} // namespace
} // namespace handwire
