// Bounded Dyck: semantics, generators, and the constant-size RNN, exhaustively
// on all strings up to length 10 and on generated inputs at N = 1024.
#include "Pipeline.h"
#include "TestScale.h"
#include "analysis/SeparationCard.h"
#include "eval/Evaluate.h"
#include "jit/JitBackend.h"
#include "reference/Evaluator.h"
#include "spec/Vocabulary.h"
#include "tasks/Generators.h"
#include "tasks/TaskSemantics.h"

#include <cstdlib>
#include <functional>
#include <set>

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

// Dyck-(k, m) with one model: Hewitt's rnn stack or the 4-layer Transformer.
Spec hewittSpec(int64_t N, int64_t k, int64_t m) {
  Spec s = dyckSpec(N, k, m);
  s.models[0].name = "hewitt";
  s.models[0].construction = "hewitt";
  return s;
}
Spec transformerSpec(int64_t N, int64_t k, int64_t m, int layers = 4) {
  Spec s = dyckSpec(N, k, m);
  s.models[0].name = "transformer";
  s.models[0].arch = Architecture::Transformer;
  s.models[0].layers = layers;
  return s;
}

// Every string of Dyck-(k, m) with at most `maxLen` brackets, and every string
// one edit away from one of them (a bracket changed, deleted, inserted, or
// two neighbours swapped): the near misses. Sorted, without duplicates.
std::vector<std::vector<int32_t>> dyckAndNearMisses(int64_t k, int64_t m,
                                                    int64_t maxLen) {
  std::vector<std::vector<int32_t>> valid;
  std::vector<int32_t> cur, stack;
  std::function<void()> grow = [&]() {
    if (stack.empty())
      valid.push_back(cur);
    const int64_t len = static_cast<int64_t>(cur.size()),
                  depth = static_cast<int64_t>(stack.size());
    if (len + depth + 2 <= maxLen && depth < m)
      for (int32_t c = 0; c < k; ++c) {
        cur.push_back(2 * c);
        stack.push_back(c);
        grow();
        stack.pop_back();
        cur.pop_back();
      }
    if (depth > 0) {
      const int32_t c = stack.back();
      cur.push_back(2 * c + 1);
      stack.pop_back();
      grow();
      stack.push_back(c);
      cur.pop_back();
    }
  };
  grow();
  std::set<std::vector<int32_t>> all(valid.begin(), valid.end());
  const int32_t symbols = static_cast<int32_t>(2 * k);
  for (const auto &v : valid) {
    const size_t n = v.size();
    for (size_t i = 0; i <= n; ++i) {
      for (int32_t a = 0; a < symbols; ++a) {
        std::vector<int32_t> w = v;
        w.insert(w.begin() + static_cast<std::ptrdiff_t>(i), a); // insert
        all.insert(w);
        if (i < n && a != v[i]) { // change
          w = v;
          w[i] = a;
          all.insert(w);
        }
      }
      if (i < n) { // delete
        std::vector<int32_t> w = v;
        w.erase(w.begin() + static_cast<std::ptrdiff_t>(i));
        all.insert(w);
      }
      if (i + 1 < n) { // swap neighbours
        std::vector<int32_t> w = v;
        std::swap(w[i], w[i + 1]);
        all.insert(w);
      }
    }
  }
  return {all.begin(), all.end()};
}

