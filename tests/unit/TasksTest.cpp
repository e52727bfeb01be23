// Task semantics and generators, independent of any network.
#include "TestSpecs.h"

#include "spec/Vocabulary.h"
#include "tasks/Generators.h"
#include "tasks/TaskSemantics.h"

#include <gtest/gtest.h>

#include <set>

namespace handwire {
namespace {

using testing::indexLookupSpec;

TEST(IndexLookupSemantics, AnswersTheQueriedSymbol) {
  TaskSpec t = indexLookupSpec(8).task; // symbols a b c d = 0..3, IDX_1 = 4
  EXPECT_EQ(groundTruth(t, {2, 0, 3, 4 + 0}), 2);
  EXPECT_EQ(groundTruth(t, {2, 0, 3, 4 + 1}), 0);
  EXPECT_EQ(groundTruth(t, {2, 0, 3, 4 + 2}), 3);
}

TEST(IndexLookupSemantics, RejectsMalformedInputs) {
  TaskSpec t = indexLookupSpec(4).task;
  EXPECT_FALSE(checkInput(t, {4}).empty());           // no symbols
  EXPECT_FALSE(checkInput(t, {0, 1, 4 + 2}).empty()); // IDX_3 past 2 symbols
  EXPECT_FALSE(checkInput(t, {0, 1, 2}).empty());     // no index token
  EXPECT_FALSE(checkInput(t, {0, 4, 4}).empty());     // index token inside
  EXPECT_FALSE(checkInput(t, {0, 0, 0, 0, 0, 4}).empty()); // n = 5 > N
  EXPECT_TRUE(checkInput(t, {0, 0, 0, 0, 4 + 3}).empty());
}

TEST(Generators, AreDeterministicPerIndex) {
  TaskSpec t = indexLookupSpec(100).task;
  ExampleGenerator g1(t, InputDistribution::Mixed, 5),
      g2(t, InputDistribution::Mixed, 5), g3(t, InputDistribution::Mixed, 6);
  Example a, b, c;
  int differ = 0;
  for (uint64_t i : {7u, 3u, 1000u, 0u}) {
    g1.generate(i, a);
    g2.generate(i, b);
    g3.generate(i, c);
    EXPECT_EQ(a.tokens, b.tokens);
    EXPECT_EQ(a.label, b.label);
    differ += a.tokens != c.tokens;
  }
  EXPECT_GT(differ, 0);
}

TEST(Generators, UniformCoversLengthsSymbolsAndQueries) {
  TaskSpec t = indexLookupSpec(16).task;
  ExampleGenerator g(t, InputDistribution::Uniform, 1);
  std::set<size_t> lengths;
  std::set<int64_t> labels;
  Example ex;
  for (uint64_t i = 0; i < 4000; ++i) {
    g.generate(i, ex);
    ASSERT_TRUE(checkInput(t, ex.tokens).empty()) << checkInput(t, ex.tokens);
    EXPECT_FALSE(ex.adversarial);
    lengths.insert(ex.tokens.size());
    labels.insert(ex.label);
  }
  EXPECT_EQ(lengths.size(), 16u);
  EXPECT_EQ(labels.size(), 4u);
}

TEST(Generators, AdversarialInputsAimAtTheCoherentPositions) {
  TaskSpec t = indexLookupSpec(64).task;
  const Vocabulary voc = vocabularyOf(t);
  AdversarialHints hints;
  hints.coherentPositions = {{5, 40},
                             {65, 12}}; // 65 = the index token's own key
  ExampleGenerator g(t, InputDistribution::Adversarial, 9, hints);
  Example ex;
  std::set<int64_t> queried;
  for (uint64_t i = 0; i < 200; ++i) {
    g.generate(i, ex);
    ASSERT_TRUE(checkInput(t, ex.tokens).empty());
    EXPECT_TRUE(ex.adversarial);
    EXPECT_EQ(ex.tokens.size(), 65u); // length N
    const int64_t p = ex.tokens.back() - voc.firstIndexToken + 1;
    queried.insert(p);
    // Every other symbol is the same wrong one.
    for (int64_t j = 0; j < 64; ++j) {
      if (j != p - 1) {
        EXPECT_NE(ex.tokens[j], ex.label);
      }
    }
  }
  EXPECT_EQ(queried, (std::set<int64_t>{5, 12, 40}));
}

TEST(Generators, MixedAlternates) {
  TaskSpec t = indexLookupSpec(10).task;
  ExampleGenerator g(t, InputDistribution::Mixed, 1);
  Example ex;
  for (uint64_t i = 0; i < 10; ++i) {
    g.generate(i, ex);
    EXPECT_EQ(ex.adversarial, (i & 1) == 1);
  }
}

} // namespace
} // namespace handwire
