// The JIT's side of bench/compare: loads a compiled model file (the same
// NAME.json + NAME.safetensors PyTorch reads; the .onnx beside it holds the
// same weights), compiles it, replays the inputs of a decisions file written
// by `handwire eval --write-decisions` (with its features sidecar, for a
// model with continuous inputs), and times the forward passes alone.
//
//   handwire_compare_jit MODEL.json DECISIONS [--reps R] [--budget S]
//
// One warm-up pass over the inputs (its decisions are the ones reported;
// printed as a JSON line at once), then up to R timed passes while the time
// spent stays within S seconds (default: no limit); prints one JSON object
// on a last line. One thread: the forward pass is single-threaded, and the
// worker pool is set to 1 (-j 1). Same protocol as compare_ort.js and
// compare_torch.py.
#include "backends/Backends.h"
#include "eval/EvalSettings.h"
#include "eval/Evaluate.h"
#include "export/ModelFile.h"
#include "support/Diagnostics.h"
#include "support/Parallel.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <iostream>

namespace handwire {
namespace {

using Clock = std::chrono::steady_clock;

double secondsSince(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

int run(const std::string &config, const std::string &decisionsPath, int reps,
        double budget) {
  setWorkerThreads(1);
  const auto t0 = Clock::now();
  const LoadedModel m = readModel(config, int64_t{8} << 30);
  const double loadMs = 1e3 * secondsSince(t0);
  // Tokens and, for a model with continuous inputs, their features.
  const std::vector<DecisionRecord> inputs =
      readDecisionRecords(decisionsPath, m.net.name);

  const ForwardBackends backends = chooseBackends(m.net, BackendChoice::Jit);
  if (!backends.ok())
    throw UserError(backends.error);
  const Backend &jit = *backends.list().front(); // the JIT alone

  std::vector<double> logits(static_cast<size_t>(m.net.classCount));
  auto pass = [&](std::vector<int64_t> *decisions) {
    const auto start = Clock::now();
    for (const DecisionRecord &x : inputs) {
      jit.logits(x.tokens.data(), static_cast<int64_t>(x.tokens.size()),
                 x.features.empty() ? nullptr : x.features.data(),
                 logits.data());
      if (decisions)
        decisions->push_back(decision(logits.data(), m.net.classCount));
    }
    return secondsSince(start);
  };
  std::vector<int64_t> decisions;
  const double warmup = pass(&decisions);
  nlohmann::json out = {{"decisions", decisions}, {"warmup_seconds", warmup}};
  std::cout << out.dump() << std::endl; // what a timeout still leaves
  // Another pass only if it fits in the budget, judged by the last one.
  std::vector<double> repSeconds;
  double spent = warmup, last = warmup;
  for (int r = 0; r < reps && spent + last <= budget; ++r) {
    last = pass(nullptr);
    spent += last;
    repSeconds.push_back(last);
  }
  std::vector<double> sorted = repSeconds;
  std::sort(sorted.begin(), sorted.end());
  const double median = sorted.empty() ? warmup : sorted[sorted.size() / 2];

  out["runtime"] = jit.name();
  out["model"] = m.net.name;
  out["precision"] = precisionName(m.net.precision);
  out["inputs"] = inputs.size();
  out["rep_seconds"] = repSeconds;
  out["seconds_per_input"] = median / static_cast<double>(inputs.size());
  out["load_ms"] = loadMs;
  out["compile_ms"] = backends.jitTimes ? backends.jitTimes->wallMs : 0.0;
  std::cout << out.dump() << "\n";
  return 0;
}

} // namespace
} // namespace handwire

int main(int argc, char **argv) {
  std::vector<std::string> args(argv + 1, argv + argc), files;
  int reps = 3;
  double budget = 1e300;
  for (size_t i = 0; i < args.size(); ++i)
    if (args[i] == "--reps" && i + 1 < args.size())
      reps = std::max(0, std::atoi(args[++i].c_str()));
    else if (args[i] == "--budget" && i + 1 < args.size())
      budget = std::atof(args[++i].c_str());
    else
      files.push_back(args[i]);
  if (files.size() != 2) {
    std::cerr << "usage: handwire_compare_jit MODEL.json DECISIONS [--reps R] "
                 "[--budget S]\n";
    return 2;
  }
  try {
    return handwire::run(files[0], files[1], reps, budget);
  } catch (const handwire::UserError &e) {
    std::cerr << "handwire_compare_jit: error: " << e.what() << "\n";
    return 1;
  }
}
