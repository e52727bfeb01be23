// The sweep's cost model: how long one input of a model took at each N
// measured so far, to estimate a larger N's before evaluating it, and skip
// the point if one input would take longer than the limit
// (--input-time-limit). Thread-safe: points run on several workers.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace handwire {

class InputCostModel {
public:
  // limitSeconds <= 0: no limit (nothing is ever skipped).
  explicit InputCostModel(double limitSeconds) : limit_(limitSeconds) {}

  // Model `model` at `n` took `secondsPerInput` per input; `flops` is the
  // JIT plan's count of one forward pass (0 if unknown).
  void record(const std::string &model, int64_t n, double secondsPerInput,
              double flops);

  struct Estimate {
    double seconds = 0; // per input
    int64_t fromN = 0;  // the measured N it is scaled from
  };
  // One input's time at `n`, scaled from the largest measured N below it by
  // the ratio of flops if both are known, else by (n / fromN)^2; nullopt if
  // no smaller N was measured.
  std::optional<Estimate> estimate(const std::string &model, int64_t n,
                                   double flops) const;

  // Why the point should be skipped ("one input would take about ..."), or
  // nullopt if it may run.
  std::optional<std::string> skipReason(const std::string &model, int64_t n,
                                        double flops) const;

private:
  struct Measured {
    int64_t n = 0;
    double secondsPerInput = 0, flops = 0;
  };
  double limit_;
  mutable std::mutex mu_;
  std::map<std::string, std::vector<Measured>> history_;
};

// "0.5 s", "12 s", "123 s": two or three significant digits.
std::string secondsText(double s);

} // namespace handwire
