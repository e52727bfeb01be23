// The sweep's cost model (runtime/sweep/InputCostModel.h): estimates from
// the largest smaller N measured, scaled by flops or by N^2, and the skip
// decision against the limit.
#include "sweep/InputCostModel.h"

#include <gtest/gtest.h>

namespace handwire {
namespace {

TEST(InputCostModel, NoEstimateWithoutASmallerMeasuredN) {
  InputCostModel costs(1.0);
  EXPECT_FALSE(costs.estimate("rnn", 64, 0).has_value());
  costs.record("rnn", 64, 0.5, 0);
  EXPECT_FALSE(costs.estimate("rnn", 64, 0).has_value()); // not below
  EXPECT_FALSE(costs.estimate("rnn", 32, 0).has_value());
  EXPECT_FALSE(costs.estimate("transformer", 128, 0).has_value());
}

TEST(InputCostModel, ScalesByFlopsWhenBothAreKnown) {
  InputCostModel costs(1.0);
  costs.record("m", 16, 0.001, 1000);
  const auto e = costs.estimate("m", 64, 8000);
  ASSERT_TRUE(e.has_value());
  EXPECT_DOUBLE_EQ(e->seconds, 0.008);
  EXPECT_EQ(e->fromN, 16);
}

TEST(InputCostModel, ScalesByTheSquareOfNOtherwise) {
  InputCostModel costs(1.0);
  costs.record("m", 16, 0.001, 0);
  const auto e = costs.estimate("m", 64, 8000); // no flops measured at 16
  ASSERT_TRUE(e.has_value());
  EXPECT_DOUBLE_EQ(e->seconds, 0.016);
  costs.record("m", 32, 0.002, 500);
  const auto f = costs.estimate("m", 64, 0); // flops unknown at 64
  ASSERT_TRUE(f.has_value());
  EXPECT_DOUBLE_EQ(f->seconds, 0.008);
}

TEST(InputCostModel, UsesTheLargestMeasuredNBelow) {
  InputCostModel costs(1.0);
  costs.record("m", 16, 1.0, 0);
  costs.record("m", 256, 2.0, 0);
  costs.record("m", 64, 3.0, 0);
  EXPECT_EQ(costs.estimate("m", 128, 0)->fromN, 64);
  EXPECT_EQ(costs.estimate("m", 1024, 0)->fromN, 256);
  EXPECT_EQ(costs.estimate("m", 32, 0)->fromN, 16);
}

TEST(InputCostModel, SkipsOnlyOverTheLimit) {
  InputCostModel costs(0.01);
  costs.record("rnn", 16, 0.001, 0);
  EXPECT_FALSE(costs.skipReason("rnn", 32, 0).has_value()); // 0.004 s
  const auto why = costs.skipReason("rnn", 64, 0);          // 0.016 s
  ASSERT_TRUE(why.has_value());
  EXPECT_EQ(*why, "one input would take about 0.016 s (from N = 16), over "
                  "--input-time-limit 0.01 s");
}

TEST(InputCostModel, NoLimitNeverSkips) {
  InputCostModel costs(0);
  costs.record("rnn", 16, 100.0, 0);
  EXPECT_TRUE(costs.estimate("rnn", 1 << 20, 0).has_value());
  EXPECT_FALSE(costs.skipReason("rnn", 1 << 20, 0).has_value());
}

TEST(InputCostModel, SecondsText) {
  EXPECT_EQ(secondsText(0.0123), "0.012 s");
  EXPECT_EQ(secondsText(5), "5 s");
  EXPECT_EQ(secondsText(123.4), "123 s");
}

} // namespace
} // namespace handwire
