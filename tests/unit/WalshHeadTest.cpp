// Walsh heads (ForwardPlan.h, WalshHeadPlan): layer-0 heads whose scores
// are a XOR convolution of positions are planned as one, and the JIT then
// computes what the reference computes, on random networks built that way
// (taps, zero keys and queries, causal masks, short inputs) and on the
// constructions that ship with linear codes.
#include "JitAgreement.h"
#include "RandomNetworks.h"
#include "TestScale.h"
#include "TestSpecs.h"

#include "Pipeline.h"
#include "codegen/ForwardPlan.h"
#include "eval/Evaluate.h"
#include "jit/JitBackend.h"
#include "reference/Evaluator.h"
#include "support/Random.h"

#include <gtest/gtest.h>

namespace handwire {
namespace {

using handwire::testing::expectSameLogits;
using handwire::testing::randomMatrix;

constexpr int64_t kFree = 12; // columns of random token and position parts

// A random two-layer Transformer whose layer-0 head 0 reads a sign code
// c(x) = XOR of `bits` random generators of dk bits: the key of position s
// is c(s) (or zero), the query of position t is alpha c(a_t) for a_t the
// element of a random earlier key (or zero). Its values, head 1 and layer 1
// are random.
Network walshNetwork(uint64_t seed, float alpha, int64_t dk = 10,
                     int bits = 6) {
  SplitMix64 rng(seed);
  Network net = testing::randomTransformer(seed, 2, 2, true, false);
  const int64_t M = net.maxSequenceLength, D = kFree + 2 * dk;
  auto &t = std::get<TransformerBody>(net.body);
  auto widen = [&](const Matrix &m, int64_t rows) {
    Matrix w = Matrix::Zero(rows, D);
    w.leftCols(kFree) = m.leftCols(kFree);
    return w;
  };
  net.width = D;
  net.blocks = {{"x", 0, D, ""}};
  t.embed.token = widen(t.embed.token.dense(), net.tokenCount);
  Matrix pos = widen(t.embed.position.dense(), M);
  std::vector<uint64_t> generators(static_cast<size_t>(bits));
  for (int i = 0; i < bits; ++i) // independent: the low bits are e_i
    generators[static_cast<size_t>(i)] =
        (uint64_t(1) << i) | (rng.next() & (((uint64_t(1) << dk) - 1) ^
                                            ((uint64_t(1) << bits) - 1)));
  auto code = [&](int64_t x) {
    uint64_t c = 0;
    for (int i = 0; i < bits; ++i)
      if ((x >> i) & 1)
        c ^= generators[static_cast<size_t>(i)];
    return c;
  };
  auto writeSigns = [&](int64_t row, int64_t col, uint64_t c) {
    for (int64_t i = 0; i < dk; ++i)
      pos(row, col + i) = (c >> i) & 1 ? -1.0f : 1.0f;
  };
  std::vector<int64_t> keys;
  for (int64_t s = 0; s < M; ++s) {
    if (rng.below(5) != 0) { // a key; one in five is zero
      writeSigns(s, kFree + dk, code(s));
      keys.push_back(s);
    }
    if (!keys.empty() && rng.below(4) != 0) // a query; one in four is zero
      writeSigns(s, kFree, code(keys[rng.below(keys.size())]));
  }
  t.embed.position = pos;
  for (size_t l = 0; l < t.layers.size(); ++l)
    for (AttentionHead &h : t.layers[l].heads) {
      h.query = widen(h.query.dense(), h.query.rows());
      h.key = widen(h.key.dense(), h.key.rows());
      h.value = widen(h.value.dense(), h.value.rows());
      Matrix out = Matrix::Zero(D, h.output.cols());
      out.topRows(kFree) = h.output.dense();
      h.output = out;
    }
  AttentionHead &walsh = t.layers[0].heads[0];
  Matrix q = Matrix::Zero(dk, D), k = Matrix::Zero(dk, D);
  q.middleCols(kFree, dk) = alpha * Matrix::Identity(dk, dk);
  k.middleCols(kFree + dk, dk) = Matrix::Identity(dk, dk);
  walsh.query = q;
  walsh.key = k;
  for (size_t l = 0; l < t.layers.size(); ++l)
    if (auto &m = t.layers[l].mlp) {
      Matrix in = Matrix::Zero(m->in.rows(), D);
      in.leftCols(kFree) = m->in.dense().leftCols(kFree);
      m->in = in;
      Matrix out = Matrix::Zero(D, m->out.cols());
      out.topRows(kFree) = m->out.dense();
      m->out = out;
      Vector bias = Vector::Zero(D);
      bias.head(kFree) = m->outBias;
      m->outBias = bias;
    }
  Matrix readout = Matrix::Zero(net.classCount, D);
  readout.leftCols(kFree) = net.readout.weight.leftCols(kFree);
  net.readout.weight = readout;
  return net;
}

TEST(WalshHead, RandomLinearCodeHeadsArePlannedAndAgreeWithTheReference) {
  const uint64_t seeds = static_cast<uint64_t>(testing::samples(24) + 2);
  for (uint64_t seed = 1; seed <= seeds; ++seed)
    for (float alpha : {0.4f, 1.0f, 2.5f, 4.0f}) {
      SCOPED_TRACE(::testing::Message()
                   << "seed " << seed << ", alpha " << alpha);
      const Network net = walshNetwork(seed, alpha);
      const ForwardPlan plan = planForward(net);
      const HeadPlan &head = plan.layers[0].heads[0];
      if (const auto &w = head.walsh) {
        EXPECT_LE(w->errorBound, w->denseErrorBound);
        EXPECT_FALSE(head.keyPosByDim);      // no key table
        EXPECT_GE(w->tapOffsets.size(), 1u); // x = 0 at least
      } else {
        // Refused only for rounding: at small scales many weights are
        // heavy, and at M = 40 the dense kernel's bound is small.
        EXPECT_LT(alpha, 2.0f) << head.notWalsh;
        EXPECT_NE(head.notWalsh.find("rounding bound"), std::string::npos)
            << head.notWalsh;
      }
      EXPECT_FALSE(plan.layers[0].heads[1].walsh); // random: not a code
      expectSameLogits(net, seed, 1e-4);
    }
}

// Planned beside the compile (WalshTiming::WithTables), a head gets the plan
// it gets at once, or is marked refused for the same reason; the JIT then
// plans again without it and still agrees with the reference.
TEST(WalshHead, PlannedWithTheTablesAsPlannedAtOnce) {
  for (uint64_t seed = 1; seed <= 6; ++seed)
    for (float alpha : {0.4f, 2.5f}) {
      SCOPED_TRACE(::testing::Message()
                   << "seed " << seed << ", alpha " << alpha);
      const Network net = walshNetwork(seed, alpha);
      const ForwardPlan now = planForward(net);
      ForwardPlan later =
          planForward(net, std::nullopt, WalshTiming::WithTables);
      const HeadPlan &a = now.layers[0].heads[0];
      HeadPlan &b = later.layers[0].heads[0];
      ASSERT_EQ(later.pendingWalshHeads(), 1);
      ASSERT_TRUE(b.walsh); // the placeholder
      EXPECT_FALSE(b.keyPosByDim);
      if (a.walsh) { // the same layout, so the same code
        EXPECT_EQ(later.scratchFloats(net.maxSequenceLength),
                  now.scratchFloats(net.maxSequenceLength));
      }
      later.fillTables();
      EXPECT_EQ(later.walshRefused(), !a.walsh);
      EXPECT_EQ(b.notWalsh, a.notWalsh);
      if (a.walsh) {
        const WalshHeadPlan &x = *a.walsh, &y = *b.walsh;
        EXPECT_EQ(x.bits, y.bits);
        EXPECT_EQ(x.levels, y.levels);
        EXPECT_EQ(x.blockStart, y.blockStart);
        EXPECT_EQ(x.blockTasks, y.blockTasks);
        EXPECT_EQ(x.taskSpectrum, y.taskSpectrum);
        EXPECT_EQ(x.taskHigh, y.taskHigh);
        EXPECT_EQ(x.spectra, y.spectra);
        EXPECT_EQ(x.tapOffsets, y.tapOffsets);
        EXPECT_EQ(x.errorBound, y.errorBound);
      }
      JitBackend jit(net);
      EXPECT_EQ(jit.walshPlannedBeside(), 1);
      EXPECT_EQ(bool(jit.plan().layers[0].heads[0].walsh), bool(a.walsh));
      EXPECT_FALSE(jit.plan().walshRefused());
      expectSameLogits(net, seed, 1e-4);
    }
}

// Queries whose magnitudes differ are no convolution: planned dense.
TEST(WalshHead, QueriesOfDifferentMagnitudesArePlannedDense) {
  Network net = walshNetwork(5, 2.5f);
  auto &t = std::get<TransformerBody>(net.body);
  ASSERT_TRUE(planForward(net).layers[0].heads[0].walsh);
  t.embed.position.dense().row(30).segment(kFree, 10) *= 2.0f;
  if (t.embed.position.dense().row(30).segment(kFree, 10).isZero())
    t.embed.position.dense().row(30).segment(kFree, 10).setConstant(2.0f);
  const ForwardPlan plan = planForward(net);
  EXPECT_FALSE(plan.layers[0].heads[0].walsh);
  EXPECT_EQ(plan.layers[0].heads[0].notWalsh,
            "queries or keys are not sign vectors of one magnitude");
  EXPECT_TRUE(plan.layers[0].heads[0].blockedScores);
  expectSameLogits(net, 5, 1e-4);
}

// Two keys with one sign pattern (one group element): a tap could not name
// one key.
TEST(WalshHead, RepeatedKeysArePlannedDense) {
  Network net = walshNetwork(6, 2.5f);
  auto &pos = std::get<TransformerBody>(net.body).embed.position.dense();
  pos.row(3).segment(kFree + 10, 10).setConstant(1.0f); // both c(0)
  pos.row(20).segment(kFree + 10, 10).setConstant(1.0f);
  const ForwardPlan plan = planForward(net);
  EXPECT_FALSE(plan.layers[0].heads[0].walsh);
  EXPECT_EQ(plan.layers[0].heads[0].notWalsh, "two keys have one sign pattern");
  expectSameLogits(net, 6, 1e-4);
}

// The shipped two-layer constructions with their linear code (ext_bch):
// planned by Walsh at several N, powers of two and not, and exact against
// the reference and the task on uniform and adversarial inputs.
TEST(WalshHead, TwoLayerConstructionsWithLinearCodes) {
  for (TaskKind task : {TaskKind::StringEquality, TaskKind::Disjointness,
                        TaskKind::NearestNeighbour})
    for (int64_t N : {100, 1000}) {
      SCOPED_TRACE(::testing::Message() << taskKindName(task) << ", N = " << N);
      const std::string name =
          task == TaskKind::StringEquality ? "EqualityTransformer2L"
          : task == TaskKind::Disjointness ? "DisjointnessTransformer2L"
                                           : "NearestNeighbourTransformer";
      testing::ConstructionCase c{};
      for (const auto &e : testing::everyConstruction(N))
        if (name == e.name)
          c = e;
      ASSERT_TRUE(c.name);
      Spec spec = c.spec;
      const int model = c.model;
      spec.models[model].code = CodeFamily::ExtendedBch;
      DiagnosticEngine diags;
      auto net = buildNetwork(spec, spec.models[model], {}, diags);
      ASSERT_TRUE(net);
      ASSERT_TRUE(planForward(*net).layers[0].heads[0].walsh);
      JitBackend jit(*net);
      ReferenceBackend<double> ref(*net);
      EvalOptions o;
      o.samples =
          testing::samples(task == TaskKind::NearestNeighbour ? 40 : 100);
      EvalResult r = evaluate(spec.task, *net, {&jit, &ref}, o);
      EXPECT_EQ(r.disagreements, 0);
      EXPECT_LE(r.maxLogitDifference, net->certificate.logitTolerance);
      EXPECT_EQ(r.backends[0].mismatches, 0);
      EXPECT_EQ(r.backends[1].mismatches, 0);
    }
}

} // namespace
} // namespace handwire
