// handwire bound's arithmetic (analysis/StateBound.h): state descriptions,
// their unit counts, and the RNN lower bounds inverted over N.
#include "TestSpecs.h"

#include "analysis/StateBound.h"
#include "support/Diagnostics.h"

#include <gtest/gtest.h>

#include <cmath>

namespace handwire {
namespace {

using testing::indexLookupSpec;
using testing::taskSpec;

// The message of the UserError that parsing `text` throws ("" if none).
std::string parseError(const std::string &text) {
  try {
    parseStateDescription(text);
  } catch (const UserError &e) {
    return e.what();
  }
  return "";
}

TEST(StateBound, FamiliesCountEveryNumberCarriedBetweenTokens) {
  const StateDescription lstm =
      parseStateDescription("lstm hidden=512 layers=2 bits=16");
  EXPECT_EQ(lstm.units, 2 * 512 * 2); // h and c per layer
  EXPECT_EQ(lstm.bits, 16);
  EXPECT_EQ(lstm.stateBits(), 32768);
  EXPECT_EQ(lstm.text(), "lstm hidden=512 layers=2 bits=16");
  // Defaults: one layer, 16 bits.
  EXPECT_EQ(parseStateDescription("lstm hidden=512").stateBits(), 16384);
  EXPECT_EQ(parseStateDescription("gru hidden=300 layers=3").units, 900);
  EXPECT_EQ(parseStateDescription("rnn hidden=64 bits=32").stateBits(),
            64 * 32);
  EXPECT_EQ(parseStateDescription("elman hidden=64 layers=4").units, 256);
  // Mamba: layers x expand x d_model x (d_state + d_conv - 1).
  EXPECT_EQ(
      parseStateDescription("mamba d_model=768 d_state=16 layers=24").units,
      24.0 * 2 * 768 * (16 + 3));
  EXPECT_EQ(parseStateDescription("ssm d_model=256 d_state=64").units,
            256 * 64);
  EXPECT_EQ(parseStateDescription("linear_attention d_k=64 d_v=64 heads=8 "
                                  "layers=12")
                .units,
            12.0 * 8 * (64 * 64 + 64));
  EXPECT_EQ(
      parseStateDescription("retnet d_k=64 d_v=64 heads=8 layers=12").units,
      12.0 * 8 * 64 * 64);
}

TEST(StateBound, MalformedStatesNameTheKeyTheFamilyAndTheKeys) {
  EXPECT_NE(parseError("").find("the families are lstm, gru"),
            std::string::npos);
  EXPECT_NE(parseError("transformer width=4")
                .find("unknown family "
                      "'transformer'"),
            std::string::npos);
  const std::string unknown = parseError("lstm hiden=512");
  EXPECT_NE(unknown.find("unknown key 'hiden' for lstm"), std::string::npos)
      << unknown;
  EXPECT_NE(unknown.find("hidden (required), layers (default 1), bits "
                         "(default 16)"),
            std::string::npos)
      << unknown;
  EXPECT_NE(parseError("lstm layers=2").find("lstm needs hidden="),
            std::string::npos);
  EXPECT_NE(parseError("gru hidden=0")
                .find("hidden=0 for gru: must be an "
                      "integer from 1"),
            std::string::npos);
  EXPECT_NE(parseError("gru hidden=12x").find("hidden=12x"), std::string::npos);
  EXPECT_NE(parseError("gru hidden=8 bits=65").find("from 1 to 64"),
            std::string::npos);
  EXPECT_NE(parseError("gru hidden=8 hidden=9").find("given twice"),
            std::string::npos);
  EXPECT_NE(parseError("gru 512").find("'512' is not KEY=VALUE"),
            std::string::npos);
  EXPECT_NE(parseError("retnet d_k=1099511627776 d_v=1099511627776 "
                       "heads=1099511627776")
                .find("more than 2^53"),
            std::string::npos);
  EXPECT_EQ(parseError("mamba d_model=768 d_state=16 layers=24 bits=16"), "");
}

TEST(StateBound, IndexLookupOnAnLstmOf512UnitsAt16Bits) {
  // One LSTM layer of 512 units: 1024 numbers of 16 bits, S = 16384. Index
  // lookup over 4 symbols needs N log2 4 = 2N bits: N <= 8192.
  const double S = parseStateDescription("lstm hidden=512 bits=16").stateBits();
  ASSERT_EQ(S, 16384);
  const LengthLimit l = largestLength(indexLookupSpec(1024, 4).task, S);
  EXPECT_FALSE(l.anyLength);
  EXPECT_EQ(l.maxLength, 8192);
  EXPECT_EQ(l.bound.kind, BoundKind::StateSize);
  ASSERT_FALSE(l.arithmetic.empty());
  EXPECT_EQ(l.arithmetic.back(), "N_max   floor(16384 / 2) = 8192");
  // Two layers double it.
  EXPECT_EQ(largestLength(indexLookupSpec(1024, 4).task, 2 * S).maxLength,
            16384);
  // Equality and disjointness: n bits, N <= S.
  EXPECT_EQ(
      largestLength(taskSpec(TaskKind::StringEquality, 64).task, S).maxLength,
      16384);
  EXPECT_EQ(
      largestLength(taskSpec(TaskKind::Disjointness, 64).task, S).maxLength,
      16384);
}

TEST(StateBound, TheInversionAgreesWithTheBoundOnBothSides) {
  // log2 3 is irrational: N_max = floor(S / log2 3), checked against the
  // task's own formula at N_max and N_max + 1 for many S.
  for (int V : {2, 3, 5, 7, 26}) {
    const TaskSpec task = indexLookupSpec(64, V).task;
    for (double S : {1.0, 2.0, 100.0, 16384.0, 65537.0, 1e9}) {
      const LengthLimit l = largestLength(task, S);
      ASSERT_FALSE(l.anyLength);
      const double c = std::log2(static_cast<double>(V));
      EXPECT_LE(static_cast<double>(l.maxLength) * c, S) << V << " " << S;
      EXPECT_GT(static_cast<double>(l.maxLength + 1) * c, S) << V << " " << S;
    }
  }
  // S = 1 bit and 3 symbols: not even N = 1 (log2 3 > 1).
  EXPECT_EQ(largestLength(indexLookupSpec(64, 3).task, 1).maxLength, 0);
}

TEST(StateBound, BoundsThatStopGrowingAllowAnyN) {
  // Associative recall: min(N, K) log2|alphabet|; K = 16, 4 values: at most
  // 32 bits. 32 bits of state allow any N, 31 bits N <= 15.
  Spec ar = taskSpec(TaskKind::AssociativeRecall, 64);
  ar.task.keys = 16;
  EXPECT_TRUE(largestLength(ar.task, 32).anyLength);
  const LengthLimit l = largestLength(ar.task, 31);
  EXPECT_FALSE(l.anyLength);
  EXPECT_EQ(l.maxLength, 15);
  // Bounded Dyck-(2,2): log2 8 = 3 bits at every N (7 stacks and the dead
  // state).
  const TaskSpec dyck = taskSpec(TaskKind::BoundedDyck, 64).task;
  EXPECT_TRUE(largestLength(dyck, 3).anyLength);
  const LengthLimit tiny = largestLength(dyck, 2); // 2 < 3
  EXPECT_FALSE(tiny.anyLength);
  EXPECT_EQ(tiny.maxLength, 0);
  EXPECT_NE(tiny.arithmetic.back().find("too small at every N"),
            std::string::npos);
}

} // namespace
} // namespace handwire
