// One model ready to use from a program: compiled from a spec (stages 1-4:
// parse, sema, construct, certify) or read from a model file, its forward
// pass compiled on first use (stages 5-8, the backends `eval` would choose).
// The Python module (python/) binds this class; the CLI drives the same
// stages through tools/handwire/Common.cpp. Nothing here prints.
#pragma once

#include "Pipeline.h"
#include "backends/ModelEval.h"
#include "eval/EvalSettings.h"
#include "export/ModelFile.h"
#include "tasks/TaskDefinition.h"

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace handwire::api {

// A spec that sema or a construction rejected: what() is the diagnostics as
// the CLI prints them ("file:line:col: error: ...", the line, a caret).
class SpecError : public UserError {
public:
  using UserError::UserError;
};
// A valid request refused: every error was a certificate that fails (the
// CLI's exit 2). what() as SpecError's.
class RefusedError : public UserError {
public:
  using UserError::UserError;
};
// A bad argument of a call (an unknown model name, an input outside the
// network's vocabulary or length, an input the task does not define).
class InvalidArgument : public std::invalid_argument {
public:
  using std::invalid_argument::invalid_argument;
};

struct CompileRequest {
  std::string spec;                   // a .task file
  std::vector<std::string> overrides; // "block.field=value", as -D
  std::string model;                  // by name; empty: the spec's first
  std::optional<Precision> precision; // every model's (model.precision)
  bool allowUncertified = false;
  int64_t memoryLimitBytes = int64_t(8) << 30;
};

// A batch of inputs, flat: input i is tokens[offsets[i] .. offsets[i+1]),
// with features[offsets[i] F .. offsets[i+1] F) for a model with F > 0
// continuous inputs per position (empty: all zero).
struct InputBatch {
  std::vector<int32_t> tokens;
  std::vector<int64_t> offsets{0};
  std::vector<float> features;
  size_t size() const { return offsets.size() - 1; }
};

class CompiledModel {
public:
  // Stages 1-4 for one model. Throws SpecError / RefusedError with the
  // diagnostics, InvalidArgument for an unknown model name.
  static std::unique_ptr<CompiledModel> compile(const CompileRequest &request);
  // A compiled model file (NAME.json next to its .safetensors), read and
  // verified. Throws UserError naming the file and the field at fault.
  static std::unique_ptr<CompiledModel> load(const std::string &configPath,
                                             int64_t maxBytes);

  const TaskSpec &task() const { return task_; }
  const Network &network() const { return net_; }
  const EvalSpec &evalSpec() const { return eval_; }
  const std::string &source() const { return source_; } // spec or file

  // The forward pass on a batch (on worker threads): classCount logits per
  // input, row-major. Throws InvalidArgument for an input outside the
  // network's vocabulary or lengths, UserError if no backend can run it.
  std::vector<double> logits(const InputBatch &batch, int threads = 0,
                             std::optional<Precision> precision = {});

  // The generated-input harness (`eval`): the spec's eval settings under
  // `overrides`, with the backends `choice` picks; `cancel` and `progress`
  // as in EvalOptions.
  ModelEvalReport evaluate(const EvalOverrides &overrides, int threads,
                           BackendChoice choice,
                           std::optional<Precision> precision,
                           const std::atomic<bool> *cancel = nullptr,
                           std::function<void(int64_t, int64_t)> progress = {});
  // Examples 0 .. n-1 of the stream `evaluate` runs with that seed and
  // distribution (the same inputs), each with its ground truth.
  std::vector<Example> generate(int64_t n, uint64_t seed,
                                InputDistribution dist) const;
  // The task semantics' answer; throws InvalidArgument with the task's
  // message for an input the task does not define.
  int64_t groundTruth(const std::vector<int32_t> &tokens,
                      const std::vector<float> &features) const;

  // What `handwire inspect` prints for this model (task line included).
  std::string report() const;
  // The model file's JSON config, and the certificate as reports give it.
  std::string configJson() const;
  std::string certificateJson() const;
  // Writes the model's files into `dir` (TASK.MODEL.*, as `compile` names
  // them); returns their paths.
  std::vector<std::string> save(const std::string &dir, bool onnx) const;

private:
  CompiledModel(TaskSpec task, Network net, EvalSpec eval, std::string source)
      : task_(std::move(task)), net_(std::move(net)), eval_(std::move(eval)),
        source_(std::move(source)) {}
  // The backends for (choice, precision), compiled once and kept.
  const ForwardBackends &backends(BackendChoice choice,
                                  std::optional<Precision> precision);
  void checkBatch(const InputBatch &batch) const;

  TaskSpec task_;
  Network net_;
  EvalSpec eval_;
  std::string source_;
  std::mutex mutex_; // guards backends_
  std::map<std::pair<int, int>, std::unique_ptr<ForwardBackends>> backends_;
};

} // namespace handwire::api
