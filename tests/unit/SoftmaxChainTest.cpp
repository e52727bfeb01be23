// The rounding chain of a selection head (ir/SoftmaxChain.h) against the
// stored numbers: the example (the binary code at N = 65536 in bf16,
// whose exact-arithmetic scale rounds below what the proof needs), the derived
// scale as the smallest format number that certifies, and refusal below it.
#include "ir/SoftmaxChain.h"
#include "Pipeline.h"
#include "TestScale.h"
#include "TestSpecs.h"
#include "eval/Evaluate.h"
#include "ir/StorageFormat.h"
#include "reference/Evaluator.h"
#include "support/Diagnostics.h"

#include <gtest/gtest.h>

#include <cmath>
#include <optional>

namespace handwire {
namespace {

std::optional<Network> tryBuild(const Spec &spec) {
  DiagnosticEngine diags;
  return buildNetwork(spec, spec.models[0], {}, diags);
}

Spec binaryLookup(int64_t N, Precision p) {
  Spec spec = testing::indexLookupSpec(N, 4, 0.9);
  spec.models = {spec.models[0]};
  spec.models[0].code = CodeFamily::Binary;
  spec.models[0].precision = p;
  return spec;
}

float bf16Below(float x) {
  // The largest bf16 number below x (x a bf16 number).
  float y = x;
  while (roundToBf16(y) >= x)
    y = std::nextafter(y, 0.0f);
  return roundToBf16(y);
}

TEST(SoftmaxChain, Bf16BinaryCodeAtN65536HoldsWithTheRoundedScale) {
  const Spec spec = binaryLookup(65536, Precision::BF16);
  const std::optional<Network> net = tryBuild(spec);
  ASSERT_TRUE(net);
  ASSERT_TRUE(net->certificate.certified);
  ASSERT_EQ(net->certificate.heads.size(), 1u);
  const HeadCertificate &h = net->certificate.heads[0];

  // The scale the network stores is the bf16 number in Q's diagonal, and the
  // chain was evaluated with that number.
  Network stored = *net;
  roundWeights(stored, StorageFormat::BF16);
  const double s =
      stored.transformer().layers[0].heads[0].query.dense().maxCoeff();
  EXPECT_EQ(s, h.scale);
  EXPECT_EQ(s, h.storedScale);
  EXPECT_EQ(double(roundToBf16(float(s))), s);

  // The chain's inequalities, re-evaluated here from its definition
  // (SoftmaxChain.h) with the stored scale.
  const double us = 0x1p-8, ua = 0x1p-24, C = double(h.competitors);
  const double gammaS = double(h.inputTerms) * ua,
               gammaK = double(h.dotLength) * ua;
  const double eps = std::pow(1 + us, h.inputRoundings) * (1 + gammaS) - 1;
  const double E =
      ((1 + eps) * (1 + eps) * (1 + gammaK) * (1 + us) - 1) * h.logitBound * s;
  const double G = s * h.gap - 2 * E;
  ASSERT_GT(G, 0);
  const double c = std::exp(-(1 - ua) * G) * (1 + 4 * ua) * (1 + us);
  const double g = (C + 1) * ua / (1 - (C + 1) * ua);
  const double Z =
      std::min((1 + C * c) * (1 + g), 1 + 2 * (1 + g) * (1 + g) * C * c);
  const double w = (1 / Z) * (1 - ua) * (1 - us);
  EXPECT_GE(w, 1 - h.leakage);
  EXPECT_NEAR(w, h.worstTargetWeight, 1e-6);
  EXPECT_GE(net->certificate.readoutMargin, spec.models[0].margin);

  // Exact arithmetic's scale (the old derivation) is not enough in bf16: the
  // certificate refuses it, with the chain.
  const double exact =
      (std::log(C) + std::log((1 - h.leakage) / h.leakage)) / h.gap;
  EXPECT_LT(exact, h.scale);
  Spec low = spec;
  low.models[0].scale = exact;
  EXPECT_FALSE(tryBuild(low));
  // Nor is one bf16 step below the derived scale.
  low.models[0].scale = bf16Below(float(h.scale));
  EXPECT_FALSE(tryBuild(low));

  // The emulated bf16 pass is exact on adversarial inputs (the code's worst
  // pairs) with the margin the certificate claims.
  LowPrecisionBackend bf16(*net, StorageFormat::BF16);
  EvalOptions o;
  o.samples = testing::samples(40);
  o.inputs = InputDistribution::Adversarial;
  const EvalResult r = evaluate(spec.task, *net, {&bf16}, o);
  EXPECT_EQ(r.backends[0].mismatches, 0);
  EXPECT_GE(r.backends[0].minMargin, net->certificate.readoutMargin - 1e-3);
}

// In every precision the derived scale is the smallest stored number at
// which the chain holds: it holds there and fails one step below.
TEST(SoftmaxChain, DerivedScaleIsTheSmallestThatHolds) {
  for (Precision p : {Precision::F32, Precision::F16, Precision::BF16})
    for (double gap : {0.1, 0.5, 1.0})
      for (int64_t competitors : {int64_t(16), int64_t(1) << 16}) {
        HeadCertificate h;
        h.gap = gap;
        h.competitors = competitors;
        h.leakage = 0.25;
        h.dotLength = 32;
        h.inputTerms = 80;
        h.scaleIsWeight = true;
        const double s = soundSoftmaxScale(h, p);
        if (!std::isfinite(s)) {
          // Only when the rounding of the scores eats the gap.
          EXPECT_EQ(p, Precision::BF16);
          EXPECT_LT(gap, 0.2);
          continue;
        }
        h.scale = s;
        EXPECT_TRUE(fillSelectionChain(h, p).holds)
            << precisionName(p) << " gap " << gap;
        const auto fmt = storageFormatOf(p);
        float below = std::nextafter(float(s), 0.0f);
        if (fmt)
          while (roundToFormat(below, *fmt) >= float(s))
            below = std::nextafter(below, 0.0f);
        h.scale = fmt ? roundToFormat(below, *fmt) : below;
        EXPECT_FALSE(fillSelectionChain(h, p).holds)
            << precisionName(p) << " gap " << gap;
      }
}

// The chain fails when the score error reaches half the gap, whatever the
// scale, and then no scale is derived.
TEST(SoftmaxChain, AGapWithinTheRoundingHasNoScale) {
  HeadCertificate h;
  h.gap = 0.05;
  h.competitors = 1024;
  h.leakage = 0.25;
  h.dotLength = 16;
  h.inputTerms = 40;
  EXPECT_FALSE(std::isfinite(soundSoftmaxScale(h, Precision::BF16)));
  EXPECT_TRUE(std::isfinite(soundSoftmaxScale(h, Precision::F16)));
  h.scale = 1e6;
  const SelectionChain c =
      selectionChain(h, h.scale, arithmeticOf(Precision::BF16));
  EXPECT_FALSE(c.holds);
  EXPECT_LE(c.computedGap, 0);
}

} // namespace
} // namespace handwire
