// handwire eval: run every model on generated inputs (uniform and
// adversarial) and compare its decisions with the task semantics.
#include "Commands.h"
#include "Report.h"

#include "eval/Evaluate.h"
#include "jit/JitBackend.h"
#include "reference/Evaluator.h"
#include "spec/Vocabulary.h"

#include <fstream>
#include <iomanip>
#include <iostream>
#include <memory>

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
};

// --write-decisions: one line per input, "MODEL DECISION EXPECTED TOKEN...",
// so that other runtimes (tests/onnx, tests/export) can replay the inputs.
void writeDecisionLines(std::ostream &out, const std::string &model,
                        const std::vector<DecisionRecord> &records) {
  for (const DecisionRecord &r : records) {
    out << model << ' ' << r.decision << ' ' << r.expected;
    for (int32_t t : r.tokens)
      out << ' ' << t;
    out << '\n';
  }
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

int runEval(const EvalCliOptions &o) {
  LoadedModels loaded;
  if (!loadModels(o.common, loaded))
    return 1;
  const EvalSpec &es = loaded.spec.eval;
  EvalOptions eo;
  eo.samples = o.samples > 0 ? o.samples : es.samples;
  eo.seed = o.seed >= 0 ? static_cast<uint64_t>(o.seed) : es.seed;
  eo.inputs = es.inputs;
  if (o.inputs == "uniform")
    eo.inputs = InputDistribution::Uniform;
  else if (o.inputs == "adversarial")
    eo.inputs = InputDistribution::Adversarial;
  else if (o.inputs == "mixed")
    eo.inputs = InputDistribution::Mixed;
  eo.threads = o.common.threads;
  eo.cancel = &interrupted;
  eo.recordDecisions = !o.writeDecisions.empty();
  std::ofstream decisionsFile;
  if (eo.recordDecisions) {
    decisionsFile.open(o.writeDecisions, std::ios::trunc);
    if (!decisionsFile) {
      std::cerr << "handwire: error: cannot write '" << o.writeDecisions
                << "'\n";
      return 1;
    }
    decisionsFile << "# handwire eval decisions: MODEL DECISION EXPECTED "
                     "TOKEN... (decision -1: a tie)\n";
  }

  nlohmann::json out = {{"input", o.common.input},
                        {"task", taskJson(loaded.spec.task)},
                        {"samples", eo.samples},
                        {"seed", eo.seed},
                        {"inputs", inputDistributionName(eo.inputs)},
                        {"models", nlohmann::json::array()}};
  if (!o.common.json) {
    printTaskLine(std::cout, loaded.spec.task);
    std::cout << "eval: " << eo.samples << " "
              << inputDistributionName(eo.inputs) << " inputs, seed " << eo.seed
              << "\n";
  }
  int64_t totalMismatches = 0;
  bool cancelled = false;
  for (const LoadedModel &m : loaded.models) {
    // The precision (the model's or --precision): f32, f64, or a 16-bit
    // format, which the JIT runs natively (jit-f16, jit-bf16) and the
    // reference evaluator emulates exactly (reference-f16, reference-bf16).
    // auto: the JIT, except for f64, which only the reference evaluator has.
    const std::string precision =
        o.precision.empty() ? precisionName(m.net.precision) : o.precision;
    const bool f64 = precision == "f64";
    std::optional<StorageFormat> format;
    if (precision == "f16")
      format = StorageFormat::F16;
    else if (precision == "bf16")
      format = StorageFormat::BF16;
    const std::string which =
        o.backend == "auto" ? (f64 ? "reference" : "jit") : o.backend;
    std::vector<std::unique_ptr<Backend>> owned;
    const JitBackend *jit = nullptr;
    if (which == "jit" || which == "both") {
      auto j = std::make_unique<JitBackend>(m.net, format);
      jit = j.get();
      owned.push_back(std::move(j));
    }
    if (which == "reference" || which == "both") {
      if (format)
        owned.push_back(std::make_unique<LowPrecisionBackend>(m.net, *format));
      else if (f64)
        owned.push_back(std::make_unique<ReferenceBackend<double>>(m.net));
      else
        owned.push_back(std::make_unique<ReferenceBackend<float>>(m.net));
    }
    std::vector<const Backend *> backends;
    for (const auto &b : owned)
      backends.push_back(b.get());

    if (stderrIsTerminal())
      eo.progress = [&m](int64_t done, int64_t total) {
        std::cerr << "\r  " << m.net.name << ": " << done << "/" << total
                  << " inputs (" << (100 * done / std::max<int64_t>(1, total))
                  << "%)" << std::flush;
      };
    const EvalResult r = evaluate(m.task, m.net, backends, eo);
    if (stderrIsTerminal())
      std::cerr << "\r\33[2K" << std::flush;
    cancelled |= r.cancelled;
    if (eo.recordDecisions) {
      writeDecisionLines(decisionsFile, m.net.name, r.records);
      if (!decisionsFile.flush()) {
        std::cerr << "handwire: error: error while writing '"
                  << o.writeDecisions << "'\n";
        return 1;
      }
    }

    nlohmann::json jm = {{"name", m.net.name},
                         {"architecture", architectureName(m.net.arch)},
                         {"width", m.net.width},
                         {"parameters", parameterCount(m.net)},
                         {"certificate", certificateJson(m.net)},
                         {"samples", r.samples},
                         {"adversarial", r.adversarial},
                         {"cancelled", r.cancelled},
                         {"wall_seconds", r.wallSeconds},
                         {"backends", nlohmann::json::array()},
                         {"mismatch_examples", nlohmann::json::array()}};
    if (jit) {
      const CompileTimes &t = jit->compileTimes();
      jm["jit_compile_ms"] = {{"total", jit->compileMs()},
                              {"plan", jit->planMs()},
                              {"emit", t.emitMs},
                              {"optimize", t.optimizeMs},
                              {"codegen", t.codegenMs}};
      jm["jit_tables"] = {{"bytes", jit->plan().tableBytes()},
                          {"fill_ms", jit->tablesFillMs()},
                          {"wait_ms", jit->tablesWaitMs()}};
    }
    // JIT and reference agree if their decisions do and their logits are
    // within the construction's fp32 tolerance, or in 16 bits a few ulps of
    // the format more (lowPrecisionLogitTolerance says why).
    const double tolerance =
        format ? lowPrecisionLogitTolerance(m.net, *format, r.maxAbsLogit)
               : m.net.certificate.logitTolerance;
    if (r.backends.size() > 1) {
      jm["disagreements"] = r.disagreements;
      jm["max_logit_difference"] = r.maxLogitDifference;
      jm["logit_tolerance"] = tolerance;
    }
    if (!o.common.json) {
      std::cout << "\n";
      printModelLine(std::cout, m.net);
      printCertificate(std::cout, m.net);
      if (jit) {
        const CompileTimes &t = jit->compileTimes();
        std::cout << "  jit          compiled in " << std::setprecision(3)
                  << jit->compileMs() << " ms (plan " << jit->planMs()
                  << ", emit " << t.emitMs << ", O3 " << t.optimizeMs
                  << ", codegen " << t.codegenMs << ")\n";
        // Data, not code: filled on another thread during the compile.
        if (jit->plan().tableBytes() > 0)
          std::cout << "               key tables "
                    << humanBytes(jit->plan().tableBytes()) << " filled in "
                    << jit->tablesFillMs() << " ms beside the compile, ready "
                    << jit->tablesWaitMs() << " ms after it\n";
      }
    }
    for (const BackendResult &b : r.backends) {
      totalMismatches += b.mismatches;
      const double perSecond =
          b.seconds > 0 ? static_cast<double>(r.samples) / b.seconds : 0;
      jm["backends"].push_back(
          {{"name", b.name},
           {"mismatches", b.mismatches},
           {"accuracy",
            r.samples ? 1.0 - double(b.mismatches) / double(r.samples) : 0.0},
           {"min_margin", b.minMargin},
           {"seconds", b.seconds},
           {"inputs_per_second", perSecond}});
      if (!o.common.json)
        std::cout << "  eval " << std::left << std::setw(14) << b.name << " "
                  << std::right << r.samples << " inputs (" << r.adversarial
                  << " adversarial): " << (r.samples - b.mismatches)
                  << " correct, " << b.mismatches << " mismatches, accuracy "
                  << std::setprecision(6)
                  << 100.0 * double(r.samples - b.mismatches) /
                         double(std::max<int64_t>(1, r.samples))
                  << "%, min margin " << std::setprecision(4) << b.minMargin
                  << ", " << humanCount(perSecond) << " inputs/s per thread\n";
    }
    if (r.backends.size() > 1) {
      const bool agree =
          r.disagreements == 0 && r.maxLogitDifference <= tolerance;
      totalMismatches += agree ? 0 : 1;
      if (!o.common.json)
        std::cout << "  backends     " << r.disagreements
                  << " disagreements, max logit difference "
                  << std::setprecision(3) << r.maxLogitDifference
                  << " (tolerance " << tolerance
                  << "): " << (agree ? "agree" : "DISAGREE") << "\n";
    }
    for (const Mismatch &x : r.examples) {
      jm["mismatch_examples"].push_back({{"backend", x.backend},
                                         {"index", x.index},
                                         {"tokens", x.tokens},
                                         {"expected", x.expected},
                                         {"got", x.got},
                                         {"adversarial", x.adversarial}});
      if (!o.common.json) {
        const Vocabulary voc = vocabularyOf(m.task);
        std::cout << "    mismatch #" << x.index
                  << (x.adversarial ? " (adversarial)" : "") << ": "
                  << describeInput(m.task, x.tokens) << " -> expected "
                  << voc.className(m.task, x.expected) << ", got "
                  << (x.got < 0 ? std::string("a tie")
                                : voc.className(m.task, x.got))
                  << "\n";
      }
    }
    if (!o.common.json && r.cancelled)
      std::cout << "  interrupted after " << r.samples << " inputs\n";
    out["models"].push_back(jm);
    if (cancelled)
      break;
  }
  if (o.common.json)
    std::cout << out.dump(2) << "\n";
  else
    std::cout << "\n"
              << (totalMismatches == 0 ? "all models exact"
                                       : "MISMATCHES FOUND")
              << " on the generated inputs\n";
  if (cancelled)
    return 130;
  return totalMismatches == 0 ? 0 : 3;
}
} // namespace

void setupEval(CLI::App &app) {
  auto opts = std::make_shared<EvalCliOptions>();
  CLI::App *cmd = app.add_subcommand(
      "eval",
      "Compile and run every model on generated inputs; compare with the task "
      "semantics (exit 0: exact, 3: mismatches, 1: error)");
  addCommonOptions(*cmd, opts->common);
  cmd->add_option("-n,--samples", opts->samples,
                  "number of inputs (default: the spec's)")
      ->check(CLI::Range(int64_t(1), int64_t(1) << 40));
  cmd->add_option("--seed", opts->seed, "input seed (default: the spec's)")
      ->check(CLI::Range(int64_t(0), INT64_MAX));
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
                  "FILE, one line each: MODEL DECISION EXPECTED TOKEN...");
  cmd->callback([opts] {
    if (int rc = runEval(*opts))
      throw CLI::RuntimeError(rc);
  });
}

} // namespace handwire::cli
