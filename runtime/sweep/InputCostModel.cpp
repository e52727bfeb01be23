#include "sweep/InputCostModel.h"

#include <cmath>
#include <sstream>

namespace handwire {

std::string secondsText(double s) {
  std::ostringstream os;
  os.precision(s < 10 ? 2 : 3);
  os << s << " s";
  return os.str();
}

void InputCostModel::record(const std::string &model, int64_t n,
                            double secondsPerInput, double flops) {
  std::lock_guard<std::mutex> lock(mu_);
  history_[model].push_back({n, secondsPerInput, flops});
}

std::optional<InputCostModel::Estimate>
InputCostModel::estimate(const std::string &model, int64_t n,
                         double flops) const {
  std::lock_guard<std::mutex> lock(mu_);
  const Measured *best = nullptr;
  auto it = history_.find(model);
  if (it != history_.end())
    for (const Measured &m : it->second)
      if (m.n < n && (!best || m.n > best->n))
        best = &m;
  if (!best)
    return std::nullopt;
  const double ratio = flops > 0 && best->flops > 0
                           ? flops / best->flops
                           : std::pow(double(n) / double(best->n), 2.0);
  return Estimate{best->secondsPerInput * ratio, best->n};
}

std::optional<std::string> InputCostModel::skipReason(const std::string &model,
                                                      int64_t n,
                                                      double flops) const {
  if (limit_ <= 0)
    return std::nullopt;
  const std::optional<Estimate> e = estimate(model, n, flops);
  if (!e || e->seconds <= limit_)
    return std::nullopt;
  return "one input would take about " + secondsText(e->seconds) +
         " (from N = " + std::to_string(e->fromN) +
         "), over --input-time-limit " + secondsText(limit_);
}

} // namespace handwire
