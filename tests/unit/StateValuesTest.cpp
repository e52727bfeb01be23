// The RNN constructions' value claims (analysis/StateValues.h), checked on
// their states: the reference evaluator runs generated inputs and every unit
// must stay an integer in its claimed range after every token. And the
// separation card's two state measures built from them.
#include "TestBuild.h"
#include "TestSpecs.h"

#include "Pipeline.h"
#include "analysis/SeparationCard.h"
#include "analysis/StateValues.h"
#include "constructions/Construction.h"
#include "reference/Evaluator.h"
#include "tasks/Generators.h"

#include <gtest/gtest.h>

#include <cmath>
#include <set>

namespace handwire {
namespace {

using testing::everyConstruction;

using testing::build;

// Runs `count` inputs of `dist` and checks every unit after every token.
// Returns the largest value seen per block.
std::vector<double> checkStates(const TaskSpec &task, const Network &net,
                                const StateValues &sv, InputDistribution dist,
                                int count) {
  std::vector<double> largest(sv.blocks.size(), 0);
  ExampleGenerator gen(task, dist, 11);
  Example ex;
  for (int i = 0; i < count; ++i) {
    gen.generate(static_cast<uint64_t>(i), ex);
    referenceElmanStates(
        net, ex.tokens.data(), static_cast<int64_t>(ex.tokens.size()),
        [&](int64_t t, const Eigen::VectorXd &h) {
          for (size_t b = 0; b < sv.blocks.size(); ++b) {
            const BlockValues &bv = sv.blocks[b];
            for (int64_t u = bv.offset; u < bv.offset + bv.width; ++u) {
              const double v = h[u];
              largest[b] = std::max(largest[b], v);
              ASSERT_TRUE(v == std::floor(v) && v >= 0 &&
                          v <= static_cast<double>(bv.values - 1))
                  << net.provenance.construction << ": unit " << u << " ("
                  << bv.block << ") = " << v << " after token " << t
                  << " of input " << i << ", claimed 0 .. " << bv.values - 1;
            }
          }
        });
    if (::testing::Test::HasFatalFailure())
      return largest;
  }
  return largest;
}

TEST(StateValues, EveryRnnConstructionHasAClaimThatItsStatesKeep) {
  std::set<std::string> checked;
  for (const auto &c : everyConstruction(16)) {
    if (c.spec.models[static_cast<size_t>(c.model)].arch != Architecture::RNN)
      continue;
    SCOPED_TRACE(c.name);
    const Network net = build(c.spec, c.model);
    const auto sv = stateValues(c.spec.task, net);
    ASSERT_TRUE(sv) << net.provenance.construction << " has no claim";
    ASSERT_EQ(sv->blocks.size(), net.blocks.size());
    for (InputDistribution dist :
         {InputDistribution::Uniform, InputDistribution::Adversarial}) {
      const std::vector<double> largest =
          checkStates(c.spec.task, net, *sv, dist, 300);
      if (HasFatalFailure())
        return;
      // A counter is claimed for a reason: uniform inputs drive it past 1.
      for (size_t b = 0; b < sv->blocks.size(); ++b) {
        if (sv->blocks[b].values > 2 && dist == InputDistribution::Uniform) {
          EXPECT_GT(largest[b], 1) << sv->blocks[b].block;
        }
      }
    }
    checked.insert(net.provenance.construction);
  }
  // Every RNN construction of the registry was checked.
  for (const Construction *c : allConstructions()) {
    if (c->arch() == Architecture::RNN) {
      EXPECT_TRUE(checked.count(c->id())) << c->id() << " not checked";
    }
  }
}

TEST(StateValues, ABlockLayoutThatIsNotTheConstructionsHasNoClaim) {
  const Spec spec = testing::indexLookupSpec(16);
  Network net = build(spec, 1);
  ASSERT_TRUE(stateValues(spec.task, net));
  Network renamed = net;
  renamed.blocks[1].name = "buffer";
  EXPECT_FALSE(stateValues(spec.task, renamed));
  Network narrower = net;
  narrower.width -= 1; // blocks no longer cover the state
  EXPECT_FALSE(stateValues(spec.task, narrower));
  Network other = net;
  other.provenance.construction = "index_lookup/rnn-something-else";
  EXPECT_FALSE(stateValues(spec.task, other));
}

TEST(StateValues, CardReportsStoredAndInformationBits) {
  // Index lookup, N = 64, |alphabet| = 4: 64 (1 + 2 x 2) = 320 units, all
  // 0/1: 320 information bits, 320 x 32 stored, bound 64 x 2 = 128.
  const Spec spec = testing::indexLookupSpec(64);
  const Network net = build(spec, 1);
  const SeparationCard card = separationCard(spec.task, net);
  ASSERT_EQ(net.width, 320);
  EXPECT_EQ(card.sizeBits, 320 * 32);
  ASSERT_TRUE(card.informationBits);
  EXPECT_DOUBLE_EQ(*card.informationBits, 320);
  EXPECT_NE(card.informationDetail.find("320 units x 1 bit"), std::string::npos)
      << card.informationDetail;
  EXPECT_TRUE(card.respectsBound);

  // String equality, n = 16: 2n + 4 = 36 indicator units and a counter of
  // 0 .. 16 (17 values).
  const Spec eq = testing::taskSpec(TaskKind::StringEquality, 16);
  const Network eqNet = build(eq, 0);
  const SeparationCard eqCard = separationCard(eq.task, eqNet);
  ASSERT_TRUE(eqCard.informationBits);
  EXPECT_NEAR(*eqCard.informationBits, 36 + std::log2(17.0), 1e-12);
  EXPECT_NE(eqCard.informationDetail.find("1 unit x log2 17"),
            std::string::npos)
      << eqCard.informationDetail;
}

TEST(StateValues, InformationBelowTheBoundFlagsTheClaim) {
  // A claim that left less information than the bound would be wrong: the
  // card refuses it. Shrink the state (blocks and width together) so that
  // the stored bits still pass but the 0/1 units cannot.
  const Spec spec = testing::indexLookupSpec(64);
  Network net = build(spec, 1);
  // 320 units -> 75 (25 per block); renamed blocks would lose the claim,
  // so keep the names and shrink widths.
  for (ResidualBlock &b : net.blocks)
    b.width = 25, b.offset = static_cast<int64_t>(&b - net.blocks.data()) * 25;
  net.width = 75; // 75 x 32 = 2400 stored >= 128; 75 information < 128
  const SeparationCard card = separationCard(spec.task, net);
  ASSERT_TRUE(card.informationBits);
  EXPECT_DOUBLE_EQ(*card.informationBits, 75);
  EXPECT_FALSE(card.respectsBound);
  EXPECT_NE(card.verdict.find("claimed unit values are wrong"),
            std::string::npos)
      << card.verdict;
}

} // namespace
} // namespace handwire
