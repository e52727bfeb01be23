// Separation cards: the bound that applies, evaluated, and a verdict that
// flags a model below it.
#include "TestSpecs.h"

#include "analysis/SeparationCard.h"
#include "constructions/Construction.h"
#include "Pipeline.h"

#include <gtest/gtest.h>

namespace handwire {
namespace {

using testing::indexLookupSpec;

TEST(SeparationCard, RnnStateIsComparedWithNLog2V) {
  for (int V : {2, 3, 4, 16}) {
    Spec spec = indexLookupSpec(100, V);
    DiagnosticEngine diags;
    auto net = buildNetwork(spec, spec.models[1], {}, diags);
    ASSERT_TRUE(net);
    SeparationCard c = separationCard(spec.task, *net);
    ASSERT_TRUE(c.boundBits);
    EXPECT_NEAR(*c.boundBits, 100 * std::log2(double(V)), 1e-9);
    EXPECT_EQ(c.sizeMeasure, "state bits");
    EXPECT_EQ(c.sizeBits, net->width * 32);
    EXPECT_TRUE(c.respectsBound);
    EXPECT_EQ(c.verdict.rfind("respects bound", 0), 0u) << c.verdict;
  }
}

TEST(SeparationCard, AnRnnBelowTheBoundIsFlagged) {
  Spec spec = indexLookupSpec(4096, 4);
  DiagnosticEngine diags;
  auto net = buildNetwork(spec, spec.models[1], {}, diags);
  ASSERT_TRUE(net);
  // Pretend the state were 100 units: 3200 bits < 8192.
  net->width = 100;
  SeparationCard c = separationCard(spec.task, *net);
  EXPECT_FALSE(c.respectsBound);
  EXPECT_NE(c.verdict.find("below bound: cannot be exact on all inputs"),
            std::string::npos)
      << c.verdict;
}

TEST(SeparationCard, OneLayerTransformerReportsItsCutAndNoBound) {
  Spec spec = indexLookupSpec(1024, 4);
  DiagnosticEngine diags;
  auto net = buildNetwork(spec, spec.models[0], {}, diags);
  ASSERT_TRUE(net);
  SeparationCard c = separationCard(spec.task, *net);
  EXPECT_EQ(c.layers, 1);
  EXPECT_EQ(c.heads, 1);
  EXPECT_EQ(c.sizeMeasure, "cut bits");
  EXPECT_EQ(c.sizeBits, (4 + 1) * 32); // H (d_v + 1) p
  EXPECT_FALSE(c.boundBits);
  EXPECT_TRUE(c.respectsBound);
}

TEST(Registry, NoConstructionNamesTheAvailableOnes) {
  Spec spec = indexLookupSpec(64);
  spec.models[0].layers = 2;
  spec.models[0].locs["layers"] = {"x.task", 4, 15};
  DiagnosticEngine diags;
  EXPECT_FALSE(buildNetwork(spec, spec.models[0], {}, diags));
  ASSERT_EQ(diags.errorCount(), 1);
  const Diagnostic &d = diags.diagnostics()[0];
  EXPECT_EQ(d.loc.line, 4);
  EXPECT_NE(d.message.find("available: rnn, transformer with layers = 1"),
            std::string::npos)
      << d.message;
}

TEST(Registry, IsSortedAndIdsAreUnique) {
  const auto &all = allConstructions();
  for (size_t i = 1; i < all.size(); ++i)
    EXPECT_LT(std::string(all[i - 1]->id()), std::string(all[i]->id()));
}

} // namespace
} // namespace handwire
