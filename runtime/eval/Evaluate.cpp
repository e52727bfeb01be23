#include "eval/Evaluate.h"

#include "support/Diagnostics.h"
#include "support/Parallel.h"
#include "tasks/TaskSemantics.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <mutex>
#include <thread>

namespace handwire {

AdversarialHints adversarialHints(const Network &net) {
  AdversarialHints h;
  if (net.certificate.code)
    for (const auto &[i, j] : net.certificate.code->worstPairs)
      h.coherentPositions.emplace_back(i + 1,
                                       j + 1); // codeword i is position i+1
  return h;
}

double lowPrecisionLogitTolerance(const Network &net, StorageFormat format,
                                  double logitScale) {
  const double ulpOfOne =
      std::ldexp(1.0, format == StorageFormat::BF16 ? -7 : -10);
  return net.certificate.logitTolerance +
         4 * ulpOfOne * std::max(1.0, logitScale);
}

int64_t decision(const double *logits, int64_t n) {
  // A NaN compares false with everything, so it would "lose" every
  // comparison and leave class 0 standing: no decision instead.
  for (int64_t c = 0; c < n; ++c)
    if (std::isnan(logits[c]))
      return -1;
  int64_t best = 0;
  bool tie = false;
  for (int64_t c = 1; c < n; ++c) {
    if (logits[c] > logits[best]) {
      best = c;
      tie = false;
    } else if (logits[c] == logits[best]) {
      tie = true;
    }
  }
  return tie ? -1 : best;
}

namespace {
using Clock = std::chrono::steady_clock;

// |a - b|, where equal infinities and two NaNs (an overflowing 16-bit pass)
// agree and a NaN against a number differs infinitely (fabs would be NaN,
// which every comparison ignores).
double logitDifference(double a, double b) {
  if (a == b || (std::isnan(a) && std::isnan(b)))
    return 0;
  const double d = std::fabs(a - b);
  return std::isnan(d) ? std::numeric_limits<double>::infinity() : d;
}

// logit(truth) - the best other logit; -inf if any logit is NaN (a NaN
// would otherwise vanish in std::min and report the margin as inf).
double marginOf(const double *logits, int64_t n, int64_t truth) {
  double other = -std::numeric_limits<double>::infinity();
  for (int64_t c = 0; c < n; ++c) {
    if (std::isnan(logits[c]))
      return -std::numeric_limits<double>::infinity();
    if (c != truth)
      other = std::max(other, logits[c]);
  }
  return logits[truth] - other;
}

// An EvalResult with one entry per backend, minimum margins at +inf: what
// each thread tallies before the tallies are merged.
EvalResult emptyTally(size_t backends) {
  EvalResult r;
  r.backends.resize(backends);
  for (auto &b : r.backends)
    b.minMargin = std::numeric_limits<double>::infinity();
  return r;
}

// Runs input `i` (in `ex`) through every backend and tallies it into
// `local`: timings, margins, mismatches, the first backend's decision and
// logit scale, and the others' disagreement with it.
void runInput(const std::vector<const Backend *> &backends, int64_t C,
              const EvalOptions &opt, int64_t i, const Example &ex,
              std::vector<double> &logits, EvalResult &local) {
  const int64_t truth = ex.label;
  ++local.samples;
  local.adversarial += ex.adversarial;
  int64_t firstDecision = 0;
  for (size_t b = 0; b < backends.size(); ++b) {
    double *l = logits.data() + b * C;
    const auto t0 = Clock::now();
    backends[b]->logits(ex.tokens.data(),
                        static_cast<int64_t>(ex.tokens.size()),
                        ex.features.empty() ? nullptr : ex.features.data(), l);
    local.backends[b].seconds +=
        std::chrono::duration<double>(Clock::now() - t0).count();
    const int64_t d = decision(l, C);
    local.backends[b].minMargin =
        std::min(local.backends[b].minMargin, marginOf(l, C, truth));
    if (b == 0) {
      firstDecision = d;
      for (int64_t c = 0; c < C; ++c)
        if (std::isfinite(l[c]))
          local.maxAbsLogit = std::max(local.maxAbsLogit, std::fabs(l[c]));
      if (opt.recordDecisions)
        local.records.push_back({i, ex.tokens, ex.features, truth, d});
    } else {
      if (d != firstDecision)
        ++local.disagreements;
      for (int64_t c = 0; c < C; ++c)
        local.maxLogitDifference = std::max(local.maxLogitDifference,
                                            logitDifference(l[c], logits[c]));
    }
    if (d != truth) {
      ++local.backends[b].mismatches;
      if (static_cast<int>(local.examples.size()) < opt.maxReported)
        local.examples.push_back({backends[b]->name(), i, ex.tokens,
                                  ex.features, truth, d, ex.adversarial});
    }
  }
}

// Adds one thread's tally to the result (under the caller's lock).
void merge(EvalResult &result, EvalResult &local) {
  result.samples += local.samples;
  result.adversarial += local.adversarial;
  result.cancelled |= local.cancelled;
  result.disagreements += local.disagreements;
  result.maxLogitDifference =
      std::max(result.maxLogitDifference, local.maxLogitDifference);
  result.maxAbsLogit = std::max(result.maxAbsLogit, local.maxAbsLogit);
  for (size_t b = 0; b < result.backends.size(); ++b) {
    result.backends[b].mismatches += local.backends[b].mismatches;
    result.backends[b].seconds += local.backends[b].seconds;
    result.backends[b].minMargin =
        std::min(result.backends[b].minMargin, local.backends[b].minMargin);
  }
  for (auto &m : local.examples)
    result.examples.push_back(std::move(m));
  for (auto &rec : local.records)
    result.records.push_back(std::move(rec));
}

// Deterministic report whatever the thread interleaving.
void sortReport(EvalResult &result, int maxReported) {
  std::sort(result.examples.begin(), result.examples.end(),
            [](const Mismatch &a, const Mismatch &b) {
              return std::tie(a.index, a.backend) <
                     std::tie(b.index, b.backend);
            });
  std::sort(result.records.begin(), result.records.end(),
            [](const DecisionRecord &a, const DecisionRecord &b) {
              return a.index < b.index;
            });
  if (static_cast<int>(result.examples.size()) > maxReported)
    result.examples.resize(static_cast<size_t>(maxReported));
}
} // namespace

EvalResult evaluate(const TaskSpec &task, const Network &net,
                    const std::vector<const Backend *> &backends,
                    const EvalOptions &opt) {
  HW_ASSERT(!backends.empty(), "evaluate needs a backend");
  const ExampleGenerator gen(task, opt.inputs, opt.seed, adversarialHints(net));
  const int64_t C = net.classCount;
  unsigned threads =
      opt.threads > 0 ? static_cast<unsigned>(opt.threads) : workerThreads();
  threads = static_cast<unsigned>(
      std::min<int64_t>(threads, std::max<int64_t>(1, opt.samples)));

  EvalResult result = emptyTally(backends.size());
  for (size_t b = 0; b < backends.size(); ++b)
    result.backends[b].name = backends[b]->name();
  std::mutex mu;
  std::atomic<int64_t> next{0}, done{0};
  const auto start = Clock::now();

  auto work = [&](unsigned t) {
    EvalResult local = emptyTally(backends.size());
    Example ex;
    std::vector<double> logits(static_cast<size_t>(C) * backends.size());
    auto lastReport = Clock::now();
    for (;;) {
      if (opt.cancel && opt.cancel->load(std::memory_order_relaxed)) {
        local.cancelled = true;
        break;
      }
      const int64_t k = next.fetch_add(1);
      if (k >= opt.samples)
        break;
      const int64_t i = opt.firstIndex + k;
      gen.generate(static_cast<uint64_t>(i), ex);
      runInput(backends, C, opt, i, ex, logits, local);
      done.fetch_add(1, std::memory_order_relaxed);
      if (t == 0 && opt.progress &&
          Clock::now() - lastReport > std::chrono::milliseconds(200)) {
        opt.progress(done.load(), opt.samples);
        lastReport = Clock::now();
      }
    }
    std::lock_guard<std::mutex> lock(mu);
    merge(result, local);
  };

  runOnThreads(threads, work);
  if (opt.progress)
    opt.progress(done.load(), opt.samples);
  sortReport(result, opt.maxReported);
  result.wallSeconds =
      std::chrono::duration<double>(Clock::now() - start).count();
  return result;
}

} // namespace handwire
