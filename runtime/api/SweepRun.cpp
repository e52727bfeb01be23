#include "api/SweepRun.h"

#include "api/CompiledModel.h"
#include "sweep/Sweep.h"
#include "sweep/SweepPoint.h"

#include <algorithm>
#include <sstream>

namespace handwire::api {

namespace {
void checkRequest(const SweepRequest &r) {
  if (r.lengths.empty())
    throw InvalidArgument("sweep: no lengths given");
  for (int64_t n : r.lengths)
    if (n < 2)
      throw InvalidArgument("sweep: length " + std::to_string(n) +
                            " is below 2");
  for (const std::string &d : r.overrides)
    if (d.rfind("task.max_length", 0) == 0)
      throw InvalidArgument("sweep sets task.max_length itself (lengths=); "
                            "not an override: " +
                            d);
  if (r.samples < 1)
    throw InvalidArgument("sweep: samples must be at least 1");
}

std::vector<size_t> selectModels(const Spec &spec,
                                 const std::vector<std::string> &names) {
  std::vector<size_t> out;
  for (const std::string &name : names) {
    auto it = std::find_if(spec.models.begin(), spec.models.end(),
                           [&](const ModelSpec &m) { return m.name == name; });
    if (it == spec.models.end())
      throw InvalidArgument("no model named '" + name + "' in " + spec.file);
  }
  for (size_t i = 0; i < spec.models.size(); ++i)
    if (names.empty() || std::find(names.begin(), names.end(),
                                   spec.models[i].name) != names.end())
      out.push_back(i);
  return out;
}

// Calls `poll` every tick of the scheduler's monitor (the calling thread).
class PollingObserver : public SweepObserver {
public:
  explicit PollingObserver(const std::function<void()> &poll) : poll_(poll) {}
  void progress(const SweepProgress &) override {
    if (poll_)
      poll_();
  }

private:
  const std::function<void()> &poll_;
};
} // namespace

std::vector<SweepRow> runSweep(const SweepRequest &request,
                               std::atomic<bool> *cancel,
                               const std::function<void()> &poll) {
  checkRequest(request);
  std::vector<int64_t> lengths = request.lengths;
  std::sort(lengths.begin(), lengths.end());
  lengths.erase(std::unique(lengths.begin(), lengths.end()), lengths.end());
  DiagnosticEngine diags;
  std::optional<SweepSpecs> specs =
      loadSweepSpecs(request.spec, request.overrides, lengths, diags);
  if (!specs) {
    std::ostringstream text;
    diags.flush(text);
    std::string message = text.str();
    while (!message.empty() && message.back() == '\n')
      message.pop_back();
    throw SpecError(message);
  }
  const std::vector<size_t> models = selectModels(specs->base, request.models);
  std::vector<SweepPoint> points = sweepPoints(lengths, models);
  const SweepParallelism par =
      sweepParallelism(request.jobs, request.pointsAtOnce, points.size());

  PointSettings settings;
  settings.compile.allowUncertified = request.allowUncertified;
  settings.compile.memoryLimitBytes = request.memoryLimitBytes;
  settings.eval.samples = request.samples;
  settings.eval.seed = request.seed;
  settings.eval.inputs = request.inputs;
  settings.evalThreads = par.evalThreads;
  settings.timeBudgetSeconds = request.timeBudgetSeconds;
  settings.inputTimeLimit = request.inputTimeLimit;
  settings.interrupted = cancel;
  SweepPointRunner runner(*specs, settings);
  SweepSchedule schedule;
  schedule.workers = par.workers;
  schedule.timeBudgetSeconds = request.timeBudgetSeconds;
  schedule.cancel = cancel;
  Sweep sweep(std::move(points), schedule,
              [&runner](const SweepPoint &p, PointSlot &slot) {
                return runner.run(p, slot);
              });
  PollingObserver observer(poll);
  return sweep.run(&observer);
}

} // namespace handwire::api
