#include "api/CompiledModel.h"

#include "analysis/SeparationCard.h"
#include "report/ModelReport.h"
#include "support/Parallel.h"
#include "tasks/Generators.h"
#include "tasks/TaskSemantics.h"

#include <algorithm>
#include <sstream>

namespace handwire::api {

namespace {
// The diagnostics so far as the CLI prints them, thrown: refused if every
// error was a certificate that fails.
[[noreturn]] void throwDiagnostics(DiagnosticEngine &diags) {
  const bool refused = diags.errorCount() == diags.refusalCount();
  std::ostringstream text;
  diags.flush(text);
  std::string message = text.str();
  while (!message.empty() && message.back() == '\n')
    message.pop_back();
  if (refused)
    throw RefusedError(message);
  throw SpecError(message);
}

const ModelSpec &selectModel(const Spec &spec, const std::string &name) {
  HW_ASSERT(!spec.models.empty(), "sema accepts no spec without models");
  if (name.empty())
    return spec.models.front();
  std::string names;
  for (const ModelSpec &m : spec.models) {
    if (m.name == name)
      return m;
    names += (names.empty() ? "" : ", ") + m.name;
  }
  throw InvalidArgument("no model named '" + name + "' in " + spec.file +
                        " (models: " + clipMiddle(names, 2000) + ")");
}
} // namespace

std::unique_ptr<CompiledModel>
CompiledModel::compile(const CompileRequest &request) {
  std::vector<std::string> overrides = request.overrides;
  if (request.precision)
    overrides.push_back(std::string("model.precision=") +
                        precisionName(*request.precision));
  PipelineOptions options;
  options.compile.allowUncertified = request.allowUncertified;
  options.compile.memoryLimitBytes = request.memoryLimitBytes;
  DiagnosticEngine diags;
  Pipeline pipeline(options, diags);
  std::optional<Spec> spec = pipeline.frontEnd(request.spec, overrides);
  if (!spec)
    throwDiagnostics(diags);
  const ModelSpec &model = selectModel(*spec, request.model);
  std::optional<Network> net = pipeline.network(*spec, model);
  if (!net)
    throwDiagnostics(diags);
  return std::unique_ptr<CompiledModel>(
      new CompiledModel(spec->task, std::move(*net), spec->eval, request.spec));
}

std::unique_ptr<CompiledModel> CompiledModel::load(const std::string &path,
                                                   int64_t maxBytes) {
  LoadedModel m = readModel(path, maxBytes);
  return std::unique_ptr<CompiledModel>(
      new CompiledModel(std::move(m.task), std::move(m.net), EvalSpec{}, path));
}

const ForwardBackends &
CompiledModel::backends(BackendChoice choice,
                        std::optional<Precision> precision) {
  const std::pair<int, int> key{static_cast<int>(choice),
                                precision ? static_cast<int>(*precision) : -1};
  std::lock_guard<std::mutex> lock(mutex_);
  auto &slot = backends_[key];
  if (!slot) {
    auto chosen = std::make_unique<ForwardBackends>(
        chooseBackends(net_, choice, precision));
    if (!chosen->ok())
      throw UserError(chosen->error);
    slot = std::move(chosen);
  }
  return *slot;
}

void CompiledModel::checkBatch(const InputBatch &batch) const {
  const int64_t F = net_.featureDim();
  const int64_t total = batch.offsets.back();
  if (!batch.features.empty() &&
      static_cast<int64_t>(batch.features.size()) != total * F)
    throw InvalidArgument("features: " + std::to_string(batch.features.size()) +
                          " numbers for " + std::to_string(total) +
                          " positions; model '" + net_.name + "' takes " +
                          std::to_string(F) + " per position");
  for (size_t i = 0; i < batch.size(); ++i) {
    const int64_t length = batch.offsets[i + 1] - batch.offsets[i];
    const std::string where = "input " + std::to_string(i) + ": ";
    if (length < 1 || length > net_.maxSequenceLength)
      throw InvalidArgument(where + "length " + std::to_string(length) +
                            " is outside 1.." +
                            std::to_string(net_.maxSequenceLength));
    for (int64_t p = batch.offsets[i]; p < batch.offsets[i + 1]; ++p)
      if (batch.tokens[p] < 0 || batch.tokens[p] >= net_.tokenCount)
        throw InvalidArgument(
            where + "token " + std::to_string(batch.tokens[p]) +
            " at position " + std::to_string(p - batch.offsets[i]) +
            " is outside the vocabulary 0.." +
            std::to_string(net_.tokenCount - 1));
  }
}

std::vector<double> CompiledModel::logits(const InputBatch &batch, int threads,
                                          std::optional<Precision> precision) {
  checkBatch(batch);
  const Backend &backend =
      *backends(BackendChoice::Auto, precision).list().front();
  const int64_t C = net_.classCount, F = net_.featureDim();
  std::vector<double> out(batch.size() * static_cast<size_t>(C));
  std::atomic<size_t> next{0};
  const unsigned workers = static_cast<unsigned>(std::min<size_t>(
      threads > 0 ? static_cast<size_t>(threads) : workerThreads(),
      std::max<size_t>(1, batch.size())));
  runOnThreads(workers, [&](unsigned) {
    for (size_t i = next++; i < batch.size(); i = next++) {
      const int64_t begin = batch.offsets[i];
      backend.logits(batch.tokens.data() + begin, batch.offsets[i + 1] - begin,
                     batch.features.empty() ? nullptr
                                            : batch.features.data() + begin * F,
                     out.data() + i * C);
    }
  });
  return out;
}

ModelEvalReport CompiledModel::evaluate(
    const EvalOverrides &overrides, int threads, BackendChoice choice,
    std::optional<Precision> precision, const std::atomic<bool> *cancel,
    std::function<void(int64_t, int64_t)> progress) {
  EvalOptions options = evalOptionsFor(eval_, overrides);
  options.threads = threads;
  options.cancel = cancel;
  options.progress = std::move(progress);
  return evaluateModel(task_, net_, backends(choice, precision), options);
}

std::vector<Example> CompiledModel::generate(int64_t n, uint64_t seed,
                                             InputDistribution dist) const {
  const ExampleGenerator generator(task_, dist, seed, adversarialHints(net_));
  std::vector<Example> out(static_cast<size_t>(std::max<int64_t>(0, n)));
  for (size_t i = 0; i < out.size(); ++i)
    generator.generate(i, out[i]);
  return out;
}

int64_t CompiledModel::groundTruth(const std::vector<int32_t> &tokens,
                                   const std::vector<float> &features) const {
  const std::string problem = checkInput(task_, tokens, features);
  if (!problem.empty())
    throw InvalidArgument(problem);
  return handwire::groundTruth(task_, tokens, features);
}

std::string CompiledModel::report() const {
  std::ostringstream os;
  printTaskLine(os, task_);
  os << "\n";
  printModelInspection(os, net_, separationCard(task_, net_), true);
  return os.str();
}

std::string CompiledModel::configJson() const {
  const auto files =
      Pipeline::exportFileNames(task_, net_, Pipeline::ExportFormat::Weights);
  return modelConfigJson(task_, net_, files.front());
}

std::string CompiledModel::certificateJson() const {
  return handwire::certificateJson(net_).dump();
}

std::vector<std::string> CompiledModel::save(const std::string &dir,
                                             bool onnx) const {
  DiagnosticEngine diags;
  Pipeline pipeline(PipelineOptions{}, diags);
  return pipeline.exportModel(task_, net_, dir,
                              onnx ? Pipeline::ExportFormat::Onnx
                                   : Pipeline::ExportFormat::Weights);
}

} // namespace handwire::api
