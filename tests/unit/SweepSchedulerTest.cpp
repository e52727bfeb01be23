// The sweep's scheduler (runtime/sweep/Sweep.h) with fake point runners:
// rows come back and reach the observer in point order whatever order the
// workers finish in; cancellation stops the running point and starts no new
// one; the time budget stops a point's evaluation and says so.
#include "sweep/Sweep.h"

#include <gtest/gtest.h>

#include <thread>

namespace handwire {
namespace {

using namespace std::chrono_literals;

SweepRow rowFor(const SweepPoint &p) {
  SweepRow r;
  r.model = "m" + std::to_string(p.model);
  r.n = p.n;
  r.status = "ok";
  return r;
}

struct RecordingObserver : SweepObserver {
  std::vector<int64_t> rows;
  std::vector<std::string> labels; // seen running, in progress reports
  void rowFinished(const SweepRow &r) override { rows.push_back(r.n); }
  void progress(const SweepProgress &p) override {
    for (const auto &s : p.running)
      labels.push_back(s.label);
  }
};

// Waits (at most a generous while) until the slot is told to stop.
bool waitForStop(const PointSlot &slot) {
  for (int i = 0; i < 2000 && !slot.stopFlag(); ++i)
    std::this_thread::sleep_for(5ms);
  return slot.stopFlag();
}

SweepSchedule fastSchedule(int workers) {
  SweepSchedule s;
  s.workers = workers;
  s.tick = 5ms;
  return s;
}

TEST(SweepScheduler, PointsAreEveryModelAtEveryLength) {
  const auto pts = sweepPoints({16, 64}, {0, 2});
  ASSERT_EQ(pts.size(), 4u);
  EXPECT_EQ(pts[0].n, 16);
  EXPECT_EQ(pts[0].model, 0u);
  EXPECT_EQ(pts[1].model, 2u);
  EXPECT_EQ(pts[3].n, 64);
}

TEST(SweepScheduler, RowsInPointOrderWhateverFinishesFirst) {
  // Earlier points take longer, so later ones finish first on 3 workers.
  std::vector<SweepPoint> points;
  for (int64_t n = 1; n <= 6; ++n)
    points.push_back({0, n});
  Sweep sweep(points, fastSchedule(3),
              [](const SweepPoint &p, PointSlot &slot) {
                slot.start("m N=" + std::to_string(p.n));
                slot.setPhase(PointPhase::Building);
                std::this_thread::sleep_for((7 - p.n) * 10ms);
                return rowFor(p);
              });
  RecordingObserver obs;
  const std::vector<SweepRow> rows = sweep.run(&obs);
  ASSERT_EQ(rows.size(), 6u);
  for (size_t i = 0; i < rows.size(); ++i)
    EXPECT_EQ(rows[i].n, static_cast<int64_t>(i + 1));
  EXPECT_EQ(obs.rows, (std::vector<int64_t>{1, 2, 3, 4, 5, 6}));
}

TEST(SweepScheduler, CancellationStopsTheRunningPointAndStartsNoOther) {
  std::atomic<bool> cancel{false};
  SweepSchedule schedule = fastSchedule(1);
  schedule.cancel = &cancel;
  std::atomic<int> started{0};
  bool stopped = false;
  Sweep sweep(sweepPoints({1, 2, 3, 4}, {0}), schedule,
              [&](const SweepPoint &p, PointSlot &slot) {
                ++started;
                slot.start("m");
                if (p.n == 2) { // cancelled while evaluating
                  slot.beginEval(100);
                  cancel = true;
                  stopped = waitForStop(slot);
                  SweepRow r = rowFor(p);
                  r.status = slot.budgetHit() ? "budget" : "interrupted";
                  return r;
                }
                return rowFor(p);
              });
  const std::vector<SweepRow> rows = sweep.run();
  EXPECT_TRUE(stopped);
  EXPECT_EQ(started, 2);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[1].n, 2);
  EXPECT_EQ(rows[1].status, "interrupted");
}

TEST(SweepScheduler, TimeBudgetStopsAnEvaluationThatRunsTooLong) {
  SweepSchedule schedule = fastSchedule(1);
  schedule.timeBudgetSeconds = 0.05;
  bool stopped = false, budget = false;
  Sweep sweep(sweepPoints({16, 32}, {0}), schedule,
              [&](const SweepPoint &p, PointSlot &slot) {
                slot.start("m N=" + std::to_string(p.n));
                if (p.n == 16) {
                  slot.beginEval(1000);
                  stopped = waitForStop(slot);
                  budget = slot.budgetHit();
                }
                return rowFor(p);
              });
  RecordingObserver obs;
  const std::vector<SweepRow> rows = sweep.run(&obs);
  EXPECT_TRUE(stopped);
  EXPECT_TRUE(budget);
  // The next point starts afresh: it ran, and the flags were cleared.
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[1].n, 32);
  // The point was reported as running while it was evaluated.
  EXPECT_NE(std::find(obs.labels.begin(), obs.labels.end(), "m N=16"),
            obs.labels.end());
}

TEST(SweepScheduler, NoBudgetWhileNotEvaluating) {
  SweepSchedule schedule = fastSchedule(1);
  schedule.timeBudgetSeconds = 0.01;
  bool stopFlag = true;
  Sweep sweep(sweepPoints({16}, {0}), schedule,
              [&](const SweepPoint &p, PointSlot &slot) {
                slot.start("m");
                slot.setPhase(PointPhase::Compiling); // not the eval
                std::this_thread::sleep_for(100ms);
                stopFlag = slot.stopFlag();
                return rowFor(p);
              });
  EXPECT_EQ(sweep.run().size(), 1u);
  EXPECT_FALSE(stopFlag);
}

TEST(SweepScheduler, ParallelismFromJobs) {
  const SweepParallelism points = sweepParallelism(4, true, 10);
  EXPECT_EQ(points.workers, 4);
  EXPECT_EQ(points.evalThreads, 1);
  EXPECT_EQ(sweepParallelism(4, true, 2).workers, 2); // no idle workers
  const SweepParallelism inputs = sweepParallelism(3, false, 10);
  EXPECT_EQ(inputs.workers, 1);
  EXPECT_EQ(inputs.evalThreads, 3);
  EXPECT_GE(sweepParallelism(0, false, 1).evalThreads, 1); // all cores
}

} // namespace
} // namespace handwire
