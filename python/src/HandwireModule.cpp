// The `handwire._handwire` extension: pybind11 bindings of runtime/api (a
// compiled model, a sweep). This file converts between Python objects and
// the library's types and nothing else; python/handwire/__init__.py wraps it
// with keyword defaults and the pure-Python parts (to_torch, DataFrames).
#include "api/CompiledModel.h"
#include "api/SweepRun.h"
#include "eval/Evaluate.h"
#include "export/ModelFile.h"
#include "support/Parallel.h"
#include "sweep/SweepTable.h"

#include <pybind11/functional.h>
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <limits>

namespace py = pybind11;
using namespace handwire;
using api::CompiledModel;
using api::InvalidArgument;

namespace {

// JSON text as Python objects (json.loads: dicts, lists, numbers, None).
py::object fromJson(const std::string &text) {
  return py::module_::import("json").attr("loads")(text);
}

std::optional<Precision> precisionArg(const std::optional<std::string> &name) {
  if (!name)
    return std::nullopt;
  std::optional<Precision> p = precisionByName(*name);
  if (!p)
    throw InvalidArgument("precision: '" + *name +
                          "' is not one of f32, f64, f16, bf16");
  return p;
}

std::optional<InputDistribution>
distributionArg(const std::optional<std::string> &name) {
  if (!name)
    return std::nullopt;
  std::optional<InputDistribution> d = inputDistributionByName(*name);
  if (!d)
    throw InvalidArgument("inputs: '" + *name +
                          "' is not one of uniform, adversarial, mixed");
  return d;
}

// One input's token ids (a list, tuple or 1-D integer array); `where`
// prefixes messages ("input 3: "). Ids beyond int32 cannot be tokens; the
// vocabulary is checked by the model (CompiledModel::logits).
std::vector<int32_t> tokenRow(py::handle row, const std::string &where) {
  py::array a = py::module_::import("numpy").attr("asarray")(row);
  const char kind = a.dtype().kind();
  if (a.ndim() != 1)
    throw InvalidArgument(where + "expected a sequence of token ids, got " +
                          std::to_string(a.ndim()) + " dimensions");
  if (a.size() > 0 && kind != 'i' && kind != 'u')
    throw InvalidArgument(where + "token ids must be integers");
  const auto ids =
      py::array_t<int64_t, py::array::c_style | py::array::forcecast>(a);
  std::vector<int32_t> out(static_cast<size_t>(ids.size()));
  for (size_t p = 0; p < out.size(); ++p) {
    const int64_t id = ids.data()[p];
    if (id < std::numeric_limits<int32_t>::min() ||
        id > std::numeric_limits<int32_t>::max())
      throw InvalidArgument(where + "token " + std::to_string(id) +
                            " at position " + std::to_string(p) +
                            " is not a token id");
    out[p] = static_cast<int32_t>(id);
  }
  return out;
}

std::string inputLabel(size_t i) { return "input " + std::to_string(i) + ": "; }

// The inputs as rows: a 2-D integer array, or a sequence of sequences.
std::vector<std::vector<int32_t>> tokenRows(py::handle inputs) {
  std::vector<std::vector<int32_t>> rows;
  if (py::isinstance<py::array>(inputs)) {
    py::array a = py::reinterpret_borrow<py::array>(inputs);
    if (a.ndim() != 2)
      throw InvalidArgument("inputs: expected a 2-D array [batch, length] or "
                            "a list of token lists, got a " +
                            std::to_string(a.ndim()) + "-D array");
    for (py::ssize_t i = 0; i < a.shape(0); ++i)
      rows.push_back(
          tokenRow(a[py::int_(i)], inputLabel(static_cast<size_t>(i))));
    return rows;
  }
  if (py::isinstance<py::str>(inputs) || !py::isinstance<py::sequence>(inputs))
    throw InvalidArgument("inputs: expected a list of token lists or a 2-D "
                          "integer array");
  py::sequence seq = py::reinterpret_borrow<py::sequence>(inputs);
  for (size_t i = 0; i < seq.size(); ++i) {
    if (py::isinstance<py::int_>(seq[i]))
      throw InvalidArgument("inputs: expected a list of inputs, each a list "
                            "of token ids (for one input, pass [tokens])");
    rows.push_back(tokenRow(seq[i], inputLabel(i)));
  }
  return rows;
}

// Appends input i's features (a [length, F] array; None: zeros).
void appendFeatures(py::handle f, size_t i, int64_t length, int64_t F,
                    std::vector<float> &out) {
  if (f.is_none()) {
    out.resize(out.size() + static_cast<size_t>(length * F), 0.0f);
    return;
  }
  auto a =
      py::array_t<float, py::array::c_style | py::array::forcecast>::ensure(
          py::module_::import("numpy").attr("asarray")(f));
  if (!a || a.ndim() != 2 || a.shape(0) != length || a.shape(1) != F)
    throw InvalidArgument("features of input " + std::to_string(i) +
                          ": expected a [" + std::to_string(length) + ", " +
                          std::to_string(F) + "] array of numbers");
  out.insert(out.end(), a.data(), a.data() + length * F);
}

api::InputBatch batchOf(const Network &net, py::handle inputs,
                        py::handle features) {
  api::InputBatch batch;
  const std::vector<std::vector<int32_t>> rows = tokenRows(inputs);
  for (const std::vector<int32_t> &row : rows) {
    batch.tokens.insert(batch.tokens.end(), row.begin(), row.end());
    batch.offsets.push_back(static_cast<int64_t>(batch.tokens.size()));
  }
  const int64_t F = net.featureDim();
  if (features.is_none())
    return batch;
  if (F == 0)
    throw InvalidArgument("features: model '" + net.name +
                          "' takes no continuous inputs");
  py::sequence fs = py::reinterpret_borrow<py::sequence>(features);
  if (fs.size() != rows.size())
    throw InvalidArgument("features: " + std::to_string(fs.size()) +
                          " entries for " + std::to_string(rows.size()) +
                          " inputs");
  for (size_t i = 0; i < rows.size(); ++i)
    appendFeatures(fs[i], i, static_cast<int64_t>(rows[i].size()), F,
                   batch.features);
  return batch;
}

py::array_t<double> logitsOf(CompiledModel &m, py::handle inputs,
                             py::handle features, int threads,
                             const std::optional<std::string> &precision) {
  const api::InputBatch batch = batchOf(m.network(), inputs, features);
  const std::optional<Precision> p = precisionArg(precision);
  std::vector<double> out;
  {
    py::gil_scoped_release release;
    out = m.logits(batch, threads, p);
  }
  const auto C = static_cast<py::ssize_t>(m.network().classCount);
  py::array_t<double> a({static_cast<py::ssize_t>(batch.size()), C});
  std::copy(out.begin(), out.end(), a.mutable_data());
  return a;
}

py::array_t<int64_t> decisionsOf(const py::array_t<double> &logits) {
  auto l = logits.unchecked<2>();
  py::array_t<int64_t> out(l.shape(0));
  for (py::ssize_t i = 0; i < l.shape(0); ++i)
    out.mutable_at(i) = decision(logits.data(i, 0), l.shape(1));
  return out;
}

// The model's tensors as read-only numpy views kept alive by the model.
py::dict weightsOf(py::object self) {
  const CompiledModel &m = self.cast<const CompiledModel &>();
  py::dict out;
  for (const TensorRef &t : networkTensors(m.network())) {
    py::dtype dtype = t.dtype == DType::F32 ? py::dtype::of<float>()
                                            : py::dtype::of<int32_t>();
    std::vector<py::ssize_t> shape(t.shape.begin(), t.shape.end());
    py::array a(dtype, shape, {}, t.data, self);
    a.attr("setflags")(py::arg("write") = false);
    out[py::str(t.name)] = a;
  }
  return out;
}

// Checks for Ctrl-C from a thread without the GIL; sets `stop` on one.
struct SignalWatch {
  std::atomic<bool> stop{false}, interrupted{false};
  void poll() {
    py::gil_scoped_acquire acquire;
    if (PyErr_CheckSignals() != 0) {
      PyErr_Clear();
      interrupted = stop = true;
    }
  }
  void raiseIfInterrupted() const {
    if (interrupted) {
      PyErr_SetNone(PyExc_KeyboardInterrupt);
      throw py::error_already_set();
    }
  }
};

py::list backendsOf(const ModelEvalReport &rep) {
  py::list out;
  for (const BackendSummary &s : rep.backends) {
    py::dict b;
    b["name"] = s.result.name;
    b["mismatches"] = s.result.mismatches;
    b["accuracy"] = s.accuracy;
    b["min_margin"] = s.result.minMargin;
    b["seconds"] = s.result.seconds;
    b["inputs_per_second"] = s.inputsPerSecond;
    out.append(b);
  }
  return out;
}

py::list mismatchesOf(const EvalResult &r) {
  py::list out;
  for (const Mismatch &x : r.examples) {
    py::dict d;
    d["backend"] = x.backend;
    d["index"] = x.index;
    d["tokens"] = x.tokens;
    d["expected"] = x.expected;
    d["got"] = x.got;
    d["adversarial"] = x.adversarial;
    out.append(d);
  }
  return out;
}

// Model.evaluate: the harness's record, with the fields of `eval --json`'s
// per-model entry that describe the run (and the first backend's summary at
// the top level).
py::dict evaluationOf(CompiledModel &m, std::optional<int64_t> n,
                      std::optional<uint64_t> seed,
                      const std::optional<std::string> &inputs, int threads,
                      const std::string &backend,
                      const std::optional<std::string> &precision) {
  EvalOverrides ov;
  if (n && *n < 1)
    throw InvalidArgument("n: must be at least 1, got " + std::to_string(*n));
  ov.samples = n.value_or(0);
  ov.seed = seed;
  ov.inputs = distributionArg(inputs);
  const std::optional<BackendChoice> choice = backendChoiceByName(backend);
  if (!choice)
    throw InvalidArgument("backend: '" + backend +
                          "' is not one of auto, jit, reference, both");
  const std::optional<Precision> p = precisionArg(precision);
  const EvalOptions eo = evalOptionsFor(m.evalSpec(), ov);
  SignalWatch watch;
  ModelEvalReport rep;
  {
    py::gil_scoped_release release;
    rep = m.evaluate(ov, threads, *choice, p, &watch.stop,
                     [&watch](int64_t, int64_t) { watch.poll(); });
  }
  watch.raiseIfInterrupted();
  const EvalResult &r = rep.result;
  py::dict d;
  d["model"] = m.network().name;
  d["samples"] = r.samples;
  d["adversarial"] = r.adversarial;
  d["seed"] = eo.seed;
  d["inputs"] = inputDistributionName(eo.inputs);
  d["exact"] = rep.failures() == 0;
  d["mismatches"] = rep.backends.front().result.mismatches;
  d["accuracy"] = rep.backends.front().accuracy;
  d["min_margin"] = rep.backends.front().result.minMargin;
  d["wall_seconds"] = r.wallSeconds;
  d["backends"] = backendsOf(rep);
  d["mismatch_examples"] = mismatchesOf(r);
  if (rep.compared) {
    d["disagreements"] = r.disagreements;
    d["max_logit_difference"] = r.maxLogitDifference;
    d["logit_tolerance"] = rep.logitTolerance;
    d["agree"] = rep.agree;
  }
  return d;
}

// Model.generate: inputs (int32 arrays), features (or None), truth.
py::dict generatedOf(const CompiledModel &m, int64_t n,
                     std::optional<uint64_t> seed,
                     const std::optional<std::string> &kind) {
  if (n < 0)
    throw InvalidArgument("n: must be at least 0, got " + std::to_string(n));
  const std::optional<InputDistribution> dist = distributionArg(kind);
  const std::vector<Example> examples = m.generate(
      n, seed.value_or(m.evalSpec().seed), dist.value_or(m.evalSpec().inputs));
  const int64_t F = m.network().featureDim();
  py::list inputs, features;
  py::array_t<int64_t> truth(static_cast<py::ssize_t>(examples.size()));
  py::array_t<bool> adversarial(static_cast<py::ssize_t>(examples.size()));
  for (size_t i = 0; i < examples.size(); ++i) {
    const Example &e = examples[i];
    inputs.append(py::array_t<int32_t>(
        static_cast<py::ssize_t>(e.tokens.size()), e.tokens.data()));
    if (F > 0)
      features.append(
          py::array_t<float>({static_cast<py::ssize_t>(e.tokens.size()),
                              static_cast<py::ssize_t>(F)},
                             e.features.data()));
    truth.mutable_at(static_cast<py::ssize_t>(i)) = e.label;
    adversarial.mutable_at(static_cast<py::ssize_t>(i)) = e.adversarial;
  }
  py::dict d;
  d["inputs"] = inputs;
  d["features"] = F > 0 ? py::object(features) : py::none();
  d["truth"] = truth;
  d["adversarial"] = adversarial;
  return d;
}

int64_t groundTruthOf(const CompiledModel &m, py::handle tokens,
                      py::handle features) {
  const std::vector<int32_t> t = tokenRow(tokens, "");
  std::vector<float> f;
  const int64_t F = m.network().featureDim();
  if (!features.is_none() || F > 0)
    appendFeatures(features, 0, static_cast<int64_t>(t.size()), F, f);
  return m.groundTruth(t, F > 0 ? f : std::vector<float>{});
}

py::object configValue(const CompiledModel &m, const char *key,
                       const char *inner = nullptr) {
  py::object c = fromJson(m.configJson());
  return inner ? py::object(c[key][inner]) : py::object(c[key]);
}

// Model's read-only attributes.
void bindModelProperties(py::class_<CompiledModel> &cls) {
  using M = CompiledModel;
  cls.def_property_readonly(
         "name", [](const M &m) { return m.network().name; },
         "the model's name in its spec")
      .def_property_readonly(
          "architecture",
          [](const M &m) { return architectureName(m.network().arch); },
          "'transformer' or 'rnn'")
      .def_property_readonly(
          "precision",
          [](const M &m) { return precisionName(m.network().precision); },
          "storage precision: f32, f64, f16 or bf16")
      .def_property_readonly("source", &M::source,
                             "the spec or model file it came from")
      .def_property_readonly(
          "width", [](const M &m) { return m.network().width; },
          "residual width (Transformer) or hidden units (RNN)")
      .def_property_readonly(
          "parameters", [](const M &m) { return parameterCount(m.network()); },
          "number of stored parameters")
      .def_property_readonly(
          "max_length",
          [](const M &m) { return m.network().maxSequenceLength; },
          "longest input in tokens")
      .def_property_readonly(
          "token_count", [](const M &m) { return m.network().tokenCount; },
          "vocabulary size: token ids are 0 .. token_count - 1")
      .def_property_readonly(
          "class_count", [](const M &m) { return m.network().classCount; },
          "number of output classes")
      .def_property_readonly(
          "feature_dim", [](const M &m) { return m.network().featureDim(); },
          "continuous inputs per position (0: tokens only)")
      .def_property_readonly(
          "config", [](const M &m) { return fromJson(m.configJson()); },
          "the model file's JSON config, as a dict (docs/export.md)")
      .def_property_readonly(
          "task", [](const M &m) { return configValue(m, "task"); },
          "the task and its parameters (config['task'])")
      .def_property_readonly(
          "tokens",
          [](const M &m) { return configValue(m, "vocabulary", "tokens"); },
          "the vocabulary: dicts token/name/role, large groups as ranges "
          "(config['vocabulary']['tokens'])")
      .def_property_readonly(
          "classes", [](const M &m) { return configValue(m, "classes"); },
          "the output classes: dicts class/name/meaning")
      .def_property_readonly(
          "input_layout",
          [](const M &m) { return configValue(m, "input_layout"); },
          "how an input is laid out: pattern, length, variables, answer")
      .def_property_readonly(
          "certificate",
          [](const M &m) { return fromJson(m.certificateJson()); },
          "the precision certificate, as `eval --json` reports it")
      .def_property_readonly(
          "weights", &weightsOf,
          "tensors by their file names: read-only numpy views of the "
          "model's memory (the model stays alive while a view does)");
}

// Model's methods.
void bindModelMethods(py::class_<CompiledModel> &cls) {
  using M = CompiledModel;
  cls.def("logits", &logitsOf, py::arg("inputs"),
          py::arg("features") = py::none(), py::arg("threads") = 0,
          py::arg("precision") = py::none(),
          "float64 logits [batch, classes] of a batch of inputs")
      .def(
          "eval",
          [](M &m, py::handle inputs, py::handle features, int threads,
             const std::optional<std::string> &precision,
             bool withLogits) -> py::object {
            py::array_t<double> l =
                logitsOf(m, inputs, features, threads, precision);
            if (withLogits)
              return py::make_tuple(decisionsOf(l), l);
            return decisionsOf(l);
          },
          py::arg("inputs"), py::arg("features") = py::none(),
          py::arg("threads") = 0, py::arg("precision") = py::none(),
          py::arg("return_logits") = false,
          "decisions (int64 [batch]; -1 for a tie) of a batch of inputs: a "
          "list of token lists or a 2-D integer array")
      .def("evaluate", &evaluationOf, py::arg("n") = py::none(),
           py::arg("seed") = py::none(), py::arg("inputs") = py::none(),
           py::arg("threads") = 0, py::arg("backend") = "auto",
           py::arg("precision") = py::none(),
           "the generated-input harness (handwire eval): a record dict")
      .def("generate", &generatedOf, py::arg("n"), py::arg("seed") = py::none(),
           py::arg("kind") = py::none(),
           "inputs 0..n-1 of the stream evaluate() runs with that seed and "
           "kind, with their ground truth: a dict inputs/features/truth/"
           "adversarial")
      .def("ground_truth", &groundTruthOf, py::arg("tokens"),
           py::arg("features") = py::none(),
           "the task semantics' answer for one input (ValueError with the "
           "task's message if the task does not define it)")
      .def("report", &M::report,
           "the text `handwire inspect` prints for this model")
      .def(
          "save",
          [](const M &m, const std::string &dir, const std::string &format) {
            if (format != "weights" && format != "onnx")
              throw InvalidArgument("format: '" + format +
                                    "' is not one of weights, onnx");
            return m.save(dir, format == "onnx");
          },
          py::arg("directory"), py::arg("format") = "weights",
          "writes TASK.MODEL.safetensors + .json (or .onnx) into directory; "
          "returns their paths")
      .def("__repr__", [](const M &m) {
        const Network &n = m.network();
        return "<handwire.Model " + n.name + ": " + architectureName(n.arch) +
               ", width " + std::to_string(n.width) + ", " +
               precisionName(n.precision) +
               ", N = " + std::to_string(m.task().maxLength) + ">";
      });
}

std::unique_ptr<CompiledModel>
compileModel(const std::string &spec, const std::vector<std::string> &overrides,
             const std::string &model,
             const std::optional<std::string> &precision, bool allowUncertified,
             int64_t memoryLimit) {
  api::CompileRequest r;
  r.spec = spec;
  r.overrides = overrides;
  r.model = model;
  r.precision = precisionArg(precision);
  r.allowUncertified = allowUncertified;
  r.memoryLimitBytes = memoryLimit;
  py::gil_scoped_release release;
  return CompiledModel::compile(r);
}

std::unique_ptr<CompiledModel> loadModel(const std::string &path,
                                         int64_t memoryLimit) {
  py::gil_scoped_release release;
  return CompiledModel::load(path, memoryLimit);
}

py::object sweepOf(const std::string &spec, const std::vector<int64_t> &lengths,
                   int64_t samples, const std::vector<std::string> &models,
                   const std::vector<std::string> &overrides,
                   std::optional<uint64_t> seed,
                   const std::optional<std::string> &inputs, double timeBudget,
                   int jobs, bool allowUncertified, int64_t memoryLimit) {
  api::SweepRequest r;
  r.spec = spec;
  r.lengths = lengths;
  r.samples = samples;
  r.models = models;
  r.overrides = overrides;
  r.seed = seed;
  r.inputs = distributionArg(inputs);
  r.timeBudgetSeconds = timeBudget;
  r.jobs = jobs;
  r.allowUncertified = allowUncertified;
  r.memoryLimitBytes = memoryLimit;
  SignalWatch watch;
  std::vector<SweepRow> rows;
  {
    py::gil_scoped_release release;
    rows = api::runSweep(r, &watch.stop, [&watch] { watch.poll(); });
  }
  watch.raiseIfInterrupted();
  // A record is a row of both files a sweep writes: the results and the
  // timings (which share task, model and N).
  nlohmann::json records = sweepRowsJson(rows);
  const nlohmann::json timings = sweepTimingsJson(rows);
  for (size_t i = 0; i < records.size(); ++i)
    records[i].update(timings[i]);
  return fromJson(records.dump());
}

void bindFunctions(py::module_ &mod) {
  mod.def("compile", &compileModel, py::arg("spec"), py::arg("overrides"),
          py::arg("model"), py::arg("precision"), py::arg("allow_uncertified"),
          py::arg("memory_limit"), "see handwire.compile");
  mod.def("load", &loadModel, py::arg("path"), py::arg("memory_limit"),
          "see handwire.load");
  mod.def("sweep", &sweepOf, py::arg("spec"), py::arg("lengths"),
          py::arg("samples"), py::arg("models"), py::arg("overrides"),
          py::arg("seed"), py::arg("inputs"), py::arg("time_budget"),
          py::arg("jobs"), py::arg("allow_uncertified"),
          py::arg("memory_limit"), "see handwire.sweep");
  mod.def(
      "sweep_columns",
      [] {
        std::vector<std::string> columns = sweepCsvHeader();
        for (const std::string &c : sweepTimingsHeader())
          if (std::find(columns.begin(), columns.end(), c) == columns.end())
            columns.push_back(c);
        return columns;
      },
      "a sweep record's keys, in order: the results CSV's columns, then the "
      "timings CSV's (docs/sweep.md)");
  mod.def(
      "set_threads", [](unsigned n) { setWorkerThreads(n); },
      py::arg("threads"),
      "Worker threads of parallel loops (0: all cores); no result "
      "depends on it.");
}

} // namespace

PYBIND11_MODULE(_handwire, m) {
  m.doc() = "handwire's compiled core (use the `handwire` package).";
  static py::exception<UserError> error(m, "Error");
  static py::exception<api::SpecError> specError(m, "SpecError", error.ptr());
  static py::exception<api::RefusedError> refused(m, "RefusedError",
                                                  error.ptr());
  static py::exception<InternalError> internal(m, "InternalError", error.ptr());
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p)
        std::rethrow_exception(p);
    } catch (const api::SpecError &e) {
      specError(e.what());
    } catch (const api::RefusedError &e) {
      refused(e.what());
    } catch (const UserError &e) {
      error(e.what());
    } catch (const InternalError &e) {
      internal(e.what());
    }
  });
  py::class_<CompiledModel> model(
      m, "Model", "A compiled, certified model (see handwire.Model)");
  bindModelProperties(model);
  bindModelMethods(model);
  bindFunctions(m);
}
