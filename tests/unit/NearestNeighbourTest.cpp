// Nearest neighbour: the task semantics against brute force over real inner
// products, the generators' margin promise, the two-layer Transformer
// exhaustively at d = 3, L = 2, n <= 3, on 10,000 generated inputs at
// N = 128 and 200 at N = 1024 (JIT; 10,000 with HANDWIRE_LONG_TESTS=1), the
// RNN on every input of d = 3, n <= 3 and its sizes (JitTest's
// JitConstructions runs it at N = 1024), and the refusals (located errors).
#include "TestScale.h"

#include "Pipeline.h"
#include "analysis/SeparationCard.h"
#include "eval/Evaluate.h"
#include "jit/JitBackend.h"
#include "reference/Evaluator.h"
#include "spec/Vocabulary.h"
#include "support/Random.h"
#include "tasks/Generators.h"
#include "tasks/TaskSemantics.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>

namespace handwire {
namespace {

Spec nnSpec(int64_t N, int64_t d, int64_t L, double margin,
            Precision precision = Precision::F32) {
  Spec s;
  s.file = "<test>";
  s.task.kind = TaskKind::NearestNeighbour;
  s.task.maxLength = N;
  s.task.dimension = d;
  s.task.labels = L;
  s.task.margin = margin;
  ModelSpec tf;
  tf.name = "transformer";
  tf.layers = 2;
  tf.code = CodeFamily::Rademacher;
  tf.seed = 7;
  tf.precision = precision;
  s.models = {tf};
  return s;
}

// The same task with the RNN model.
Spec nnRnnSpec(int64_t N, int64_t d, int64_t L) {
  Spec s = nnSpec(N, d, L, 2.0 / double(d));
  s.models[0] = ModelSpec{};
  s.models[0].name = "rnn";
  s.models[0].arch = Architecture::RNN;
  return s;
}

Network build(const Spec &spec) {
  DiagnosticEngine diags;
  auto net = buildNetwork(spec, spec.models[0], {}, diags);
  std::string all;
  for (const auto &d : diags.diagnostics())
    all += diags.render(d);
  EXPECT_TRUE(net) << all;
  return net ? std::move(*net) : Network{};
}

// The point of token p as a real vector: coordinate j is +1/sqrt(d) if bit j
// of p is 0 (Vocabulary.h), computed here without the vocabulary's help.
std::vector<double> point(int64_t p, int64_t d) {
  std::vector<double> x(static_cast<size_t>(d));
  for (int64_t j = 0; j < d; ++j)
    x[j] = ((p >> j) & 1 ? -1.0 : 1.0) / std::sqrt(double(d));
  return x;
}
double dot(const std::vector<double> &a, const std::vector<double> &b) {
  double s = 0;
  for (size_t i = 0; i < a.size(); ++i)
    s += a[i] * b[i];
  return s;
}

// Brute force: the label of the largest inner product, the best and the
// runner-up inner products (-inf without a runner-up).
struct Brute {
  int64_t index = 0, label = 0;
  double best = -1e9, second = -1e9;
};
Brute bruteForce(const TaskSpec &task, const std::vector<int32_t> &tokens) {
  const Vocabulary voc = vocabularyOf(task);
  const int64_t n = (static_cast<int64_t>(tokens.size()) - 2) / 2;
  const auto q = point(tokens.back(), task.dimension);
  Brute b;
  for (int64_t i = 1; i <= n; ++i) {
    const double s = dot(q, point(tokens[2 * i - 1], task.dimension));
    if (s > b.best + 1e-12) {
      b.second = b.best;
      b.best = s;
      b.index = i;
      b.label = tokens[2 * i] - voc.firstLabelToken;
    } else if (s > b.second) {
      b.second = s;
    }
  }
  return b;
}

TEST(NearestNeighbourSemantics, MatchBruteForceOnRandomInputs) {
  SplitMix64 rng(3);
  for (int64_t d : {1, 3, 8, 16}) {
    Spec spec = nnSpec(40, d, 5, 2.0 / double(d));
    const Vocabulary voc = vocabularyOf(spec.task);
    int64_t ties = 0, unique = 0;
    for (int trial = 0; trial < 2000; ++trial) {
      const int64_t n = 1 + static_cast<int64_t>(rng.below(40));
      std::vector<int32_t> tokens{static_cast<int32_t>(voc.beginToken)};
      for (int64_t i = 0; i < n; ++i) {
        tokens.push_back(static_cast<int32_t>(rng.below(voc.symbolCount)));
        tokens.push_back(
            static_cast<int32_t>(voc.firstLabelToken + rng.below(5)));
      }
      tokens.push_back(static_cast<int32_t>(rng.below(voc.symbolCount)));
      const Brute b = bruteForce(spec.task, tokens);
      const NearestExample e = nearestExample(spec.task, tokens);
      // A tie names the earliest nearest example and has lead 0.
      EXPECT_EQ(e.index, b.index);
      EXPECT_EQ(e.label, b.label);
      const bool tie = n > 1 && b.second > b.best - 1e-9;
      if (tie) {
        ++ties;
        EXPECT_EQ(e.lead, 0);
        EXPECT_NE(checkInput(spec.task, tokens), "");
      } else {
        ++unique;
        // Lead in Hamming units is the inner-product lead times d/2.
        if (n > 1) {
          EXPECT_NEAR(double(e.lead), (b.best - b.second) * double(d) / 2,
                      1e-9);
        }
        EXPECT_EQ(checkInput(spec.task, tokens), "");
        EXPECT_EQ(groundTruth(spec.task, tokens), b.label);
      }
    }
    EXPECT_GT(unique, 0) << "d = " << d;
    if (d <= 8) {
      EXPECT_GT(ties, 0) << "d = " << d;
    }
  }
}

TEST(NearestNeighbourSemantics, MarginIsRoundedUpToTheCubeGrid) {
  Spec spec = nnSpec(8, 8, 2, 0.25); // exactly Hamming 1 at d = 8
  EXPECT_EQ(spec.task.hammingMargin(), 1);
  spec.task.margin = 0.26; // rounds up to Hamming 2: 0.5
  EXPECT_EQ(spec.task.hammingMargin(), 2);
  EXPECT_DOUBLE_EQ(spec.task.effectiveMargin(), 0.5);
  spec.task.margin = 2;
  EXPECT_EQ(spec.task.hammingMargin(), 8);
  // Malformed inputs are named.
  const Vocabulary voc = vocabularyOf(spec.task);
  EXPECT_NE(checkInput(spec.task, {0, static_cast<int32_t>(voc.beginToken)}),
            "");
  EXPECT_NE(checkInput(spec.task, {static_cast<int32_t>(voc.beginToken), 3, 5,
                                   3}), // a point where a label belongs
            "");
}

TEST(NearestNeighbourGenerators, NeverViolateTheMarginAndHitTheHardCases) {
  struct Config {
    int64_t N, d, L;
    double margin;
  };
  for (const Config c : {Config{64, 8, 3, 0.25}, Config{64, 8, 2, 0.75},
                         Config{33, 3, 2, 2.0}, Config{200, 16, 4, 0.125},
                         Config{5, 1, 2, 2.0}, Config{300, 4, 7, 1.0}}) {
    Spec spec = nnSpec(c.N, c.d, c.L, c.margin);
    const double margin = spec.task.effectiveMargin();
    for (InputDistribution dist :
         {InputDistribution::Uniform, InputDistribution::Adversarial}) {
      ExampleGenerator gen(spec.task, dist, 11);
      Example ex;
      int64_t atMargin = 0, queryIsExample = 0, first = 0, last = 0,
              allTied = 0, fullLength = 0;
      for (uint64_t i = 0; i < 2000; ++i) {
        gen.generate(i, ex);
        ASSERT_EQ(checkInput(spec.task, ex.tokens), "")
            << "d=" << c.d << " example " << i;
        const int64_t n = (static_cast<int64_t>(ex.tokens.size()) - 2) / 2;
        const Brute b = bruteForce(spec.task, ex.tokens);
        if (n > 1) {
          ASSERT_GE(b.best - b.second, margin - 1e-9)
              << "d=" << c.d << " example " << i;
        }
        ASSERT_EQ(ex.label, b.label);
        atMargin += n > 1 && std::fabs(b.best - b.second - margin) < 1e-9;
        queryIsExample += b.best > 1 - 1e-9;
        first += b.index == 1;
        last += b.index == n;
        fullLength += n == c.N;
        // Every non-nearest example exactly at the margin: ties among them.
        if (n > 2) {
          const auto q = point(ex.tokens.back(), c.d);
          bool tied = true;
          for (int64_t j = 1; j <= n && tied; ++j)
            if (j != b.index)
              tied = std::fabs(dot(q, point(ex.tokens[2 * j - 1], c.d)) -
                               b.second) < 1e-9;
          allTied += tied;
        }
      }
      if (dist == InputDistribution::Adversarial) {
        EXPECT_EQ(fullLength, 2000);
        EXPECT_GT(atMargin, 1000) << "d=" << c.d;
        EXPECT_GT(queryIsExample, 300) << "d=" << c.d;
        EXPECT_GT(first, 300);
        EXPECT_GT(last, 300);
        if (c.N > 2) {
          EXPECT_GT(allTied, 500);
        }
      } else {
        EXPECT_LT(fullLength, 1000); // n is uniform in 1..N
      }
    }
  }
}

TEST(NearestNeighbourTransformer, ExactOnEveryValidInputAtD3) {
  // d = 3, L = 2, n <= 3: every input (8 x 2 choices per example, 8 queries)
  // at every margin, in double and float; valid ones must be exact with the
  // certified read-out margin.
  for (double margin : {2.0 / 3, 4.0 / 3, 2.0}) {
    Spec spec = nnSpec(3, 3, 2, margin);
    Network net = build(spec);
    const Vocabulary voc = vocabularyOf(spec.task);
    int64_t valid = 0;
    for (int64_t n = 1; n <= 3; ++n) {
      std::vector<int32_t> tokens(static_cast<size_t>(2 * n + 2));
      tokens[0] = static_cast<int32_t>(voc.beginToken);
      const int64_t count = int64_t(1) << (4 * n + 3);
      for (int64_t code = 0; code < count; ++code) {
        int64_t c = code;
        for (int64_t i = 1; i <= n; ++i, c >>= 4) {
          tokens[2 * i - 1] = static_cast<int32_t>(c & 7);
          tokens[2 * i] =
              static_cast<int32_t>(voc.firstLabelToken + ((c >> 3) & 1));
        }
        tokens.back() = static_cast<int32_t>(c & 7);
        if (!checkInput(spec.task, tokens).empty())
          continue;
        ++valid;
        const int64_t truth = groundTruth(spec.task, tokens);
        Eigen::VectorXd l = referenceLogits<double>(
            net, tokens.data(), static_cast<int64_t>(tokens.size()));
        ASSERT_EQ(decision(l.data(), 2), truth)
            << "margin " << margin << " n=" << n << " input " << code;
        EXPECT_GE(std::fabs(l[1] - l[0]), net.certificate.readoutMargin - 1e-6);
        Eigen::VectorXd lf =
            referenceLogits<float>(net, tokens.data(),
                                   static_cast<int64_t>(tokens.size()))
                .cast<double>();
        ASSERT_EQ(decision(lf.data(), 2), truth)
            << "fp32, margin " << margin << " n=" << n << " input " << code;
      }
    }
    // At margin 2 (Hamming 3) the nearest equals the query and every other
    // example is its antipode: 8 queries x n positions x 2^n label choices,
    // 16 + 64 + 192 after the 128 inputs with n = 1.
    if (margin == 2.0) {
      EXPECT_EQ(valid, 128 + 64 + 192);
    } else
      EXPECT_GT(valid, 1000) << "margin " << margin;
  }
}

TEST(NearestNeighbourTransformer, WidthAndScalesFollowTheConstruction) {
  Spec spec = nnSpec(256, 8, 3, 0.25);
  Network net = build(spec);
  const int64_t k = net.certificate.code->dim;
  EXPECT_EQ(net.width, 2 * 8 + 3 + 2 + 2 * k);
  EXPECT_EQ(net.certificate.code->count, 2 * 256 + 2);
  ASSERT_EQ(net.certificate.heads.size(), 2u);
  // Layer 1: leakage margin/8 against 2N + 1 keys; layer 2: gap margin/2.
  const HeadCertificate &copy = net.certificate.heads[0],
                        &retrieve = net.certificate.heads[1];
  EXPECT_DOUBLE_EQ(copy.leakage, 0.25 / 8);
  EXPECT_EQ(copy.competitors, 2 * 256 + 1);
  EXPECT_DOUBLE_EQ(retrieve.gap, 0.125);
  EXPECT_DOUBLE_EQ(retrieve.logitBound, 3);
  // Exact arithmetic's scale, raised a little by the rounding chain.
  const double exact = (std::log(513.0) + std::log(3.0)) / 0.125;
  EXPECT_GE(retrieve.scale, exact);
  EXPECT_LE(retrieve.scale, exact * 1.01);
  EXPECT_GE(net.certificate.readoutMargin, 0.5 - 1e-9);
  // A larger margin needs a smaller scale.
  Spec wide = nnSpec(256, 8, 3, 1.0);
  EXPECT_LT(build(wide).certificate.heads[1].scale, retrieve.scale);
  // Two layers: no lower bound applies; the card says why.
  const SeparationCard card = separationCard(spec.task, net);
  EXPECT_EQ(card.bound, "none");
  EXPECT_EQ(card.alphabetSize, 3);
  EXPECT_NE(card.boundNote.find("2d + L + 2 + 2k"), std::string::npos);
}

TEST(NearestNeighbourTransformer, RnnBoundIsNLog2LCappedByTheCube) {
  // The card's RNN bound, on a stand-in RNN network of 10 units (the real
  // one is tested below).
  Network rnn;
  rnn.arch = Architecture::RNN;
  rnn.width = 10;
  rnn.body = ElmanBody{};
  Spec spec = nnSpec(1024, 16, 4, 0.125);
  SeparationCard card = separationCard(spec.task, rnn);
  ASSERT_TRUE(card.boundBits);
  EXPECT_DOUBLE_EQ(*card.boundBits, 1024 * 2.0); // N log2 L
  EXPECT_FALSE(card.respectsBound);
  // d = 4 has 16 points: at most 16 labels can be asked about.
  spec = nnSpec(1024, 4, 4, 0.5);
  card = separationCard(spec.task, rnn);
  EXPECT_DOUBLE_EQ(*card.boundBits, 16 * 2.0);
  // Margin 2 at d = 4 (Hamming 4): Gilbert-Varshamov gives
  // 16 / (1 + 4 + 6 + 4) = 1 point.
  spec = nnSpec(1024, 4, 4, 2.0);
  card = separationCard(spec.task, rnn);
  EXPECT_DOUBLE_EQ(*card.boundBits, 1 * 2.0);
}

TEST(NearestNeighbourTransformer, JitAgreesWithReferenceAndIsExactAt10000) {
  // N = 128 (M = 258 tokens): JIT and reference side by side on 300 inputs,
  // then the JIT alone on 10,000, half of them sets at the margin.
  Spec spec = nnSpec(128, 16, 4, 0.125);
  spec.models[0].code = CodeFamily::Auto; // the narrowest certified code
  Network net = build(spec);
  JitBackend jit(net);
  ReferenceBackend<float> ref(net);
  EvalOptions both;
  both.samples = handwire::testing::samples(300);
  EvalResult r = evaluate(spec.task, net, {&jit, &ref}, both);
  EXPECT_EQ(r.disagreements, 0);
  EXPECT_LE(r.maxLogitDifference, net.certificate.logitTolerance);
  EXPECT_EQ(r.backends[0].mismatches, 0);
  EXPECT_EQ(r.backends[1].mismatches, 0);
  EvalOptions many;
  many.samples = 10000;
  many.seed = 77;
  EvalResult m = evaluate(spec.task, net, {&jit}, many);
  EXPECT_EQ(m.samples, 10000);
  EXPECT_EQ(m.adversarial, 5000);
  EXPECT_EQ(m.backends[0].mismatches, 0);
  EXPECT_GE(m.backends[0].minMargin, net.certificate.readoutMargin - 1e-3);
}

TEST(NearestNeighbourTransformer, ExactAtN1024WithJit) {
  // N = 1024 (M = 2050 tokens): layer 1 attends from every row, O(M^2 k) per
  // input (about 30 ms at k = 32), so CI runs 200 inputs (100 at n = N, sets
  // at the margin); HANDWIRE_LONG_TESTS=1 runs 10,000.
  Spec spec = nnSpec(1024, 16, 4, 0.125);
  spec.models[0].code = CodeFamily::Auto; // the narrowest certified code
  Network net = build(spec);
  JitBackend jit(net);
  EvalOptions o;
  o.samples = std::getenv("HANDWIRE_LONG_TESTS") ? 10000 : 200;
  o.seed = 5;
  EvalResult m = evaluate(spec.task, net, {&jit}, o);
  EXPECT_EQ(m.samples, o.samples);
  EXPECT_EQ(m.backends[0].mismatches, 0);
  EXPECT_GE(m.backends[0].minMargin, net.certificate.readoutMargin - 1e-3);
}

// Every input of d = 3 with n <= 3 examples over L labels, through the
// double and float references and the JIT: the RNN must answer every input
// whose nearest example is unique, with read-out margin >= 1, whatever the
// task's margin.
TEST(NearestNeighbourRnn, ExactOnEveryInputWithAUniqueNearestAtD3) {
  for (int64_t L : {2, 3}) {
    Spec spec = nnRnnSpec(3, 3, L);
    Network net = build(spec);
    EXPECT_EQ(net.provenance.construction, "nearest_neighbour/rnn-memory");
    JitBackend jit(net);
    const Vocabulary voc = vocabularyOf(spec.task);
    int64_t unique = 0, ties = 0;
    std::vector<double> got(static_cast<size_t>(L));
    for (int64_t n = 1; n <= 3; ++n) {
      std::vector<int32_t> tokens(static_cast<size_t>(2 * n + 2));
      tokens[0] = static_cast<int32_t>(voc.beginToken);
      int64_t count = 8; // the query
      for (int64_t i = 0; i < n; ++i)
        count *= 8 * L;
      for (int64_t code = 0; code < count; ++code) {
        int64_t c = code;
        for (int64_t i = 1; i <= n; ++i) {
          tokens[2 * i - 1] = static_cast<int32_t>(c % 8);
          c /= 8;
          tokens[2 * i] = static_cast<int32_t>(voc.firstLabelToken + c % L);
          c /= L;
        }
        tokens.back() = static_cast<int32_t>(c);
        const NearestExample e = nearestExample(spec.task, tokens);
        if (n > 1 && e.lead == 0) {
          ++ties;
          continue;
        }
        ++unique;
        const int64_t length = static_cast<int64_t>(tokens.size());
        Eigen::VectorXd l = referenceLogits<double>(net, tokens.data(), length);
        ASSERT_EQ(decision(l.data(), L), e.label) << "n=" << n << " " << code;
        for (int64_t k = 0; k < L; ++k)
          if (k != e.label) {
            ASSERT_GE(l[e.label] - l[k], 1.0) << "n=" << n << " " << code;
          }
        Eigen::VectorXf lf = referenceLogits<float>(net, tokens.data(), length);
        jit.logits(tokens.data(), length, got.data());
        for (int64_t k = 0; k < L; ++k) {
          ASSERT_EQ(double(lf[k]), l[k]) << "integers: fp32 is exact";
          ASSERT_EQ(got[k], l[k]) << "JIT, n=" << n << " " << code;
        }
      }
    }
    EXPECT_GT(unique, 1000);
    EXPECT_GT(ties, 1000); // the enumeration did reach the invalid inputs
  }
}

TEST(NearestNeighbourRnn, StateIsLinearInNAndRespectsTheBound) {
  for (int64_t N : {16, 256}) {
    const int64_t d = 8, L = 3;
    Spec spec = nnRnnSpec(N, d, L);
    Network net = build(spec);
    // clock (2N + 1), the token's bits and label, then per example a write
    // buffer and a memory for its d bits and its label.
    EXPECT_EQ(net.width, 2 * N + 1 + d + L + 2 * N * (d + L));
    const ElmanBody &e = net.elman();
    ASSERT_EQ(e.head.size(), 4u);
    EXPECT_EQ(e.head[0].weight.rows(), N * (2 * d + L));
    EXPECT_EQ(e.head[1].weight.rows(), N * (1 + L));
    EXPECT_EQ(e.head[2].weight.rows(), N * L * (d + 1));
    EXPECT_EQ(e.head[3].weight.rows(), L * (d + 1));
    // Each threshold unit reads its example's distance and label only.
    EXPECT_EQ(e.head[2].weight.nonZeros(), 2 * N * L * (d + 1));
    EXPECT_EQ(net.readoutWidth(), L * (d + 1));
    // The input matrix holds the token's bits and label once, not per slot.
    EXPECT_EQ(e.input.nonZeros(), d * (int64_t(1) << (d - 1)) + L + 1);
    const SeparationCard card = separationCard(spec.task, net);
    ASSERT_TRUE(card.boundBits);
    EXPECT_TRUE(card.respectsBound);
    EXPECT_EQ(card.sizeBits, 32 * net.width);
  }
}

TEST(NearestNeighbourTransformer, TooSmallAScaleReallyFails) {
  // The certificate is not decorative: a scale of 1 for both heads is
  // refused, and built anyway it misses the nearest label.
  Spec spec = nnSpec(64, 8, 4, 0.25);
  spec.models[0].scale = 1.0;
  DiagnosticEngine diags;
  EXPECT_FALSE(buildNetwork(spec, spec.models[0], {}, diags));
  CompileOptions loose;
  loose.allowUncertified = true;
  DiagnosticEngine diags2;
  auto net = buildNetwork(spec, spec.models[0], loose, diags2);
  ASSERT_TRUE(net);
  ReferenceBackend<double> ref(*net);
  EvalOptions o;
  o.samples = 300;
  EvalResult r = evaluate(spec.task, *net, {&ref}, o);
  EXPECT_GT(r.backends[0].mismatches, 0);
}

TEST(NearestNeighbourTransformer, MarginTooSmallForBf16IsRefusedAtMargin) {
  Spec spec = nnSpec(64, 16, 4, 0.125, Precision::BF16);
  spec.task.locs["margin"] = {"nn.task", 6, 16};
  DiagnosticEngine diags;
  EXPECT_FALSE(buildNetwork(spec, spec.models[0], {}, diags));
  ASSERT_FALSE(diags.diagnostics().empty());
  const Diagnostic &e = diags.diagnostics()[0];
  EXPECT_EQ(e.loc.line, 6);
  EXPECT_EQ(e.loc.col, 16);
  EXPECT_NE(e.message.find("within the rounding of its scores in bf16"),
            std::string::npos)
      << e.message;
  EXPECT_NE(e.message.find("raise 'margin' to at least 0.625"),
            std::string::npos)
      << e.message;
  // f16 (11 bits) keeps it; bf16 keeps the suggested margin 0.625 and is
  // exact there in its emulated forward pass.
  EXPECT_TRUE(build(nnSpec(64, 16, 4, 0.125, Precision::F16)).width > 0);
  Spec ok = nnSpec(64, 16, 4, 0.625, Precision::BF16);
  Network net = build(ok);
  ASSERT_GT(net.width, 0);
  LowPrecisionBackend bf16(net, StorageFormat::BF16);
  EvalOptions o;
  o.samples = handwire::testing::samples(500);
  EvalResult r = evaluate(ok.task, net, {&bf16}, o);
  EXPECT_EQ(r.backends[0].mismatches, 0);
}

TEST(NearestNeighbourSpec, FieldErrorsAreLocated) {
  struct Case {
    const char *text;
    int line, col;
    const char *message;
  };
  const Case cases[] = {
      {"task nearest_neighbour {\n  max_length = 8;\n  dimension = 17;\n  "
       "labels = 2;\n}\nmodel transformer { layers = 2; }\n",
       3, 15, "'dimension' must be at most 16, got 17"},
      {"task nearest_neighbour {\n  max_length = 8;\n  dimension = 4;\n  "
       "labels = 2;\n  margin = 2.01;\n}\nmodel transformer { layers = 2; }\n",
       5, 12, "'margin' must be at most 2"},
      {"task nearest_neighbour {\n  max_length = 8;\n  dimension = 4;\n  "
       "labels = 2;\n  margin = -1;\n}\nmodel transformer { layers = 2; }\n",
       5, 12, "'margin' must be greater than 0"},
      {"task nearest_neighbour {\n  max_length = 8;\n  dimension = 4;\n  "
       "labels = 1;\n}\nmodel transformer { layers = 2; }\n",
       4, 12, "labels must be at least 2, got 1"},
      {"task nearest_neighbour {\n  max_length = 8;\n  labels = 2;\n}\n"
       "model transformer { layers = 2; }\n",
       1, 6, "needs a 'dimension' field"},
  };
  for (const Case &c : cases) {
    DiagnosticEngine diags;
    EXPECT_FALSE(loadSpecSource("nn.task", c.text, {}, diags)) << c.text;
    ASSERT_FALSE(diags.diagnostics().empty()) << c.text;
    const Diagnostic &e = diags.diagnostics()[0];
    EXPECT_EQ(e.loc.file, "nn.task");
    EXPECT_EQ(e.loc.line, c.line) << c.message;
    EXPECT_EQ(e.loc.col, c.col) << c.message;
    EXPECT_NE(e.message.find(c.message), std::string::npos) << e.message;
  }
  // The default margin is the smallest one, 2/d.
  DiagnosticEngine diags;
  auto spec = loadSpecSource("nn.task",
                             "task nearest_neighbour { max_length = 8; "
                             "dimension = 4; labels = 3; }\n"
                             "model transformer { layers = 2; }\n",
                             {}, diags);
  ASSERT_TRUE(spec);
  EXPECT_DOUBLE_EQ(spec->task.margin, 0.5);
  EXPECT_EQ(spec->task.hammingMargin(), 1);
}

} // namespace
} // namespace handwire
