// handwire eval: run every model on generated inputs (uniform and
// adversarial) and compare its decisions with the task semantics. The work
// is in runtime/backends (ModelEval.h); this file parses options and prints.
#include "Commands.h"
#include "Report.h"

#include "backends/ModelEval.h"
#include "codegen/EmitLLVM.h"
#include "eval/EvalSettings.h"
#include "eval/Shard.h"
#include "spec/Vocabulary.h"
#include "support/FileIO.h"

#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <memory>
#include <optional>

namespace handwire::cli {

namespace {
struct EvalCliOptions {
  CommonOptions common;
  int64_t samples = 0; // 0: from the spec
  int64_t seed = -1;   // -1: from the spec
  std::string inputs;  // empty: from the spec
  std::string backend = "auto";
  std::string precision;      // empty: the model's
  std::string writeDecisions; // empty: none
  std::string shard;          // I/K; empty: all inputs
};

EvalOverrides overridesOf(const EvalCliOptions &o) {
  EvalOverrides ov;
  ov.samples = o.samples;
  if (o.seed >= 0)
    ov.seed = static_cast<uint64_t>(o.seed);
  ov.inputs = inputDistributionByName(o.inputs);
  return ov;
}

std::string describeInput(const TaskSpec &task,
                          const std::vector<int32_t> &tokens) {
  const Vocabulary voc = vocabularyOf(task);
  std::string s;
  const size_t n = tokens.size();
  for (size_t i = 0; i < n; ++i) {
    if (n > 12 && i == 6) {
      s += " ... (" + std::to_string(n - 9) + " more)";
      i = n - 3;
    }
    s += (s.empty() ? "" : " ") + voc.tokenName(task, tokens[i]);
  }
  return s;
}

void printJitTimes(std::ostream &os, const JitCompileTimes &t) {
  os << "  jit          compiled in " << std::setprecision(3) << t.totalMs
     << " ms (plan " << t.planMs << ", emit " << t.emitMs << ", O3 "
     << t.optimizeMs << ", codegen " << t.codegenMs;
  if (t.tablesWaitMs >= 0.05)
    os << ", then " << t.tablesWaitMs << " waiting for the tables";
  os << ")\n";
  // Data, not code: filled on another thread during the compile (any wait
  // for it is on the line above).
  if (t.tableBytes > 0 || t.walshHeads > 0) {
    std::string what;
    if (t.tableBytes > 0)
      what = "key tables " + humanBytes(t.tableBytes);
    if (t.walshHeads > 0)
      what += (what.empty() ? "" : " and ") + std::to_string(t.walshHeads) +
              " Walsh head" + (t.walshHeads > 1 ? "s'" : "'s") + " plan";
    os << "               " << what << " made in " << t.tablesFillMs
       << " ms beside the compile\n";
  }
}

void printBackendLines(std::ostream &os, const ModelEvalReport &rep) {
  const EvalResult &r = rep.result;
  for (const BackendSummary &s : rep.backends) {
    const BackendResult &b = s.result;
    os << "  eval " << std::left << std::setw(14) << b.name << " " << std::right
       << r.samples << " inputs (" << r.adversarial
       << " adversarial): " << (r.samples - b.mismatches) << " correct, "
       << b.mismatches << " mismatches, accuracy " << std::setprecision(6)
       << 100.0 * double(r.samples - b.mismatches) /
              double(std::max<int64_t>(1, r.samples))
       << "%, min margin " << std::setprecision(4) << b.minMargin << ", "
       << humanCount(s.inputsPerSecond) << " inputs/s per thread\n";
  }
  if (rep.compared)
    os << "  backends     " << r.disagreements
       << " disagreements, max logit difference " << std::setprecision(3)
       << r.maxLogitDifference << " (tolerance " << rep.logitTolerance
       << "): " << (rep.agree ? "agree" : "DISAGREE") << "\n";
}

void printModelReport(std::ostream &os, const LoadedModel &m,
                      const ModelEvalReport &rep) {
  os << "\n";
  printModelLine(os, m.net);
  printCertificate(os, m.net);
  if (rep.jit)
    printJitTimes(os, *rep.jit);
  printBackendLines(os, rep);
  const Vocabulary voc = vocabularyOf(m.task);
  for (const Mismatch &x : rep.result.examples)
    os << "    mismatch #" << x.index << (x.adversarial ? " (adversarial)" : "")
       << ": " << describeInput(m.task, x.tokens) << " -> expected "
       << voc.className(m.task, x.expected) << ", got "
       << (x.got < 0 ? std::string("a tie") : voc.className(m.task, x.got))
       << "\n";
  if (rep.result.cancelled)
    os << "  interrupted after " << rep.result.samples << " inputs\n";
}

nlohmann::json backendsJson(const ModelEvalReport &rep) {
  nlohmann::json out = nlohmann::json::array();
  for (const BackendSummary &s : rep.backends)
    out.push_back({{"name", s.result.name},
                   {"mismatches", s.result.mismatches},
                   {"accuracy", s.accuracy},
                   {"min_margin", s.result.minMargin},
                   {"seconds", s.result.seconds},
                   {"inputs_per_second", s.inputsPerSecond}});
  return out;
}

nlohmann::json mismatchesJson(const EvalResult &r) {
  nlohmann::json out = nlohmann::json::array();
  for (const Mismatch &x : r.examples)
    out.push_back({{"backend", x.backend},
                   {"index", x.index},
                   {"tokens", x.tokens},
                   {"expected", x.expected},
                   {"got", x.got},
                   {"adversarial", x.adversarial}});
  return out;
}

// Milliseconds of each pipeline stage `model` went through, by stage name:
// construct and certify (or nothing, for a model file), then the JIT's.
nlohmann::json stagesJson(const std::string &model,
                          const std::vector<StageTiming> &front,
                          const std::vector<StageTiming> &jit) {
  nlohmann::json out = nlohmann::json::object();
  for (const auto *list : {&front, &jit})
    for (const StageTiming &t : *list)
      if (t.model == model)
        out[stageName(t.stage)] = t.ms;
  return out;
}

nlohmann::json modelJson(const Network &net, const ModelEvalReport &rep,
                         const nlohmann::json &stages) {
  const EvalResult &r = rep.result;
  nlohmann::json jm = {{"name", net.name},
                       {"architecture", architectureName(net.arch)},
                       {"width", net.width},
                       {"parameters", parameterCount(net)},
                       {"certificate", certificateJson(net)},
                       {"samples", r.samples},
                       {"adversarial", r.adversarial},
                       {"cancelled", r.cancelled},
                       {"wall_seconds", r.wallSeconds},
                       {"backends", backendsJson(rep)},
                       {"mismatch_examples", mismatchesJson(r)},
                       {"stages_ms", stages}};
  if (rep.jit) {
    const JitCompileTimes &t = *rep.jit;
    jm["jit_compile_ms"] = {{"total", t.totalMs},
                            {"plan", t.planMs},
                            {"emit", t.emitMs},
                            {"optimize", t.optimizeMs},
                            {"codegen", t.codegenMs}};
    jm["jit_tables"] = {{"bytes", t.tableBytes},
                        {"walsh_heads", t.walshHeads},
                        {"fill_ms", t.tablesFillMs},
                        {"wait_ms", t.tablesWaitMs}};
  }
  if (rep.compared) {
    jm["disagreements"] = r.disagreements;
    jm["max_logit_difference"] = r.maxLogitDifference;
    jm["logit_tolerance"] = rep.logitTolerance;
  }
  return jm;
}

// The --write-decisions file and, when a model has continuous inputs, its
// binary sidecar FILE.features, staged together in FILE's directory (they
// land there when the run completes, exact or not; an error or Ctrl-C leaves
// neither).
class DecisionFiles {
public:
  // Opens FILE with its header (and the sidecar's '#' line); false (with a
  // message) if it cannot.
  bool open(const std::string &path, const std::vector<LoadedModel> &models) {
    namespace fs = std::filesystem;
    path_ = path;
    std::vector<std::pair<std::string, int64_t>> dims;
    for (const LoadedModel &m : models) {
      dims.emplace_back(m.net.name, m.net.featureDim());
      withFeatures_ |= m.net.featureDim() > 0;
    }
    const std::string name = fs::path(path).filename().string();
    const std::string sidecar = name + kDecisionFeaturesSuffix;
    try {
      const std::string dir = fs::path(path).parent_path().string();
      set_ = std::make_unique<OutputSet>(dir.empty() ? "." : dir);
      text_.open(set_->add(name), std::ios::trunc);
      if (withFeatures_)
        features_.open(set_->add(sidecar), std::ios::binary | std::ios::trunc);
    } catch (const UserError &e) {
      std::cerr << "handwire: error: cannot write '" << path
                << "': " << e.what() << "\n";
      return false;
    }
    if (!text_ || (withFeatures_ && !features_)) {
      std::cerr << "handwire: error: cannot write '" << path << "'\n";
      return false;
    }
    text_ << kDecisionFileHeader;
    if (withFeatures_)
      text_ << decisionFeaturesComment(sidecar, dims);
    return true;
  }