// Runs `backend` on every valid string and near miss of Dyck-(k, m) up to
// `maxLen` brackets (+ <eos>); returns the mismatches against the semantics
// and counts what was checked.
struct Sweep {
  int64_t checked = 0, accepted = 0, mismatches = 0;
  double minMargin = 1e30;
};
Sweep sweepShortStrings(const Spec &spec, const Backend &backend,
                        int64_t maxLen) {
  const Vocabulary voc = vocabularyOf(spec.task);
  Sweep r;
  std::vector<double> l(2);
  for (std::vector<int32_t> tokens :
       dyckAndNearMisses(spec.task.brackets, spec.task.depth, maxLen)) {
    if (static_cast<int64_t>(tokens.size()) > spec.task.maxLength)
      continue; // an insertion into the longest strings
    tokens.push_back(static_cast<int32_t>(voc.endToken));
    const int64_t truth = groundTruth(spec.task, tokens);
    backend.logits(tokens.data(), static_cast<int64_t>(tokens.size()),
                   l.data());
    r.mismatches += decision(l.data(), 2) != truth;
    r.minMargin = std::min(r.minMargin, truth ? l[1] - l[0] : l[0] - l[1]);
    r.accepted += truth;
    ++r.checked;
  }
  return r;
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

namespace handwire {
namespace {

// --- Hewitt et al.'s O(m log k) stack (BoundedDyckHewittRNN.cpp) ---

int64_t hewittUnits(int64_t k, int64_t m) {
  int64_t L = 1;
  while ((int64_t(1) << L) < k)
    ++L;
  return 2 * m * (3 * L - 1) + 4 * L + 5;
}

TEST(BoundedDyckHewittRnn, UnitCountIsTwoMSPlusFourLPlusFive) {
  struct Case {
    int64_t k, m, units;
  };
  // Written out: L = max(1, ceil(log2 k)), s = 3L - 1, H = 2ms + 4L + 5.
  for (auto [k, m, units] : {Case{1, 3, 21}, Case{2, 2, 17}, Case{3, 2, 33},
                             Case{2, 3, 21}, Case{16, 16, 373}}) {
    EXPECT_EQ(hewittUnits(k, m), units);
    Spec spec = hewittSpec(64, k, m);
    DiagnosticEngine diags;
    auto net = buildNetwork(spec, spec.models[0], {}, diags);
    ASSERT_TRUE(net) << k << "," << m;
    EXPECT_EQ(net->width, units) << k << "," << m;
    EXPECT_EQ(net->provenance.construction, "bounded_dyck/rnn-hewitt-stack");
    // O(m log k): far below the pair units' (sum_{i<=m} k^i)(2k + 1) + 1.
    SeparationCard card = separationCard(spec.task, *net);
    ASSERT_TRUE(card.boundBits);
    EXPECT_GE(*card.boundBits, m * std::log2(double(k)) - 1e-9);
    EXPECT_TRUE(card.respectsBound);
  }
}

TEST(BoundedDyckHewittRnn, ExactOnEveryShortStringAndNearMiss) {
  // Every Dyck-(k,m) string up to 10 brackets and every string one edit away,
  // for (2,2), (3,2), (2,3); and every string at all of Dyck-(2,2) up to 8.
  // The hidden state stays exactly 0/1, so the accept logit is exactly 0 or 1.
  struct Case {
    int64_t k, m;
  };
  for (auto [k, m] : {Case{2, 2}, Case{3, 2}, Case{2, 3}}) {
    Spec spec = hewittSpec(11, k, m);
    DiagnosticEngine diags;
    auto net = buildNetwork(spec, spec.models[0], {}, diags);
    ASSERT_TRUE(net);
    ReferenceBackend<float> ref(*net);
    const Sweep r = sweepShortStrings(spec, ref, 10);
    EXPECT_EQ(r.mismatches, 0) << k << "," << m;
    EXPECT_EQ(r.minMargin, 0.5) << k << "," << m; // exact 0/1 units
    EXPECT_GT(r.accepted, 100);
    EXPECT_GT(r.checked, 10 * r.accepted);
  }
  Spec spec = hewittSpec(8, 2, 2);
  DiagnosticEngine diags;
  auto net = buildNetwork(spec, spec.models[0], {}, diags);
  ASSERT_TRUE(net);
  const Vocabulary voc = vocabularyOf(spec.task);
  int64_t total = 0;
  for (int64_t n = 0; n <= 8; ++n)
    for (int64_t code = 0; code < (int64_t(1) << (2 * n)); ++code) {
      std::vector<int32_t> tokens;
      for (int64_t i = 0, x = code; i < n; ++i, x /= 4)
        tokens.push_back(static_cast<int32_t>(x % 4));
      tokens.push_back(static_cast<int32_t>(voc.endToken));
      Eigen::VectorXf l = referenceLogits<float>(
          *net, tokens.data(), static_cast<int64_t>(tokens.size()));
      ASSERT_TRUE(l[1] == 0.0f || l[1] == 1.0f);
      ASSERT_EQ(l[1] == 1.0f, groundTruth(spec.task, tokens) == 1);
      ++total;
    }
  EXPECT_EQ(total, 87381);
}

TEST(BoundedDyckHewittRnn, ExactOnGeneratedInputsAtN1024) {
  for (auto [k, m] : {std::pair<int64_t, int64_t>{2, 2}, {16, 16}}) {
    Spec spec = hewittSpec(1024, k, m);
    DiagnosticEngine diags;
    auto net = buildNetwork(spec, spec.models[0], {}, diags);
    ASSERT_TRUE(net);
    ReferenceBackend<float> ref(*net);
    EvalOptions opt;
    opt.samples = handwire::testing::samples(k == 2 ? 10000 : 1000);
    EvalResult r = evaluate(spec.task, *net, {&ref}, opt);
    EXPECT_EQ(r.backends[0].mismatches, 0) << k << "," << m;
    EXPECT_EQ(r.backends[0].minMargin, 0.5);
  }
}

} // namespace
} // namespace handwire

namespace handwire {
namespace {

// --- the 4-layer Transformer (BoundedDyckTransformer.cpp) ---

std::string rendered(const DiagnosticEngine &diags) {
  std::string all;
  for (const auto &d : diags.diagnostics())
    all += diags.render(d);
  return all;
}

int64_t transformerWidth(int64_t k, int64_t m) {
  int64_t L = 1;
  while ((int64_t(1) << L) < k)
    ++L;
  return 3 * L + 2 * m + 15;
}

TEST(BoundedDyckTransformer, WidthIsThreeLPlusTwoMPlus15IndependentOfN) {
  struct Case {
    int64_t k, m, width;
  };
  for (auto [k, m, width] : {Case{1, 1, 20}, Case{2, 2, 22}, Case{3, 2, 25},
                             Case{2, 3, 24}, Case{16, 16, 59}}) {
    EXPECT_EQ(transformerWidth(k, m), width);
    for (int64_t N : {16, 1024}) {
      Spec spec = transformerSpec(N, k, m);
      DiagnosticEngine diags;
      auto net = buildNetwork(spec, spec.models[0], {}, diags);
      ASSERT_TRUE(net) << k << "," << m << " N=" << N;
      EXPECT_EQ(net->width, width);
      EXPECT_EQ(net->transformer().layers.size(), 4u);
      EXPECT_TRUE(net->certificate.certified);
      ASSERT_EQ(net->certificate.heads.size(), 1u);
      // The lookup's gap is 1/(5M) and its scale covers it.
      EXPECT_DOUBLE_EQ(net->certificate.heads[0].gap, 1.0 / (5.0 * (N + 1)));
      EXPECT_GE(net->certificate.heads[0].scale,
                net->certificate.heads[0].requiredScale);
      SeparationCard card = separationCard(spec.task, *net);
      EXPECT_EQ(card.layers, 4);
      EXPECT_TRUE(card.respectsBound);
    }
  }
}

TEST(BoundedDyckTransformer, ExactOnEveryShortStringAndNearMiss) {
  // Every Dyck-(k,m) string up to 10 brackets and every string one edit away
  // (JIT), then the reference evaluator on the same inputs for (2,2): both
  // exact, same logits.
  struct Case {
    int64_t k, m;
  };
  for (auto [k, m] : {Case{2, 2}, Case{3, 2}, Case{2, 3}}) {
    Spec spec = transformerSpec(11, k, m);
    DiagnosticEngine diags;
    auto net = buildNetwork(spec, spec.models[0], {}, diags);
    ASSERT_TRUE(net);
    JitBackend jit(*net);
    const Sweep r = sweepShortStrings(spec, jit, 10);
    EXPECT_EQ(r.mismatches, 0) << k << "," << m;
    EXPECT_GE(r.minMargin, net->certificate.readoutMargin) << k << "," << m;
    EXPECT_GT(r.accepted, 100);
    EXPECT_GT(r.checked, 10 * r.accepted);
    if (k == 2 && m == 2) {
      ReferenceBackend<float> ref(*net);
      const Sweep rr = sweepShortStrings(spec, ref, 10);
      EXPECT_EQ(rr.mismatches, 0);
      EXPECT_EQ(rr.checked, r.checked);
    }
  }
}

// Repeats `unit` until `length` brackets are filled, between `head` and
// `tail` (given as text, see parse).
std::string repeated(const std::string &head, const std::string &unit,
                     const std::string &tail, int64_t length) {
  std::string s = head;
  while (static_cast<int64_t>(s.size() + unit.size() + tail.size()) <= length)
    s += unit;
  return s + tail;
}

TEST(BoundedDyckTransformer, ExactOnWorstCaseStringsAtLength) {
  // The lookup's hardest cases at full length N, where the recency gap is
  // 1/(5(N+1)) and the scores are largest: the last close's open is two
  // positions after an older open at the same level, with N/2 such
  // competitors; a close that must skip N/2 deeper opens; the deepest level
  // throughout; and each with the last bracket's type flipped. N = 8192 here
  // (a 4-layer pass is O(N^2)); HANDWIRE_LONG_TESTS=1 runs N = 65536, where
  // the fp32 certificate's lookup gap is 2.9x its limit (JIT only, ~15 s
  // per string).
  const int64_t N = std::getenv("HANDWIRE_LONG_TESTS") ? 65536 : 8192;
  Spec spec = transformerSpec(N, 2, 2);
  DiagnosticEngine diags;
  auto net = buildNetwork(spec, spec.models[0], {}, diags);
  ASSERT_TRUE(net) << rendered(diags);
  JitBackend jit(*net);
  const Vocabulary voc = vocabularyOf(spec.task);
  std::vector<std::string> texts = {
      repeated("", "()", "", N),         // recency, level 1, valid
      repeated("", "[]", "(]", N),       // ... last close mistyped
      repeated("(", "[]", ")", N),       // skip N/2 deeper opens
      repeated("(", "[]", "]", N),       // ... mistyped
      repeated("(", "[]()", "[])", N),   // level 2 throughout, valid
      repeated("(", "[]()", "[)])", N),  // ... the last pair crossed
      repeated("(", "[]()", "[()])", N), // too deep at the end
  };
  std::vector<double> l(2);
  int64_t accepted = 0;
  for (const std::string &text : texts) {
    std::vector<int32_t> tokens = parse(text);
    ASSERT_LE(static_cast<int64_t>(tokens.size()), N) << text.size();
    ASSERT_GE(static_cast<int64_t>(tokens.size()), N - 4) << text.size();
    tokens.push_back(static_cast<int32_t>(voc.endToken));
    const int64_t truth = groundTruth(spec.task, tokens);
    jit.logits(tokens.data(), static_cast<int64_t>(tokens.size()), l.data());
    EXPECT_EQ(decision(l.data(), 2), truth) << text.substr(text.size() - 8);
    EXPECT_GE(truth ? l[1] - l[0] : l[0] - l[1], net->certificate.readoutMargin)
        << text.substr(text.size() - 8);
    accepted += truth;
  }
  EXPECT_EQ(accepted, 3); // the three valid strings, and only them
}

TEST(BoundedDyckTransformer, RefusesOneToThreeLayersAndUncertifiedLengths) {
  // One layer: the lower bound, and the cheapest legal alternative.
  for (int layers : {1, 2, 3}) {
    Spec spec = transformerSpec(64, 2, 2, layers);
    spec.models[0].locs["layers"] = SourceLoc{"t.task", 7, 12};
    DiagnosticEngine diags;
    EXPECT_FALSE(buildNetwork(spec, spec.models[0], {}, diags));
    const std::string text = rendered(diags);
    EXPECT_NE(text.find("t.task:7:12: error: no construction of bounded_dyck"),
              std::string::npos)
        << text;
    EXPECT_NE(text.find("transformer with layers >= 4 (width"),
              std::string::npos)
        << text;
    EXPECT_NE(text.find("cheapest legal alternative: an rnn model with "
                        "construction = hewitt"),
              std::string::npos)
        << text;
    EXPECT_EQ(text.find("Bhattamishra et al. 2024, via EQUALITY") !=
                  std::string::npos,
              layers == 1)
        << text;
  }
  // The fp32 certificate: M <= min(1 / (88 u), 1 / (16 (m + 3) u)), the
  // lookup gap at m = 2 (N = 190,649), the depth thresholds at m = 8 (N =
  // 95,324). Both sides of each limit.
  for (auto [depth, limit] : {std::pair<int64_t, int64_t>{2, 190649},
                              std::pair<int64_t, int64_t>{8, 95324}}) {
    Spec ok = transformerSpec(limit, 2, depth);
    DiagnosticEngine okDiags;
    EXPECT_TRUE(planConstruction(ok, ok.models[0], {}, okDiags))
        << rendered(okDiags);
    Spec spec = transformerSpec(limit + 1, 2, depth);
    spec.task.locs["max_length"] = SourceLoc{"t.task", 4, 16};
    DiagnosticEngine diags;
    EXPECT_FALSE(planConstruction(spec, spec.models[0], {}, diags));
    const std::string text = rendered(diags);
    EXPECT_NE(text.find("t.task:4:16: error: the 4-layer Dyck transformer is "
                        "certified in fp32 up to max_length = " +
                        std::to_string(limit)),
              std::string::npos)
        << text;
  }
}

} // namespace
} // namespace handwire
