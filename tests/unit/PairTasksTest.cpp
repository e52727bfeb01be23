// String equality and disjointness: all three constructions, exhaustively on
// every pair up to n = 8 and on generated near-miss inputs at n = 1024 (the
// 2-layer Transformer and the RNN) or n = 65536 (the linear one-layer model,
// whose weights are stored sparse).
#include "Pipeline.h"
#include "TestBuild.h"
#include "TestScale.h"
#include "analysis/SeparationCard.h"
#include "eval/Evaluate.h"
#include "reference/Evaluator.h"
#include "tasks/Generators.h"
#include "tasks/TaskSemantics.h"

#include <gtest/gtest.h>

namespace handwire {
namespace {

Spec pairSpec(TaskKind kind, int64_t n) {
  Spec s;
  s.file = "<test>";
  s.task.kind = kind;
  s.task.maxLength = n;
  ModelSpec tf2, tf1, rnn;
  tf2.name = "tf2";
  tf2.layers = 2;
  tf1.name = "tf1";
  tf1.layers = 1;
  rnn.name = "rnn";
  rnn.arch = Architecture::RNN;
  s.models = {tf2, tf1, rnn};
  return s;
}

struct Param {
  TaskKind kind;
  int model;
};
class PairTasks : public ::testing::TestWithParam<Param> {};

using testing::build;

TEST_P(PairTasks, ExactOnEveryPairUpToN8) {
  // Under the sanitizers up to n = 7 (16,384 pairs instead of 65,536 at the
  // top): the instrumented double-precision reference is the slowest part.
  const int64_t maxN = handwire::testing::kSanitized ? 7 : 8;
  for (int64_t n = 1; n <= maxN; ++n) {
    Spec spec = pairSpec(GetParam().kind, n);
    Network net = build(spec, GetParam().model);
    std::vector<int32_t> tokens(static_cast<size_t>(2 * n + 1), 2);
    int64_t positives = 0;
    for (int64_t code = 0; code < (int64_t(1) << (2 * n)); ++code) {
      for (int64_t i = 0; i < 2 * n; ++i)
        tokens[i] = static_cast<int32_t>((code >> i) & 1);
      const int64_t truth = groundTruth(spec.task, tokens);
      Eigen::VectorXd l =
          referenceLogits<double>(net, tokens.data(), 2 * n + 1);
      ASSERT_EQ(decision(l.data(), 2), truth) << "n=" << n << " input " << code;
      Eigen::VectorXd lf =
          referenceLogits<float>(net, tokens.data(), 2 * n + 1).cast<double>();
      ASSERT_EQ(decision(lf.data(), 2), truth)
          << "fp32, n=" << n << " input " << code;
      EXPECT_GE(std::fabs(l[1] - l[0]), net.certificate.readoutMargin - 1e-6);
      positives += truth;
    }
    EXPECT_GT(positives, 0);
  }
}

TEST_P(PairTasks, ExactOnGeneratedNearMisses) {
  const int64_t n = GetParam().model == 1 ? 65536 : 1024;
  Spec spec = pairSpec(GetParam().kind, n);
  Network net = build(spec, GetParam().model);
  ReferenceBackend<float> ref(net);
  EvalOptions opt;
  // The reference's 2-layer pass is O(M^2 k) per input, its RNN pass O(M H)
  // and its sparse one-layer pass O(M) at n = 65536: fewer inputs here;
  // JitTest runs these models on more.
  opt.samples = handwire::testing::samples(GetParam().model == 0   ? 500
                                           : GetParam().model == 1 ? 200
                                                                   : 400);
  EvalResult r = evaluate(spec.task, net, {&ref}, opt);
  EXPECT_EQ(r.backends[0].mismatches, 0);
  EXPECT_GE(r.backends[0].minMargin, net.certificate.readoutMargin - 1e-3);
  SeparationCard card = separationCard(spec.task, net);
  EXPECT_TRUE(card.respectsBound) << card.verdict;
}

std::string paramName(const ::testing::TestParamInfo<Param> &info) {
  static const char *models[] = {"Transformer2L", "Transformer1L", "RNN"};
  return std::string(info.param.kind == TaskKind::StringEquality
                         ? "Equality"
                         : "Disjointness") +
         models[info.param.model];
}

INSTANTIATE_TEST_SUITE_P(All, PairTasks,
                         ::testing::Values(Param{TaskKind::StringEquality, 0},
                                           Param{TaskKind::StringEquality, 1},
                                           Param{TaskKind::StringEquality, 2},
                                           Param{TaskKind::Disjointness, 0},
                                           Param{TaskKind::Disjointness, 1},
                                           Param{TaskKind::Disjointness, 2}),
                         paramName);

// The one-layer models store their weights sparse; the reference then keeps
// the residual rows sparse. Expanded dense, the same network runs the dense
// path: both must give the same logits (the entries are the same; only the
// order of exact zero terms differs).
TEST(PairTasks, OneLayerSparseAndDenseReferencesAgree) {
  for (TaskKind kind : {TaskKind::StringEquality, TaskKind::Disjointness}) {
    Spec spec = pairSpec(kind, 64);
    const Network sparse = build(spec, 1);
    ASSERT_TRUE(sparse.hasSparseTransformerWeights());
    Network dense = sparse;
    makeTransformerWeightsDense(dense);
    ASSERT_FALSE(dense.hasSparseTransformerWeights());
    // Stored entries: O(n) sparse, O(n^2) dense.
    EXPECT_LT(parameterCount(sparse) * 10, parameterCount(dense));
    ExampleGenerator gen(spec.task, InputDistribution::Mixed, 5);
    Example ex;
    for (uint64_t i = 0; i < 300; ++i) {
      gen.generate(i, ex);
      const int64_t M = static_cast<int64_t>(ex.tokens.size());
      Eigen::VectorXf a = referenceLogits<float>(sparse, ex.tokens.data(), M);
      Eigen::VectorXf b = referenceLogits<float>(dense, ex.tokens.data(), M);
      ASSERT_LE((a - b).cwiseAbs().maxCoeff(), 1e-5f) << "input " << i;
      Eigen::VectorXd l = a.cast<double>();
      ASSERT_EQ(decision(l.data(), 2), groundTruth(spec.task, ex.tokens));
    }
  }
}

TEST(PairTasks, TwoLayerWidthIsLogarithmicOneLayerAndRnnLinear) {
  Spec small = pairSpec(TaskKind::StringEquality, 256);
  Spec large = pairSpec(TaskKind::StringEquality, 1024);
  Network tfS = build(small, 0), tfL = build(large, 0);
  EXPECT_LT(tfL.width - tfS.width, 60); // 2k + 7, k grows by ~ 32 ln 4 / 4
  Network oneS = build(small, 1), oneL = build(large, 1);
  EXPECT_EQ(oneL.width - 5, 4 * (oneS.width - 5)); // 2n + 5
  Network rS = build(small, 2), rL = build(large, 2);
  EXPECT_EQ(rL.width - 5, 4 * (rS.width - 5)); // 2n + 5
  SeparationCard card = separationCard(large.task, oneL);
  ASSERT_TRUE(card.boundBits);
  EXPECT_EQ(*card.boundBits, 1025);
  EXPECT_EQ(card.sizeBits, (1024 + 1 + 1) * 32);
}

} // namespace
} // namespace handwire
