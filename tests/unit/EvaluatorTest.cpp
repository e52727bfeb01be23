// The reference evaluator against hand-computed forward passes.
#include "reference/Evaluator.h"

#include "eval/Evaluate.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

namespace handwire {
namespace {

// D = 2, one head with dk = dv = 1: q = s x[0], k = x[1], v = x[0], out ->
// x[1].
Network tinyTransformer(float s) {
  Network net;
  net.tokenCount = 2;
  net.classCount = 2;
  net.maxSequenceLength = 3;
  net.width = 2;
  net.blocks = {{"a", 0, 1, ""}, {"b", 1, 1, ""}};
  TransformerBody t;
  t.embed.token = Matrix{{1, 0}, {2, 0}};
  t.embed.position = Matrix{{0, 1}, {0, -1}, {0, 0.5}};
  AttentionHead h;
  h.query = Matrix{{s, 0}};
  h.key = Matrix{{0, 1}};
  h.value = Matrix{{1, 0}};
  h.output = Matrix(2, 1); // Matrix{{0}, {1}} would mean "0 rows, 1 column"
  h.output.dense() << 0, 1;
  t.layers.push_back({{h}, std::nullopt});
  net.body = t;
  net.readout.weight = Matrix{{1, 0}, {0, 1}};
  net.readout.bias = Vector::Zero(2);
  return net;
}

TEST(ReferenceEvaluator, MatchesAHandComputedAttention) {
  Network net = tinyTransformer(2.0f);
  const int32_t tokens[] = {0, 1, 1};
  // x = [1,1], [2,-1], [2,0.5]; last query = 2*2 = 4; keys 1, -1, 0.5.
  const double w0 = std::exp(4.0), w1 = std::exp(-4.0), w2 = std::exp(2.0);
  const double mixed = (1 * w0 + 2 * w1 + 2 * w2) / (w0 + w1 + w2);
  Eigen::VectorXd l = referenceLogits<double>(net, tokens, 3);
  EXPECT_NEAR(l[0], 2.0, 1e-12);
  EXPECT_NEAR(l[1], 0.5 + mixed, 1e-12);
  Eigen::VectorXf lf = referenceLogits<float>(net, tokens, 3);
  EXPECT_NEAR(lf[1], 0.5 + mixed, 1e-5);
}

TEST(ReferenceEvaluator, SoftmaxIsStableForHugeScores) {
  // Scores near 1e30 overflow a naive exp; the max-subtracted one is fine.
  Network net = tinyTransformer(1e30f);
  const int32_t tokens[] = {0, 1, 1};
  Eigen::VectorXf l = referenceLogits<float>(net, tokens, 3);
  EXPECT_TRUE(l.allFinite());
  EXPECT_NEAR(l[1], 0.5 + 1.0, 1e-6); // all mass on key 0, value 1
}

TEST(ReferenceEvaluator, ElmanRecurrenceByHand) {
  // h_t = ReLU(W h + U e(w) + b), H = 2: unit 0 counts ones, unit 1 copies unit
  // 0.
  Network net;
  net.arch = Architecture::RNN;
  net.tokenCount = 2;
  net.classCount = 2;
  net.maxSequenceLength = 10;
  net.width = 2;
  net.blocks = {{"h", 0, 2, ""}};
  ElmanBody e;
  e.recurrent.resize(2, 2);
  e.recurrent.insert(0, 0) = 1;
  e.recurrent.insert(1, 0) = 1;
  e.recurrent.makeCompressed();
  e.input.resize(2, 2);
  e.input.insert(0, 1) = 1;
  e.input.makeCompressed();
  e.bias = Vector::Zero(2);
  e.initial = Vector::Zero(2);
  net.body = e;
  net.readout.weight = Matrix{{1, 0}, {0, 1}};
  net.readout.bias = Vector(2);
  net.readout.bias << 0, -0.5;
  const int32_t tokens[] = {1, 0, 1, 1};
  Eigen::VectorXd l = referenceLogits<double>(net, tokens, 4);
  EXPECT_DOUBLE_EQ(l[0], 3);       // three ones
  EXPECT_DOUBLE_EQ(l[1], 2 - 0.5); // the count one step earlier
}

TEST(Decision, TiesAreNotDecisions) {
  const double a[] = {1, 3, 2}, b[] = {3, 1, 3}, c[] = {5};
  EXPECT_EQ(decision(a, 3), 1);
  EXPECT_EQ(decision(b, 3), -1);
  EXPECT_EQ(decision(c, 1), 0);
}

TEST(Decision, NaNLogitsAreNotDecisions) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double a[] = {nan, nan}, b[] = {1, nan}, c[] = {nan, 1, 0};
  EXPECT_EQ(decision(a, 2), -1); // would be 0: NaN > NaN is false
  EXPECT_EQ(decision(b, 2), -1);
  EXPECT_EQ(decision(c, 3), -1);
}

} // namespace
} // namespace handwire
