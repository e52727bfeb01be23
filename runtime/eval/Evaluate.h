// The evaluation harness: streams generated inputs through one or more
// backends on all cores and compares each decision with the task semantics
// (and the backends with each other). Memory stays flat in the number of
// inputs: each thread reuses one example buffer.
#pragma once

#include "eval/Backend.h"
#include "ir/Network.h"
#include "ir/StorageFormat.h"
#include "spec/TaskSpec.h"
#include "tasks/Generators.h"

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace handwire {

struct EvalOptions {
  int64_t samples = 10000;
  // The inputs run are firstIndex .. firstIndex + samples - 1; each is
  // generated from its index alone, so a shard (eval --shard) runs exactly
  // its part of an unsharded run's inputs.
  int64_t firstIndex = 0;
  uint64_t seed = 1;
  InputDistribution inputs = InputDistribution::Mixed;
  int threads = 0;     // 0: workerThreads()
  int maxReported = 5; // mismatching inputs kept for the report
  // Called now and then from one thread with (done, total).
  std::function<void(int64_t, int64_t)> progress;
  // Set to true (e.g. by a SIGINT handler) to stop early.
  const std::atomic<bool> *cancel = nullptr;
  // Keep every input and the first backend's decision in EvalResult::records
  // (memory grows with samples x input length; for exporting test cases).
  bool recordDecisions = false;
};

// One evaluated input, when EvalOptions::recordDecisions is set.
struct DecisionRecord {
  int64_t index = 0; // which generated input
  std::vector<int32_t> tokens;
  std::vector<float> features; // length x F continuous inputs (F = 0: none)
  int64_t expected = 0;        // the task semantics' answer
  int64_t decision = 0;        // the first backend's decision, -1 for a tie
};

struct Mismatch {
  std::string backend;
  int64_t index = 0; // which generated input
  std::vector<int32_t> tokens;
  std::vector<float> features;    // as DecisionRecord's
  int64_t expected = 0, got = -1; // got = -1: a tie
  bool adversarial = false;
};

struct BackendResult {
  std::string name;
  int64_t mismatches = 0;
  double minMargin = 0; // min over inputs of logit(truth) - max other logit
  double seconds = 0;   // summed over threads, inside the backend only
};

struct EvalResult {
  int64_t samples = 0; // inputs actually run (fewer if cancelled)
  int64_t adversarial = 0;
  bool cancelled = false;
  double wallSeconds = 0;
  std::vector<BackendResult> backends;
  int64_t disagreements = 0;     // inputs where the backends' decisions differ
  double maxLogitDifference = 0; // between the first backend and each other
  double maxAbsLogit = 0;        // largest finite |logit| of the first backend
  std::vector<Mismatch> examples;
  std::vector<DecisionRecord> records; // by index; see recordDecisions
};

// Where the network is weakest, for adversarial generation.
AdversarialHints adversarialHints(const Network &net);

EvalResult evaluate(const TaskSpec &task, const Network &net,
                    const std::vector<const Backend *> &backends,
                    const EvalOptions &options);

// The largest logit difference allowed between two correct forward passes of
// `net` stored in `format` (the JIT's and the emulated reference's), whose
// largest |logit| is `logitScale`. Both run the same operations on the same
// rounded weights and round the same stored values; they differ only in the
// order of fp32 accumulation (vectorized, fused sums against Eigen's), which
// moves a value by a few fp32 ulps before it is rounded, and so may put one
// stored value on the other side of a 16-bit rounding boundary: one 16-bit
// ulp there, carried to the logits. Allowed: 4 ulps of the format at the
// logit scale, on top of the construction's fp32 tolerance. (Measured: the
// constructions' logits agree bit for bit at N = 64 and 1024 and within one
// f16 ulp at N = 16384; random dense networks within 1.1 f16 ulps of their
// largest logit, 0 in bf16.) Decisions must agree regardless.
double lowPrecisionLogitTolerance(const Network &net, StorageFormat format,
                                  double logitScale);

// argmax of logits[0 .. n), or -1 if the maximum is not unique or a logit
// is NaN.
int64_t decision(const double *logits, int64_t n);

} // namespace handwire
