// Associative recall: the two constructions are exact on generated inputs
// (uniform and adversarial, with more keys than pairs and the reverse), the
// Transformer's width grows with log K only, and the RNN's state is the key
// table the lower bound counts.
#include "TestSpecs.h"

#include "Pipeline.h"
#include "analysis/SeparationCard.h"
#include "eval/Evaluate.h"
#include "ir/Verifier.h"
#include "reference/Evaluator.h"
#include "spec/Vocabulary.h"
#include "tasks/TaskSemantics.h"

#include <gtest/gtest.h>

#include <cmath>

namespace handwire {
namespace {

Spec recallSpec(int64_t N, int64_t K, Architecture arch) {
  Spec s = testing::taskSpec(TaskKind::AssociativeRecall, N, 1, arch);
  s.task.keys = K; // values: a, b, c, d
  return s;
}

Network build(const Spec &spec) {
  DiagnosticEngine diags;
  std::optional<Network> net = buildNetwork(spec, spec.models[0], {}, diags);
  std::string all;
  for (const auto &d : diags.diagnostics())
    all += diags.render(d);
  EXPECT_TRUE(net.has_value()) << all;
  return net ? std::move(*net) : Network{};
}

class AssociativeRecall : public ::testing::TestWithParam<
                              std::tuple<Architecture, int64_t, int64_t>> {};

TEST_P(AssociativeRecall, ExactOnGeneratedInputs) {
  const auto [arch, N, K] = GetParam();
  const Spec spec = recallSpec(N, K, arch);
  const Network net = build(spec);
  EXPECT_TRUE(verifyNetwork(net).empty());
  EXPECT_TRUE(net.certificate.certified);
  ReferenceBackend<float> ref(net);
  EvalOptions opt;
  opt.samples = 3000;
  opt.seed = 11;
  const EvalResult r = evaluate(spec.task, net, {&ref}, opt);
  EXPECT_EQ(r.samples, opt.samples);
  EXPECT_EQ(r.backends[0].mismatches, 0);
  EXPECT_GE(r.backends[0].minMargin, net.certificate.readoutMargin - 1e-4);
}

INSTANTIATE_TEST_SUITE_P(
    Cases, AssociativeRecall,
    ::testing::Values(std::tuple{Architecture::Transformer, 64, 16},
                      std::tuple{Architecture::Transformer, 16, 256},
                      std::tuple{Architecture::RNN, 64, 16},
                      std::tuple{Architecture::RNN, 16, 256}),
    [](const auto &info) {
      return std::string(architectureName(std::get<0>(info.param))) + "N" +
             std::to_string(std::get<1>(info.param)) + "K" +
             std::to_string(std::get<2>(info.param));
    });

// The decisive input for a lookup: the queried key's code is the one most
// coherent with another present key's, and every other pair holds one wrong
// value. Handwritten, so it does not depend on the generator.
TEST(AssociativeRecallTransformer, CoherentKeysDoNotConfuseIt) {
  const Spec spec = recallSpec(16, 256, Architecture::Transformer);
  const Network net = build(spec);
  ASSERT_TRUE(net.certificate.code);
  ASSERT_FALSE(net.certificate.code->worstPairs.empty());
  const auto [a, b] = net.certificate.code->worstPairs[0];
  const Vocabulary voc = vocabularyOf(spec.task);
  // (b, d) (a, c) (x, d) .. ?a: the answer is c (2).
  std::vector<int32_t> tokens = {static_cast<int32_t>(b * 4 + 3),
                                 static_cast<int32_t>(a * 4 + 2)};
  for (int32_t key = 0; tokens.size() < 16; ++key)
    if (key != a && key != b)
      tokens.push_back(key * 4 + 3);
  tokens.push_back(static_cast<int32_t>(voc.firstIndexToken + a));
  ASSERT_EQ(checkInput(spec.task, tokens), "");
  ASSERT_EQ(groundTruth(spec.task, tokens), 2);
  const Eigen::VectorXf l =
      referenceLogits<float>(net, tokens.data(), int64_t(tokens.size()));
  EXPECT_EQ(decision(l.cast<double>().eval().data(), l.size()), 2);
}

TEST(AssociativeRecallTransformer, WidthGrowsWithTheCodeOnly) {
  const Network small = build(recallSpec(64, 64, Architecture::Transformer));
  const Network large = build(recallSpec(64, 4096, Architecture::Transformer));
  // D = V + 2k + 1 with k the code's dimension.
  EXPECT_EQ(small.width, 4 + 2 * small.certificate.code->dim + 1);
  EXPECT_EQ(large.width, 4 + 2 * large.certificate.code->dim + 1);
  EXPECT_LT(large.width, 4 * small.width); // 64x the keys
}

TEST(AssociativeRecallRnn, StateIsTheKeyTableTheBoundCounts) {
  // K <= N: the bound is K log2 V = 16 x 2 bits, the state 2 K b units.
  const Spec spec = recallSpec(64, 16, Architecture::RNN);
  const Network net = build(spec);
  EXPECT_EQ(net.width, 2 * 16 * 2);
  const SeparationCard card = separationCard(spec.task, net);
  ASSERT_TRUE(card.boundBits);
  EXPECT_DOUBLE_EQ(*card.boundBits, 16 * std::log2(4.0));
  EXPECT_TRUE(card.respectsBound);
  // Fewer pairs than keys: the bound counts min(N, K).
  EXPECT_DOUBLE_EQ(
      *separationCard(recallSpec(8, 16, Architecture::RNN).task, net).boundBits,
      8 * std::log2(4.0));
}

} // namespace
} // namespace handwire
