// Separation cards: the bound that applies, evaluated, and a verdict that
// flags a model below it.
#include "TestSpecs.h"

#include "Pipeline.h"
#include "analysis/SeparationCard.h"
#include "constructions/Construction.h"

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
  Spec spec = testing::taskSpec(TaskKind::BoundedDyck, 16, 2,
                                Architecture::Transformer);
  spec.models[0].locs["layers"] = {"x.task", 4, 15};
  DiagnosticEngine diags;
  EXPECT_FALSE(buildNetwork(spec, spec.models[0], {}, diags));
  ASSERT_EQ(diags.errorCount(), 1);
  const Diagnostic &d = diags.diagnostics()[0];
  EXPECT_EQ(d.loc.line, 4);
  EXPECT_NE(d.message.find("available: rnn, rnn with construction = hewitt, "
                           "transformer with layers >= 4"),
            std::string::npos)
      << d.message;
}

// --- the cheapest alternative a refusal names ---

const Construction &constructionById(const std::string &id) {
  for (const Construction *c : allConstructions())
    if (id == c->id())
      return *c;
  ADD_FAILURE() << id;
  return *allConstructions().front();
}

// The notes of refusing `model` under `limit`, concatenated.
std::string refusalNotes(const Spec &spec, const ModelSpec &model,
                         int64_t limit) {
  CompileOptions opt;
  opt.memoryLimitBytes = limit;
  DiagnosticEngine diags;
  EXPECT_FALSE(buildNetwork(spec, model, opt, diags));
  EXPECT_EQ(diags.errorCount(), 1);
  std::string notes;
  for (const Diagnostic &d : diags.diagnostics())
    if (d.severity == Severity::Note)
      notes += d.message + "\n";
  return notes;
}

// A model over the limit: the note names the cheapest model that fits, in the
// sizes the limit is checked in. At N = 65536 index lookup's Transformer
// (dense token and position tables, (2N + V) x D) is larger than its RNN
// (sparse, O(N) non-zeros); asked for the Transformer with two layers, the
// note names the RNN.
TEST(CheapestAlternative, NamesTheCheapestModelThatIsCheaper) {
  Spec spec = indexLookupSpec(1 << 16);
  spec.models[0].layers = 2;
  const double rnn = constructionById("index_lookup/rnn-pointer-memory")
                         .estimateBytes(spec, spec.models[1]);
  const double tf = constructionById("index_lookup/transformer-1layer")
                        .estimateBytes(spec, spec.models[0]);
  ASSERT_LT(rnn, tf);
  const std::string notes =
      refusalNotes(spec, spec.models[0], static_cast<int64_t>(tf) - 1);
  EXPECT_NE(notes.find("cheapest legal alternative: an rnn model "
                       "(index_lookup/rnn-pointer-memory, about " +
                       humanBytes(rnn) + " of weights)"),
            std::string::npos)
      << notes;
  // The same Transformer with one layer is no cheaper: never named.
  EXPECT_EQ(notes.find("layers = 1"), std::string::npos) << notes;
}

// The RNN over the limit, whose alternative (the Transformer) is larger:
// nothing is named.
TEST(CheapestAlternative, SaysNothingWhenNothingIsCheaper) {
  const Spec spec = indexLookupSpec(1 << 16);
  const double rnn = constructionById("index_lookup/rnn-pointer-memory")
                         .estimateBytes(spec, spec.models[1]);
  const std::string notes =
      refusalNotes(spec, spec.models[1], static_cast<int64_t>(rnn) - 1);
  EXPECT_EQ(notes.find("alternative"), std::string::npos) << notes;
}

// No construction for the depth asked: the cheapest model that fits, by the
// same size count, among every other construction of the task.
TEST(CheapestAlternative, ForAMissingConstructionNamesTheCheapestThatFits) {
  Spec spec = testing::taskSpec(TaskKind::BoundedDyck, 64, 2,
                                Architecture::Transformer);
  ModelSpec four = spec.models[0], pairs, hewitt;
  four.layers = 4;
  pairs.arch = hewitt.arch = Architecture::RNN;
  hewitt.construction = "hewitt";
  const std::vector<std::pair<std::string, double>> sizes = {
      {"bounded_dyck/transformer-4layer",
       constructionById("bounded_dyck/transformer-4layer")
           .estimateBytes(spec, four)},
      {"bounded_dyck/rnn-dfa-pairs",
       constructionById("bounded_dyck/rnn-dfa-pairs")
           .estimateBytes(spec, pairs)},
      {"bounded_dyck/rnn-hewitt-stack",
       constructionById("bounded_dyck/rnn-hewitt-stack")
           .estimateBytes(spec, hewitt)}};
  auto cheapest = sizes.front();
  for (const auto &s : sizes)
    if (s.second < cheapest.second)
      cheapest = s;
  std::string notes = refusalNotes(spec, spec.models[0], int64_t(1) << 30);
  EXPECT_NE(notes.find("(" + cheapest.first + ", about " +
                       humanBytes(cheapest.second) + " of weights)"),
            std::string::npos)
      << notes;
  // Under a limit none fits: nothing is named.
  notes = refusalNotes(spec, spec.models[0],
                       static_cast<int64_t>(cheapest.second) - 1);
  EXPECT_EQ(notes.find("alternative"), std::string::npos) << notes;
}

TEST(Registry, IsSortedAndIdsAreUnique) {
  const auto &all = allConstructions();
  for (size_t i = 1; i < all.size(); ++i)
    EXPECT_LT(std::string(all[i - 1]->id()), std::string(all[i]->id()));
}

} // namespace
} // namespace handwire
