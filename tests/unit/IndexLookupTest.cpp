// End-to-end claims of the index-lookup constructions, without the parser:
// exact on every input at small N, on generated inputs at N = 1024, and a
// scale below the certificate's requirement is refused and really fails.
#include "TestBuild.h"
#include "TestScale.h"
#include "TestSpecs.h"

#include "Pipeline.h"
#include "analysis/SeparationCard.h"
#include "codes/NearOrthogonalCode.h"
#include "eval/Evaluate.h"
#include "ir/Verifier.h"
#include "jit/JitBackend.h"
#include "reference/Evaluator.h"
#include "spec/Vocabulary.h"
#include "tasks/TaskSemantics.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

namespace handwire {
namespace {

using testing::indexLookupSpec;

using testing::build;

class IndexLookup : public ::testing::TestWithParam<int> {};

TEST_P(IndexLookup, ExactOnEveryInputAtSmallN) {
  for (const auto &[n, v] :
       {std::pair{5, 2}, std::pair{4, 3}, std::pair{3, 5}}) {
    const int N = n, V = v; // captured below (bindings cannot be, in C++17)
    Spec spec = indexLookupSpec(N, V);
    Network net = build(spec, GetParam());
    EXPECT_TRUE(verifyNetwork(net).empty());
    int64_t count = 0;
    handwire::testing::forAllIndexLookupInputs(
        spec.task, [&](const std::vector<int32_t> &tokens) {
          const int64_t truth = groundTruth(spec.task, tokens);
          for (bool dbl : {false, true}) {
            Eigen::VectorXd l =
                dbl ? referenceLogits<double>(net, tokens.data(),
                                              int64_t(tokens.size()))
                    : referenceLogits<float>(net, tokens.data(),
                                             int64_t(tokens.size()))
                          .cast<double>();
            ASSERT_EQ(decision(l.data(), l.size()), truth)
                << "N=" << N << " V=" << V;
            // The certified margin holds on every input.
            double other = -1e300;
            for (int64_t c = 0; c < l.size(); ++c)
              if (c != truth)
                other = std::max(other, l[c]);
            EXPECT_GE(l[truth] - other, net.certificate.readoutMargin - 1e-4);
          }
          ++count;
        });
    EXPECT_GT(count, 30);
  }
}

TEST_P(IndexLookup, ExactOnGeneratedInputsAtN1024) {
  Spec spec = indexLookupSpec(1024);
  Network net = build(spec, GetParam());
  ReferenceBackend<float> ref(net);
  EvalOptions opt;
  // The RNN's reference pass is O(N H) per input (0.06 s here); JitTest runs
  // it on 10,000.
  opt.samples = handwire::testing::samples(GetParam() == 0 ? 10000 : 400);
  opt.seed = 2024;
  opt.inputs = InputDistribution::Mixed;
  EvalResult r = evaluate(spec.task, net, {&ref}, opt);
  EXPECT_EQ(r.samples, opt.samples);
  EXPECT_EQ(r.adversarial, opt.samples / 2);
  EXPECT_EQ(r.backends[0].mismatches, 0);
  EXPECT_GE(r.backends[0].minMargin, net.certificate.readoutMargin - 1e-4);
}

INSTANTIATE_TEST_SUITE_P(Architectures, IndexLookup, ::testing::Values(0, 1),
                         [](const auto &info) {
                           return info.param == 0 ? "Transformer" : "RNN";
                         });

TEST(IndexLookupTransformer, ScaleIsDerivedFromTheMeasuredGap) {
  Spec spec = indexLookupSpec(1024);
  Network net = build(spec, 0);
  ASSERT_TRUE(net.certificate.code);
  ASSERT_EQ(net.certificate.heads.size(), 1u);
  const HeadCertificate &h = net.certificate.heads[0];
  const double gap = 1 - net.certificate.code->maxInnerProduct;
  EXPECT_DOUBLE_EQ(h.gap, gap);
  EXPECT_EQ(h.competitors, 1024);
  EXPECT_DOUBLE_EQ(h.leakage, 0.25); // read-out margin 1/2
  // Exact arithmetic's scale, raised by the rounding chain (fp32: by a
  // few parts in 10^5), and the target weight the chain certifies there.
  const double exact = (std::log(1024.0) + std::log(3.0)) / gap;
  EXPECT_GE(h.scale, exact);
  EXPECT_LE(h.scale, exact * (1 + 1e-4));
  EXPECT_GE(h.worstTargetWeight, 0.75);
  EXPECT_LE(h.outputError, 0.25);
  EXPECT_EQ(h.storedScale, double(float(h.scale)));
  EXPECT_TRUE(net.certificate.certified);
  // The scale really is folded into the query weights.
  const AttentionHead &head = net.transformer().layers[0].heads[0];
  EXPECT_NEAR(head.query.dense().cwiseAbs().maxCoeff(), h.scale,
              1e-3 * h.scale);
}

TEST(IndexLookupTransformer, TooSmallAScaleIsRefusedAndReallyFails) {
  Spec spec = indexLookupSpec(256);
  spec.models[0].scale = 1.0;
  spec.models[0].locs["scale"] = {"spec.task", 9, 11};
  DiagnosticEngine diags;
  EXPECT_FALSE(buildNetwork(spec, spec.models[0], {}, diags));
  ASSERT_TRUE(diags.hasErrors());
  EXPECT_EQ(diags.diagnostics()[0].loc.line, 9);
  EXPECT_NE(diags.diagnostics()[0].message.find("softmax scale 1 is below"),
            std::string::npos)
      << diags.diagnostics()[0].message;

  // Built anyway, it gets adversarial inputs wrong: the certificate is not
  // a formality.
  CompileOptions opt;
  opt.allowUncertified = true;
  Network net = build(spec, 0, opt);
  EXPECT_FALSE(net.certificate.certified);
  ReferenceBackend<float> ref(net);
  EvalOptions eo;
  eo.samples = 200;
  eo.inputs = InputDistribution::Adversarial;
  EvalResult r = evaluate(spec.task, net, {&ref}, eo);
  EXPECT_GT(r.backends[0].mismatches, 0);
}

// The eval report (counts, margins, the mismatching inputs shown) is the same
// with any number of threads. An uncertified model, so that there are
// mismatches to report, and more of them than the report keeps.
TEST(IndexLookupTransformer, EvalReportDoesNotDependOnThreadCount) {
  Spec spec = indexLookupSpec(256);
  spec.models[0].scale = 1.0;
  CompileOptions copt;
  copt.allowUncertified = true;
  Network net = build(spec, 0, copt);
  ReferenceBackend<float> ref(net);
  auto run = [&](int threads) {
    EvalOptions eo;
    eo.samples = 600;
    eo.threads = threads;
    eo.inputs = InputDistribution::Mixed;
    return evaluate(spec.task, net, {&ref}, eo);
  };
  const EvalResult one = run(1);
  ASSERT_GT(one.backends[0].mismatches,
            static_cast<int64_t>(one.examples.size()));
  for (int threads : {2, 3, 7}) {
    const EvalResult r = run(threads);
    EXPECT_EQ(r.samples, one.samples);
    EXPECT_EQ(r.adversarial, one.adversarial);
    EXPECT_EQ(r.backends[0].mismatches, one.backends[0].mismatches);
    EXPECT_EQ(r.backends[0].minMargin, one.backends[0].minMargin);
    ASSERT_EQ(r.examples.size(), one.examples.size()) << threads;
    for (size_t i = 0; i < r.examples.size(); ++i) {
      EXPECT_EQ(r.examples[i].index, one.examples[i].index) << threads;
      EXPECT_EQ(r.examples[i].tokens, one.examples[i].tokens);
      EXPECT_EQ(r.examples[i].got, one.examples[i].got);
    }
  }
}

TEST(IndexLookup, TransformerWidthGrowsWithLogNAndRnnStateWithN) {
  int64_t prevTf = 0, prevRnn = 0, prevAuto = 0;
  for (int64_t N : {64, 256, 1024, 4096}) {
    Spec spec = indexLookupSpec(N);
    spec.models[0].code = CodeFamily::Rademacher;
    Network tf = build(spec, 0), rnn = build(spec, 1);
    const SeparationCard tfCard = separationCard(spec.task, tf);
    const SeparationCard rnnCard = separationCard(spec.task, rnn);
    // Width V + 2k + 1 with k = ceil(8 ln(N(N-1)/0.01)) (N codewords):
    // grows by a constant (about 8 * 2 ln 4 * 2 = 44) when N quadruples.
    const int64_t k = rademacherDimension(N, 0.5);
    EXPECT_EQ(tf.width, 4 + 2 * k + 1);
    if (prevTf) {
      EXPECT_GT(tf.width, prevTf);
      EXPECT_LT(tf.width - prevTf, 60);
    }
    prevTf = tf.width;
    // code = auto: an algebraic code, never wider, growing at most like a
    // power of log N (here it stays within 64 dimensions).
    spec.models[0].code = CodeFamily::Auto;
    Network narrow = build(spec, 0);
    ASSERT_TRUE(narrow.certificate.code);
    const int64_t kAuto = narrow.certificate.code->dim;
    EXPECT_EQ(narrow.width, 4 + 2 * kAuto + 1);
    EXPECT_LE(kAuto, k);
    EXPECT_LE(kAuto, 64);
    EXPECT_GE(kAuto, prevAuto);
    prevAuto = kAuto;
    // RNN: N (1 + 2 ceil(log2 V)) units, linear in N.
    EXPECT_EQ(rnn.width, N * 5);
    if (prevRnn) {
      EXPECT_EQ(rnn.width, 4 * prevRnn);
    }
    EXPECT_TRUE(rnnCard.respectsBound);
    ASSERT_TRUE(rnnCard.boundBits);
    EXPECT_DOUBLE_EQ(*rnnCard.boundBits, 2.0 * N);
    EXPECT_EQ(rnnCard.sizeBits, rnn.width * 32);
    EXPECT_FALSE(tfCard.boundBits);
    prevRnn = rnn.width;
  }
}

// The code has N codewords, not N + 1 (position N + 1, only ever the index
// token's, has a zero key), so at N = 2^m it needs no extra generator. Widths
// code = auto chose with N + 1 codewords: 16 at (1024, 0.8), 32 at (4096,
// 0.84), 64 at (65536, 0.5). Each model is exact: in the JIT on adversarial
// and uniform inputs, and in the reference on a share of them.
TEST(IndexLookupTransformer, NoCodewordForTheIndexTokensOwnPosition) {
  struct Case {
    int64_t N;
    double mu;
    int64_t k, kBefore;
  };
  for (const Case &c : {Case{1024, 0.8, 10, 16}, Case{4096, 0.84, 12, 32},
                        Case{65536, 0.5, 32, 64}}) {
    SCOPED_TRACE(::testing::Message() << "N = " << c.N << ", mu = " << c.mu);
    Spec spec = indexLookupSpec(c.N, 4, c.mu);
    spec.models[0].code = CodeFamily::Auto;
    const Network net = build(spec, 0);
    ASSERT_TRUE(net.certificate.code);
    const CodeCertificate &code = *net.certificate.code;
    EXPECT_EQ(code.count, c.N);
    EXPECT_EQ(code.dim, c.k);
    // The width the old layout needed, from the same planner.
    CodeRequest old;
    old.family = CodeFamily::Auto;
    old.count = c.N + 1;
    old.coherence = c.mu;
    old.sided = Sidedness::OneSided;
    EXPECT_EQ(plannedCodeWidth(old), c.kBefore);
    // Position N + 1 has no key; the certificate's gap accounts for it.
    const TransformerBody &t = net.transformer();
    const ResidualBlock *K = net.block("K");
    ASSERT_TRUE(K);
    EXPECT_TRUE(t.embed.position.dense()
                    .row(c.N)
                    .segment(K->offset, K->width)
                    .isZero());
    const HeadCertificate &h = net.certificate.heads.at(0);
    EXPECT_DOUBLE_EQ(h.gap, 1 - std::max(code.maxInnerProduct, 0.0));
    EXPECT_EQ(h.competitors, c.N);
    EXPECT_TRUE(net.certificate.certified);

    JitBackend jit(net);
    ReferenceBackend<float> ref(net);
    for (InputDistribution inputs :
         {InputDistribution::Adversarial, InputDistribution::Uniform}) {
      EvalOptions o;
      o.inputs = inputs;
      o.seed = 7;
      o.samples = handwire::testing::samples(c.N > 4096 ? 1000 : 5000);
      const EvalResult r = evaluate(spec.task, net, {&jit}, o);
      EXPECT_EQ(r.backends[0].mismatches, 0);
      EXPECT_GE(r.backends[0].minMargin, net.certificate.readoutMargin - 1e-3);
      o.samples = handwire::testing::samples(c.N > 4096 ? 20 : 300);
      const EvalResult both = evaluate(spec.task, net, {&jit, &ref}, o);
      EXPECT_EQ(both.disagreements, 0);
      EXPECT_EQ(both.backends[1].mismatches, 0);
    }
  }
}

// The index token of a shorter input sits on a data position, n + 1, and its
// key T(n + 1) competes: put it on the codeword most coherent with the
// queried one (a worst pair (p, n + 1)), every other symbol wrong, and check
// the certified margin; then the full input, whose index token has the zero
// key.
TEST(IndexLookupTransformer, TheIndexTokensOwnKeyNeverWins) {
  for (double mu : {0.5, 0.8}) {
    Spec spec = indexLookupSpec(1024, 4, mu);
    spec.models[0].code = CodeFamily::Auto;
    const Network net = build(spec, 0);
    const Vocabulary voc = vocabularyOf(spec.task);
    ASSERT_TRUE(net.certificate.code);
    ASSERT_FALSE(net.certificate.code->worstPairs.empty());
    JitBackend jit(net);
    int64_t tried = 0;
    for (auto [a, b] : net.certificate.code->worstPairs) {
      const int64_t p = std::min(a, b) + 1, n = std::max(a, b); // n + 1 > p
      for (int64_t len : {n, int64_t(1024)}) {
        std::vector<int32_t> tokens(static_cast<size_t>(len + 1), 1);
        tokens[p - 1] = 0;
        tokens[len] = static_cast<int32_t>(voc.firstIndexToken + p - 1);
        const Eigen::VectorXd r =
            referenceLogits<double>(net, tokens.data(), int64_t(tokens.size()));
        std::vector<double> j(static_cast<size_t>(net.classCount));
        jit.logits(tokens.data(), int64_t(tokens.size()), j.data());
        EXPECT_EQ(decision(j.data(), net.classCount), 0);
        for (int64_t c = 1; c < net.classCount; ++c)
          EXPECT_GE(r[0] - r[c], net.certificate.readoutMargin - 1e-6)
              << "p = " << p << ", n = " << len;
        ++tried;
      }
    }
    EXPECT_GE(tried, 2);
  }
}

TEST(IndexLookup, MemoryLimitIsCheckedBeforeBuilding) {
  Spec spec = indexLookupSpec(1 << 20);
  spec.task.locs["max_length"] = {"x.task", 3, 16};
  CompileOptions opt;
  opt.memoryLimitBytes = 64 << 20;
  DiagnosticEngine diags;
  EXPECT_FALSE(buildNetwork(spec, spec.models[0], opt, diags));
  ASSERT_EQ(diags.errorCount(), 1);
  EXPECT_EQ(diags.diagnostics()[0].loc.line, 3);
  EXPECT_NE(diags.diagnostics()[0].message.find("--memory-limit"),
            std::string::npos);
}

} // namespace
} // namespace handwire