  // One model's records; false (with a message) on a write error.
  bool write(const Network &net, const std::vector<DecisionRecord> &records) {
    writeDecisionLines(text_, net.name, records);
    if (withFeatures_)
      writeDecisionFeatures(features_, records, net.featureDim());
    if (!text_.flush() || (withFeatures_ && !features_.flush())) {
      std::cerr << "handwire: error: error while writing '" << failed()
                << "'\n";
      return false;
    }
    return true;
  }

  // Closes the files and puts them in place; throws UserError.
  void commit() {
    text_.close();
    if (withFeatures_)
      features_.close();
    if (!text_ || (withFeatures_ && !features_))
      throw UserError("error while writing '" + failed() + "'");
    set_->commit();
  }

private:
  // The file whose stream failed, as the user will find it.
  std::string failed() const {
    return text_ ? path_ + kDecisionFeaturesSuffix : path_;
  }

  std::string path_;
  bool withFeatures_ = false;
  std::unique_ptr<OutputSet> set_;
  std::ofstream text_, features_;
};

// Evaluates one model, with a progress line on a terminal.
ModelEvalReport evaluateWithProgress(const LoadedModel &m,
                                     const ForwardBackends &backends,
                                     EvalOptions eo) {
  if (stderrIsTerminal())
    eo.progress = [&m](int64_t done, int64_t total) {
      std::cerr << "\r  " << m.net.name << ": " << done << "/" << total
                << " inputs (" << (100 * done / std::max<int64_t>(1, total))
                << "%)" << std::flush;
    };
  ModelEvalReport rep = evaluateModel(m.task, m.net, backends, eo);
  if (stderrIsTerminal())
    std::cerr << "\r\33[2K" << std::flush;
  return rep;
}

// Shard I/K runs its block of the inputs 0 .. samples - 1 (Shard.h).
nlohmann::json applyShard(const Shard &shard, EvalOptions &eo) {
  const InputRange r = shardInputs(eo.samples, shard);
  const nlohmann::json out = {{"index", shard.index},
                              {"count", shard.count},
                              {"first_input", r.begin},
                              {"end_input", r.end},
                              {"of", eo.samples}};
  eo.firstIndex = r.begin;
  eo.samples = r.size();
  return out;
}

int runEval(const EvalCliOptions &o) {
  const Shard shard = o.shard.empty() ? Shard{} : parseShard(o.shard);
  // LLVM's first compile pays its start-up costs here, beside the front end.
  std::optional<CodegenWarmUp> warmUp;
  if (o.backend != "reference")
    warmUp.emplace();
  LoadedModels loaded;
  if (!loadModels(o.common, loaded))
    return loadFailureCode(loaded);
  EvalOptions eo = evalOptionsFor(loaded.spec.eval, overridesOf(o));
  eo.threads = o.common.threads;
  eo.cancel = &interrupted;
  eo.recordDecisions = !o.writeDecisions.empty();
  const nlohmann::json shardJson =
      o.shard.empty() ? nlohmann::json() : applyShard(shard, eo);
  DecisionFiles decisions;
  if (eo.recordDecisions && !decisions.open(o.writeDecisions, loaded.models))
    return kExitError;
  const BackendChoice choice = *backendChoiceByName(o.backend);
  const std::optional<Precision> precision = precisionByName(o.precision);

  nlohmann::json out = {{"input", o.common.input},
                        {"task", taskJson(loaded.spec.task)},
                        {"samples", eo.samples},
                        {"seed", eo.seed},
                        {"inputs", inputDistributionName(eo.inputs)},
                        {"stages_ms", stagesJson("", loaded.timings, {})},
                        {"models", nlohmann::json::array()}};
  if (!shardJson.is_null())
    out["shard"] = shardJson;
  if (!o.common.json) {
    printTaskLine(std::cout, loaded.spec.task);
    std::cout << "eval: " << eo.samples << " "
              << inputDistributionName(eo.inputs) << " inputs";
    if (!shardJson.is_null())
      std::cout << " (shard " << shard.text() << ": "
                << (eo.samples == 0
                        ? std::string("none")
                        : "inputs " + std::to_string(eo.firstIndex) + ".." +
                              std::to_string(eo.firstIndex + eo.samples - 1))
                << " of " << shardJson["of"].get<int64_t>() << ")";
    std::cout << ", seed " << eo.seed << "\n";
  }
  int64_t failures = 0;
  bool cancelled = false;
  for (const LoadedModel &m : loaded.models) {
    const ForwardBackends backends = chooseBackends(m.net, choice, precision);
    if (!backends.ok()) {
      std::cerr << "handwire: error: " << backends.error << "\n";
      return 1;
    }
    const ModelEvalReport rep = evaluateWithProgress(m, backends, eo);
    if (eo.recordDecisions && !decisions.write(m.net, rep.result.records))
      return 1;
    if (!o.common.json)
      printModelReport(std::cout, m, rep);
    out["models"].push_back(modelJson(
        m.net, rep, stagesJson(m.net.name, loaded.timings, backends.stages)));
    failures += rep.failures();
    cancelled |= rep.result.cancelled;
    if (cancelled)
      break;
  }
  if (o.common.json)
    std::cout << out.dump(2) << "\n";
  else
    std::cout << "\n"
              << (failures == 0 ? "all models exact" : "MISMATCHES FOUND")
              << " on the generated inputs\n";
  if (cancelled)
    return kExitInterrupted;
  if (eo.recordDecisions) {
    try {
      decisions.commit();
    } catch (const UserError &e) {
      std::cerr << "handwire: error: " << e.what() << "\n";
      return kExitError;
    }
  }
  return failures == 0 ? kExitOk : kExitMismatch;
}
} // namespace
void setupEval(CLI::App &app) {
  auto opts = std::make_shared<EvalCliOptions>();
  CLI::App *cmd = app.add_subcommand(
      "eval",
      "Compile and run every model on generated inputs; compare with the task "
      "semantics (exit 0: exact, 3: mismatches, 1: error, 2: refused, 130: "
      "interrupted)");
  addCommonOptions(*cmd, opts->common);
  cmd->add_option("-n,--samples", opts->samples,
                  "number of inputs (default: the spec's)")
      ->check(integerIn(1, int64_t(1) << 40));
  cmd->add_option("--seed", opts->seed, "input seed (default: the spec's)")
      ->check(integerIn(0, INT64_MAX));
  cmd->add_option("--inputs", opts->inputs,
                  "uniform | adversarial | mixed (default: the spec's)")
      ->check(CLI::IsMember({"uniform", "adversarial", "mixed"}));
  cmd->add_option(
         "--backend", opts->backend,
         "forward pass: jit (LLVM; f32, or f16 / bf16 natively), reference "
         "(Eigen; f32, f64, or f16 / bf16 emulated exactly), both (compare "
         "them), auto (jit, except reference for f64 models)")
      ->check(CLI::IsMember({"auto", "jit", "reference", "both"}))
      ->capture_default_str();
  cmd->add_option("--precision", opts->precision,
                  "run the forward pass in this precision instead of the "
                  "model's: f32, or f16 / bf16 (16-bit storage, fp32 "
                  "accumulation; the JIT converts with F16C / AVX512-BF16) "
                  "to check the precision certificate")
      ->check(CLI::IsMember({"f32", "f16", "bf16"}));
  cmd->add_option("--write-decisions", opts->writeDecisions,
                  "write every input and its decision (first backend) to "
                  "FILE, one line each: MODEL DECISION EXPECTED TOKEN... "
                  "(continuous inputs, if a model takes them, go to the "
                  "binary FILE.features; docs/export.md)");
  cmd->add_option("--shard", opts->shard,
                  "run only shard I of K (I/K, 0 <= I < K): a contiguous "
                  "block of the inputs; the K shards together run exactly "
                  "the unsharded inputs (each is generated from its index)");
  cmd->callback([opts] {
    if (int rc = runEval(*opts))
      throw CLI::RuntimeError(rc);
  });
}

} // namespace handwire::cli
