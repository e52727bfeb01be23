// The event-driven RNN recurrence (EventPlan, ForwardPlan.h): for every RNN
// construction, the event-driven JIT equals the dense JIT bit for bit and
// the reference evaluator within the construction's tolerance, and answers
// the task; RNNs whose weights are not integers are planned dense; a value
// that outgrows the exact range makes the input run densely.
#include "RandomNetworks.h"
#include "TestScale.h"
#include "TestSpecs.h"

#include "Pipeline.h"
#include "codegen/EmitLLVM.h"
#include "codegen/ForwardPlan.h"
#include "eval/Evaluate.h"
#include "jit/JitBackend.h"
#include "reference/Evaluator.h"
#include "support/Random.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

namespace handwire {
namespace {

using Case = handwire::testing::ConstructionCase;
using handwire::testing::everyConstruction;

// A JIT of `net` compiled from `p` (a plan of it, changed).
std::unique_ptr<JitBackend> jitOf(const Network &net, ForwardPlan p) {
  std::unique_ptr<LlvmModule> m = emitModule(p, kForwardSymbol);
  return std::make_unique<JitBackend>(net, std::move(p), std::move(m), 0,
                                      CompileTimes{});
}

// The same network's JIT with the event plan removed: the dense update.
std::unique_ptr<JitBackend> denseJit(const Network &net) {
  ForwardPlan p = planForward(net);
  p.events.reset(); // its scratch regions stay, unused
  return jitOf(net, std::move(p));
}

std::vector<Case> rnnConstructions(int64_t N) {
  std::vector<Case> out;
  for (Case &c : everyConstruction(N))
    if (c.spec.models[c.model].arch == Architecture::RNN)
      out.push_back(std::move(c));
  return out;
}

std::optional<Network> build(const Case &c) {
  DiagnosticEngine diags;
  auto net = buildNetwork(c.spec, c.spec.models[c.model], {}, diags);
  EXPECT_TRUE(net) << c.name;
  return net;
}

// Logits of both JITs on `tokens`, equal bit for bit (as doubles of floats).
void expectSame(const JitBackend &events, const JitBackend &dense,
                const Network &net, const std::vector<int32_t> &tokens) {
  std::vector<double> a(static_cast<size_t>(net.classCount)),
      b(static_cast<size_t>(net.classCount));
  const int64_t n = static_cast<int64_t>(tokens.size());
  events.logits(tokens.data(), n, a.data());
  dense.logits(tokens.data(), n, b.data());
  for (size_t c = 0; c < a.size(); ++c)
    ASSERT_EQ(a[c], b[c]) << "class " << c << ", length " << n;
}

TEST(RnnEvents, EveryRnnConstructionIsPlannedEventDriven) {
  const std::vector<Case> cases = rnnConstructions(64);
  ASSERT_GE(cases.size(), 6u);
  for (const Case &c : cases) {
    SCOPED_TRACE(c.name);
    auto net = build(c);
    ASSERT_TRUE(net);
    const ForwardPlan p = planForward(*net);
    ASSERT_TRUE(p.events);
    EXPECT_FALSE(planForward(*net, StorageFormat::F16).events);
    // The equality and disjointness RNNs' delay line and clock are chains.
    const std::string name = c.name;
    if (name == "EqualityRnn" || name == "DisjointnessRnn") {
      EXPECT_EQ(p.events->chains.size(), 2u);
    }
  }
}

// Generated inputs (uniform and adversarial, every length up to N): the
// task's answer, the reference's logits, and the dense JIT's bit for bit.
TEST(RnnEvents, EqualDenseAndReferenceOnGeneratedInputs) {
  for (int64_t N : {2, 3, 5, 16, 100}) {
    for (const Case &c : rnnConstructions(N)) {
      SCOPED_TRACE(::testing::Message() << c.name << " at N = " << N);
      auto net = build(c);
      ASSERT_TRUE(net);
      JitBackend events(*net);
      ASSERT_TRUE(events.plan().events);
      auto dense = denseJit(*net);
      ReferenceBackend<double> ref(*net);
      for (InputDistribution d :
           {InputDistribution::Uniform, InputDistribution::Adversarial}) {
        EvalOptions o;
        o.samples = handwire::testing::samples(300);
        o.inputs = d;
        o.seed = 5 + static_cast<uint64_t>(N);
        o.threads = 1;
        EvalResult r =
            evaluate(c.spec.task, *net, {&events, dense.get(), &ref}, o);
        EXPECT_EQ(r.disagreements, 0);
        EXPECT_LE(r.maxLogitDifference, net->certificate.logitTolerance);
        for (const BackendResult &b : r.backends)
          EXPECT_EQ(b.mismatches, 0) << b.name;
      }
    }
  }
}

// Every token sequence of every length up to N where there are few, random
// ones where there are many, valid inputs or not: the dense JIT's logits bit
// for bit.
TEST(RnnEvents, EqualDenseOnEveryShortSequence) {
  for (int64_t N : {2, 3, 4}) {
    for (const Case &c : rnnConstructions(N)) {
      SCOPED_TRACE(::testing::Message() << c.name << " at N = " << N);
      auto net = build(c);
      ASSERT_TRUE(net);
      JitBackend events(*net);
      auto dense = denseJit(*net);
      const int64_t T = net->tokenCount;
      SplitMix64 rng(11);
      for (int64_t len = 1; len <= net->maxSequenceLength; ++len) {
        double count = std::pow(double(T), double(len));
        std::vector<int32_t> tokens(static_cast<size_t>(len));
        if (count <= 20000) {
          for (int64_t k = 0; k < static_cast<int64_t>(count); ++k) {
            int64_t x = k;
            for (auto &t : tokens) {
              t = static_cast<int32_t>(x % T);
              x /= T;
            }
            expectSame(events, *dense, *net, tokens);
          }
        } else {
          for (int k = 0; k < 2000; ++k) {
            for (auto &t : tokens)
              t = static_cast<int32_t>(rng.below(T));
            expectSame(events, *dense, *net, tokens);
          }
        }
      }
    }
  }
}

TEST(RnnEvents, NonIntegerWeightsArePlannedDense) {
  const Network net = handwire::testing::randomRnn(1); // weights +-0.3
  EXPECT_FALSE(planForward(net).events);
  Network integer = net;
  ElmanBody &e = std::get<ElmanBody>(integer.body);
  for (int64_t k = 0; k < e.recurrent.nonZeros(); ++k)
    e.recurrent.valuePtr()[k] = e.recurrent.valuePtr()[k] > 0 ? 1.0f : -1.0f;
  e.bias = e.bias.array().round();
  e.initial = e.initial.array().round();
  EXPECT_TRUE(planForward(integer).events);
  e.initial[3] = 0.5f; // one non-integer initial value
  EXPECT_FALSE(planForward(integer).events);
}

// Unit 0 doubles from 1 (h = 2^t); unit 1 adds it and one: h = 2^(t+1) - t
// - 2 + ..., past 2^24 after 24 steps, where fp32 stops being exact and the
// order of the additions matters.
Network doublingRnn(int64_t maxLength) {
  Network net;
  net.arch = Architecture::RNN;
  net.tokenCount = 2;
  net.classCount = 2;
  net.maxSequenceLength = maxLength;
  net.width = 2;
  net.blocks = {{"h", 0, 2, ""}};
  ElmanBody e;
  std::vector<Eigen::Triplet<float, int32_t>> w{
      {0, 0, 2.0f}, {1, 0, 3.0f}, {1, 1, 1.0f}};
  std::vector<Eigen::Triplet<float, int32_t>> u{{1, 1, 1.0f}};
  e.recurrent.resize(2, 2);
  e.recurrent.setFromTriplets(w.begin(), w.end());
  e.input.resize(2, 2);
  e.input.setFromTriplets(u.begin(), u.end());
  e.bias = Vector::Zero(2);
  e.bias[1] = 1;
  e.initial = Vector::Zero(2);
  e.initial[0] = 1;
  net.body = e;
  net.readout.weight = Matrix::Identity(2, 2);
  net.readout.bias = Vector::Zero(2);
  return net;
}

TEST(RnnEvents, OverflowFallsBackToTheDenseUpdate) {
  const Network net = doublingRnn(60);
  ForwardPlan p = planForward(net);
  ASSERT_TRUE(p.events);
  EXPECT_LT(p.events->limit, 16777216.0f / 4);
  JitBackend events(net);
  auto dense = denseJit(net);
  // The same event plan without its caps: it never falls back.
  ForwardPlan uncapped = planForward(net);
  for (float &c : uncapped.events->cap)
    c = std::numeric_limits<float>::infinity();
  auto checkedLess = jitOf(net, std::move(uncapped));
  const JitBackend &unchecked = *checkedLess;
  SplitMix64 rng(3);
  int differs = 0;
  for (int64_t len = 1; len <= 60; ++len)
    for (int k = 0; k < 20; ++k) {
      std::vector<int32_t> tokens(static_cast<size_t>(len));
      for (auto &t : tokens)
        t = static_cast<int32_t>(rng.below(2));
      expectSame(events, *dense, net, tokens);
      std::vector<double> a(2), b(2);
      unchecked.logits(tokens.data(), len, a.data());
      dense->logits(tokens.data(), len, b.data());
      differs += a != b;
      if (len <= 20) { // still exact: no difference, and the reference agrees
        EXPECT_EQ(a, b);
      }
    }
  // Past 2^24 the incremental sums round differently: the check matters.
  EXPECT_GT(differs, 0);
}

} // namespace
} // namespace handwire
