// The sweep's scheduler: runs a list of (model, N) points on worker threads,
// each through a point runner (SweepPointRunner, or a fake in tests),
// enforces the per-point time budget and cancellation from one monitor
// thread, and reports finished rows (in point order) and progress to an
// observer. It writes nothing itself.
#pragma once

#include "sweep/SweepTable.h"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace handwire {

struct SweepPoint {
  size_t model = 0; // index into the spec's models
  int64_t n = 0;
};

// Every model at every length, length by length.
std::vector<SweepPoint> sweepPoints(const std::vector<int64_t> &lengths,
                                    const std::vector<size_t> &models);

enum class PointPhase { Idle, Building, Compiling, Evaluating };

// What the monitor and the worker running a point share about that point.
class PointSlot {
public:
  // --- the worker (the point runner) ---
  void start(const std::string &label); // a new point: flags cleared
  void setPhase(PointPhase p) { phase_ = p; }
  void beginEval(int64_t total); // phase Evaluating; the budget starts
  void setDone(int64_t done) { done_ = done; }
  // Set when the point must stop (EvalOptions::cancel points here).
  const std::atomic<bool> &stopFlag() const { return stop_; }
  // The stop came from the time budget, not from cancellation.
  bool budgetHit() const { return budgetHit_; }

  // --- the monitor ---
  struct Status {
    std::string label; // "rnn N=4096"
    PointPhase phase = PointPhase::Idle;
    int64_t done = 0, total = 0; // inputs, while evaluating
  };
  Status status() const;
  // Seconds spent evaluating, or a negative number if not evaluating.
  double evalSeconds() const;
  void stop(bool becauseOfBudget);

private:
  using Clock = std::chrono::steady_clock;
  std::atomic<bool> stop_{false}, budgetHit_{false};
  std::atomic<PointPhase> phase_{PointPhase::Idle};
  std::atomic<int64_t> done_{0}, total_{0};
  std::atomic<Clock::rep> evalStart_{0};
  mutable std::mutex mu_;
  std::string label_;
};

// Runs one point; must be safe to call from several workers at once.
using PointRunner = std::function<SweepRow(const SweepPoint &, PointSlot &)>;

struct SweepProgress {
  size_t done = 0, total = 0; // points
  double elapsedSeconds = 0;
  bool cancelled = false;
  std::vector<PointSlot::Status> running; // the busy slots, by worker
};

// Called from the monitor thread (the one that called Sweep::run).
class SweepObserver {
public:
  virtual ~SweepObserver() = default;
  virtual void rowFinished(const SweepRow &) {}   // in point order
  virtual void progress(const SweepProgress &) {} // every tick
};

struct SweepSchedule {
  int workers = 1;              // points at a time
  double timeBudgetSeconds = 0; // of evaluation per point; 0: none
  // Set (e.g. by SIGINT): no new point starts, the running ones stop.
  const std::atomic<bool> *cancel = nullptr;
  std::chrono::milliseconds tick{100}; // how often the monitor looks
};

// --parallel: points one at a time with `jobs` eval threads each, or up to
// `jobs` points at a time with one eval thread each. jobs <= 0: all cores.
struct SweepParallelism {
  int workers = 1, evalThreads = 1;
};
SweepParallelism sweepParallelism(int jobs, bool pointsAtOnce,
                                  size_t pointCount);

class Sweep {
public:
  Sweep(std::vector<SweepPoint> points, SweepSchedule schedule,
        PointRunner runner);
  // Runs every point (until cancelled); returns the rows of the points that
  // ran, in point order.
  std::vector<SweepRow> run(SweepObserver *observer = nullptr);
  size_t pointCount() const { return points_.size(); }

private:
  void work(PointSlot &slot);
  void superviseSlots();
  void flushRows(SweepObserver *observer);
  SweepProgress progress(double elapsed) const;
  bool cancelled() const {
    return schedule_.cancel && schedule_.cancel->load();
  }

  std::vector<SweepPoint> points_;
  SweepSchedule schedule_;
  PointRunner runner_;
  std::vector<SweepRow> rows_;
  std::unique_ptr<std::atomic<bool>[]> ran_; // rows_[i] is final
  std::vector<std::unique_ptr<PointSlot>> slots_;
  std::atomic<size_t> next_{0}, finished_{0};
  size_t reported_ = 0; // rows handed to the observer
};

} // namespace handwire
