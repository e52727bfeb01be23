// Bounded Dyck: semantics, generators, and the constant-size RNN, exhaustively
// on all strings up to length 10 and on generated inputs at N = 1024.
#include "TestScale.h"
#include "analysis/SeparationCard.h"
#include "driver/Pipeline.h"
#include "eval/Evaluate.h"
#include "reference/Evaluator.h"
#include "spec/Vocabulary.h"
#include "tasks/Generators.h"
#include "tasks/TaskSemantics.h"

#include <gtest/gtest.h>

namespace handwire {
namespace {

Spec dyckSpec(int64_t N, int64_t k, int64_t m) {
  Spec s;
  s.file = "<test>";
  s.task.kind = TaskKind::BoundedDyck;
  s.task.maxLength = N;
  s.task.brackets = k;
  s.task.depth = m;
  ModelSpec rnn;
  rnn.name = "rnn";
  rnn.arch = Architecture::RNN;
  s.models = {rnn};
  return s;
}

std::vector<int32_t>
parse(const std::string &text) { // "([])" -> tokens + <eos>
  const std::string pairs = "()[]{}<>";
  std::vector<int32_t> t;
  for (char c : text)
    t.push_back(static_cast<int32_t>(pairs.find(c)));
  return t;
}

TEST(BoundedDyckSemantics, ByHand) {
  TaskSpec t = dyckSpec(20, 2, 2).task;
  auto in = [&](const std::string &s) {
    auto b = parse(s);
    return isBoundedDyck(t, b.data(), static_cast<int64_t>(b.size()));
  };
  EXPECT_TRUE(in(""));
  EXPECT_TRUE(in("()[]"));
  EXPECT_TRUE(in("([])[()]"));
  EXPECT_FALSE(in("((()))")); // depth 3 > 2
  EXPECT_FALSE(in("(]"));
  EXPECT_FALSE(in(")("));
  EXPECT_FALSE(in("(()"));
}

TEST(BoundedDyckRnn, ExactOnEveryShortString) {
  // Every string of Dyck-(2,2)'s alphabet up to length 10 (1.4M strings), and
  // smaller sweeps of other (k, m).
  struct Case {
    int64_t k, m, maxLen;
  };
  // (Under the sanitizers, Dyck-(2,2) up to length 8: 87k strings.)
  for (auto [k, m, maxLen] :
       {Case{2, 2, handwire::testing::kSanitized ? 8 : 10}, Case{1, 3, 12},
        Case{3, 1, 6}}) {
    Spec spec = dyckSpec(maxLen, k, m);
    DiagnosticEngine diags;
    auto net = buildNetwork(spec, spec.models[0], {}, diags);
    ASSERT_TRUE(net);
    const Vocabulary voc = vocabularyOf(spec.task);
    int64_t accepted = 0, total = 0;
    for (int64_t n = 0; n <= maxLen; ++n) {
      int64_t combos = 1;
      for (int64_t i = 0; i < n; ++i)
        combos *= 2 * k;
      std::vector<int32_t> tokens(static_cast<size_t>(n + 1));
      tokens[n] = static_cast<int32_t>(voc.endToken);
      for (int64_t code = 0; code < combos; ++code) {
        int64_t x = code;
        for (int64_t i = 0; i < n; ++i, x /= 2 * k)
          tokens[i] = static_cast<int32_t>(x % (2 * k));
        const int64_t truth = groundTruth(spec.task, tokens);
        Eigen::VectorXf l = referenceLogits<float>(
            *net, tokens.data(), static_cast<int64_t>(tokens.size()));
        Eigen::VectorXd ld = l.cast<double>();
        ASSERT_EQ(decision(ld.data(), 2), truth) << "k=" << k << " m=" << m;
        // Units are exactly 0/1, so logits are exactly 0, 1 or 1/2.
        EXPECT_TRUE(l[1] == 0.0f || l[1] == 1.0f);
        accepted += truth;
        ++total;
      }
    }
    EXPECT_GT(accepted, 10);
    EXPECT_GT(total, 1000);
  }
}

TEST(BoundedDyckRnn, ExactOnGeneratedInputsAtN1024AndSizeIsConstant) {
  int64_t width = 0;
  for (int64_t N : {64, 1024}) {
    Spec spec = dyckSpec(N, 2, 2);
    DiagnosticEngine diags;
    auto net = buildNetwork(spec, spec.models[0], {}, diags);
    ASSERT_TRUE(net);
    if (width) {
      EXPECT_EQ(net->width, width); // independent of N
    }
    width = net->width;
    EXPECT_EQ(width, 7 * 5 + 1);
    ReferenceBackend<float> ref(*net);
    EvalOptions opt;
    opt.samples = handwire::testing::samples(10000);
    EvalResult r = evaluate(spec.task, *net, {&ref}, opt);
    EXPECT_EQ(r.backends[0].mismatches, 0);
    SeparationCard card = separationCard(spec.task, *net);
    ASSERT_TRUE(card.boundBits);
    EXPECT_NEAR(*card.boundBits, 3.0, 1e-9); // log2(1 + 7)
    EXPECT_TRUE(card.respectsBound);
  }
}

TEST(BoundedDyckGenerators, BothClassesAndMaximumDepthAppear) {
  TaskSpec t = dyckSpec(100, 2, 2).task;
  for (auto dist :
       {InputDistribution::Uniform, InputDistribution::Adversarial}) {
    ExampleGenerator g(t, dist, 4);
    Example ex;
    int64_t accept = 0;
    for (uint64_t i = 0; i < 600; ++i) {
      g.generate(i, ex);
      ASSERT_TRUE(checkInput(t, ex.tokens).empty()) << checkInput(t, ex.tokens);
      accept += ex.label;
    }
    EXPECT_GT(accept, 100);
    EXPECT_LT(accept, 500);
  }
}

} // namespace
} // namespace handwire
