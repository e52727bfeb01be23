#include "sweep/Sweep.h"

#include <algorithm>
#include <thread>

namespace handwire {

std::vector<SweepPoint> sweepPoints(const std::vector<int64_t> &lengths,
                                    const std::vector<size_t> &models) {
  std::vector<SweepPoint> points;
  for (int64_t n : lengths)
    for (size_t m : models)
      points.push_back({m, n});
  return points;
}

void PointSlot::start(const std::string &label) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    label_ = label;
  }
  stop_ = false;
  budgetHit_ = false;
  done_ = 0;
  total_ = 0;
}

void PointSlot::beginEval(int64_t total) {
  total_ = total;
  evalStart_ = Clock::now().time_since_epoch().count();
  phase_ = PointPhase::Evaluating;
}

PointSlot::Status PointSlot::status() const {
  Status s;
  s.phase = phase_;
  s.done = done_;
  s.total = total_;
  std::lock_guard<std::mutex> lock(mu_);
  s.label = label_;
  return s;
}

double PointSlot::evalSeconds() const {
  if (phase_ != PointPhase::Evaluating)
    return -1;
  const Clock::duration since(Clock::now().time_since_epoch().count() -
                              evalStart_.load());
  return std::chrono::duration<double>(since).count();
}

void PointSlot::stop(bool becauseOfBudget) {
  if (becauseOfBudget)
    budgetHit_ = true;
  stop_ = true;
}

SweepParallelism sweepParallelism(int jobs, bool pointsAtOnce,
                                  size_t pointCount) {
  const unsigned cores = std::max(1u, std::thread::hardware_concurrency());
  if (jobs <= 0)
    jobs = static_cast<int>(cores);
  SweepParallelism p;
  if (pointsAtOnce)
    p.workers = std::max(1, std::min(jobs, static_cast<int>(pointCount)));
  else
    p.evalThreads = jobs;
  return p;
}

Sweep::Sweep(std::vector<SweepPoint> points, SweepSchedule schedule,
             PointRunner runner)
    : points_(std::move(points)), schedule_(schedule),
      runner_(std::move(runner)) {
  schedule_.workers = std::max(1, schedule_.workers);
  rows_.resize(points_.size());
  ran_ = std::make_unique<std::atomic<bool>[]>(points_.size());
  for (int w = 0; w < schedule_.workers; ++w)
    slots_.push_back(std::make_unique<PointSlot>());
}

void Sweep::work(PointSlot &slot) {
  while (!cancelled()) {
    const size_t i = next_.fetch_add(1);
    if (i >= points_.size())
      break;
    rows_[i] = runner_(points_[i], slot);
    slot.setPhase(PointPhase::Idle);
    ran_[i] = true;
    finished_.fetch_add(1);
  }
}

// Cancellation stops every point; the budget, a point evaluating too long.
void Sweep::superviseSlots() {
  const double budget = schedule_.timeBudgetSeconds;
  for (auto &s : slots_) {
    if (cancelled())
      s->stop(false);
    if (budget > 0 && s->evalSeconds() > budget)
      s->stop(true);
  }
}

// Hands the rows finished so far, in point order, to the observer.
void Sweep::flushRows(SweepObserver *observer) {
  for (; reported_ < points_.size() && ran_[reported_]; ++reported_)
    if (observer)
      observer->rowFinished(rows_[reported_]);
}

SweepProgress Sweep::progress(double elapsed) const {
  SweepProgress p;
  p.done = finished_.load();
  p.total = points_.size();
  p.elapsedSeconds = elapsed;
  p.cancelled = cancelled();
  for (const auto &s : slots_) {
    PointSlot::Status st = s->status();
    if (st.phase != PointPhase::Idle)
      p.running.push_back(std::move(st));
  }
  return p;
}

std::vector<SweepRow> Sweep::run(SweepObserver *observer) {
  std::atomic<int> active{schedule_.workers};
  std::vector<std::thread> pool;
  const auto start = std::chrono::steady_clock::now();
  for (auto &slot : slots_)
    pool.emplace_back([this, &active, s = slot.get()] {
      work(*s);
      active.fetch_sub(1);
    });
  // The monitor: time budgets, cancellation, rows and progress.
  while (active.load() > 0) {
    std::this_thread::sleep_for(schedule_.tick);
    superviseSlots();
    flushRows(observer);
    if (observer)
      observer->progress(progress(std::chrono::duration<double>(
                                      std::chrono::steady_clock::now() - start)
                                      .count()));
  }
  for (auto &t : pool)
    t.join();
  flushRows(observer);
  std::vector<SweepRow> out;
  for (size_t i = 0; i < points_.size(); ++i)
    if (ran_[i])
      out.push_back(rows_[i]);
  return out;
}

} // namespace handwire
