#include "Commands.h"

#include "support/Parallel.h"

#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <sstream>
#include <unistd.h>

namespace handwire::cli {

std::atomic<bool> interrupted{false};

const char *const kExitCodeTable =
    "Exit codes: 0 ok; 1 usage or input error (bad option, spec, file or "
    "output directory); 2 refused (a model cannot be certified, inspect "
    "finds one below its lower bound, or verify finds a check failing); 3 "
    "mismatches (eval, sweep); 70 "
    "internal error (a bug); 130 interrupted (Ctrl-C).";

namespace {
// The option's text, clipped for a message.
std::string shown(const std::string &text) {
  return text.size() <= 40 ? text
                           : text.substr(0, 40) + "... (" +
                                 std::to_string(text.size()) + " characters)";
}
} // namespace

CLI::Validator integerIn(int64_t lo, int64_t hi) {
  return CLI::Validator(
      [lo, hi](std::string &text) -> std::string {
        int64_t v = 0;
        const char *end = text.data() + text.size();
        const auto [p, ec] = std::from_chars(text.data(), end, v);
        const std::string range = "an integer from " + std::to_string(lo) +
                                  " to " + std::to_string(hi);
        if (text.empty() || p != end ||
            (ec != std::errc() && ec != std::errc::result_out_of_range))
          return "must be " + range + ", got '" + shown(text) + "'";
        if (ec == std::errc::result_out_of_range || v < lo || v > hi)
          return "must be " + range + ", got " + shown(text);
        return "";
      },
      "INT in [" + std::to_string(lo) + ", " + std::to_string(hi) + "]",
      "integerIn");
}

CLI::Validator numberIn(double lo, double hi) {
  std::ostringstream range;
  range << "a number from " << lo << " to " << hi;
  return CLI::Validator(
      [lo, hi, range = range.str()](std::string &text) -> std::string {
        char *end = nullptr;
        errno = 0;
        const double v = text.empty() ? 0 : std::strtod(text.c_str(), &end);
        if (text.empty() || end != text.c_str() + text.size() ||
            !std::isfinite(v) || errno == ERANGE || v < lo || v > hi)
          return "must be " + range + ", got '" + shown(text) + "'";
        return "";
      },
      range.str(), "numberIn");
}

bool stderrIsTerminal() { return isatty(STDERR_FILENO) != 0; }

int64_t parseByteSize(const std::string &text) {
  size_t pos = 0;
  double v = 0;
  try {
    v = std::stod(text, &pos);
  } catch (...) {
    return -1;
  }
  std::string unit = text.substr(pos);
  double mult = 1;
  if (unit == "" || unit == "B")
    mult = 1;
  else if (unit == "K" || unit == "KiB" || unit == "k")
    mult = 1024.0;
  else if (unit == "M" || unit == "MiB")
    mult = 1024.0 * 1024;
  else if (unit == "G" || unit == "GiB")
    mult = 1024.0 * 1024 * 1024;
  else
    return -1;
  if (!(v > 0) || v * mult > 9e18)
    return -1;
  return static_cast<int64_t>(v * mult);
}

void addCommonOptions(CLI::App &cmd, CommonOptions &o) {
  cmd.add_option("input", o.input,
                 "a .task spec, or a compiled model's .json config")
      ->required();
  cmd.add_option(
      "-D,--set", o.overrides,
      "override a spec field: block.field=value (block: task, eval, model, "
      "model.NAME), e.g. -D task.max_length=2^16");
  cmd.add_option("-N,--max-length", o.maxLength,
                 "shorthand for -D task.max_length=N (also 2^k)");
  cmd.add_option("-m,--model", o.models,
                 "only these models (by name; default: all)");
  cmd.add_flag("--allow-uncertified", o.allowUncertified,
               "build models whose certificate fails (for experiments)");
  cmd.add_option("--memory-limit", o.memoryLimit,
                 "refuse models whose weights need more (e.g. 512M, 8G)")
      ->capture_default_str();
  cmd.add_flag("--json", o.json, "machine-readable output on stdout");
  cmd.add_option("-j,--threads", o.threads,
                 "worker threads (default: all cores); results do not "
                 "depend on it")
      ->check(integerIn(0, 1024));
}

namespace {
bool endsWith(const std::string &s, const std::string &suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}
} // namespace

bool checkModelNames(const Spec &spec, const std::vector<std::string> &wanted,
                     const std::string &input) {
  for (const std::string &want : wanted) {
    bool found = false;
    for (const auto &m : spec.models)
      found |= m.name == want;
    if (!found) {
      std::string names;
      for (const auto &m : spec.models)
        names += (names.empty() ? "" : ", ") + m.name;
      std::cerr << "handwire: error: no model named '" << shown(want) << "' in "
                << input << " (models: " << clipMiddle(names, 2000) << ")\n";
      return false;
    }
  }
  return true;
}

namespace {
// A compiled model file: read and verified (it enters after stage 4).
bool loadModelFile(const CommonOptions &o, int64_t limit, LoadedModels &out) {
  if (!o.overrides.empty() || !o.maxLength.empty()) {
    std::cerr << "handwire: error: -D and -N apply to .task specs, not to the "
                 "compiled model '"
              << o.input << "'\n";
    return false;
  }
  try {
    LoadedModel m = readModel(o.input, limit);
    out.fromSpec = false;
    out.spec.file = o.input;
    out.spec.task = m.task;
    ModelSpec ms;
    ms.name = m.net.name;
    ms.arch = m.net.arch;
    ms.precision = m.net.precision;
    out.spec.models.push_back(ms);
    out.models.push_back(std::move(m));
    return true;
  } catch (const UserError &e) {
    std::cerr << "handwire: error: " << e.what() << "\n";
    return false;
  }
}

// Stages 3-4 for one model, with a progress line on a terminal.
std::optional<Network> buildModel(Pipeline &pipeline, const Spec &spec,
                                  const ModelSpec &model,
                                  DiagnosticEngine &diags) {
  if (stderrIsTerminal())
    std::cerr << "compiling " << model.name << " ("
              << architectureName(model.arch) << ", N = " << spec.task.maxLength
              << ")...\r" << std::flush;
  std::optional<Network> net;
  try {
    net = pipeline.network(spec, model);
  } catch (const std::bad_alloc &) {
    diags.error(model.loc,
                "out of memory while building model '" + model.name + "'");
  }
  if (stderrIsTerminal())
    std::cerr << "\33[2K" << std::flush;
  diags.flush(std::cerr);
  return net;
}
} // namespace

bool loadModels(const CommonOptions &o, LoadedModels &out,
                const StageObserver &observer) {
  setWorkerThreads(static_cast<unsigned>(o.threads));
  const int64_t limit = parseByteSize(o.memoryLimit);
  if (limit <= 0) {
    std::cerr << "handwire: error: --memory-limit '" << o.memoryLimit
              << "' is not a size (examples: 512M, 8G)\n";
    return false;
  }
  if (endsWith(o.input, ".json"))
    return loadModelFile(o, limit, out);

  std::vector<std::string> overrides = o.overrides;
  if (!o.maxLength.empty())
    overrides.push_back("task.max_length=" + o.maxLength);
  PipelineOptions po;
  po.compile.allowUncertified = o.allowUncertified;
  po.compile.memoryLimitBytes = limit;
  po.observer = observer;
  DiagnosticEngine diags;
  Pipeline pipeline(po, diags);
  std::optional<Spec> spec = pipeline.frontEnd(o.input, overrides);
  diags.flush(std::cerr);
  if (!spec || !checkModelNames(*spec, o.models, o.input))
    return false;
  out.spec = *spec;

  bool ok = true;
  for (const ModelSpec &model : spec->models) {
    if (interrupted)
      return false; // Ctrl-C: the command reports it
    if (!o.models.empty() && std::find(o.models.begin(), o.models.end(),
                                       model.name) == o.models.end())
      continue;
    std::optional<Network> net = buildModel(pipeline, *spec, model, diags);
    ok &= net.has_value();
    if (net)
      out.models.push_back({spec->task, std::move(*net)});
  }
  out.timings = pipeline.timings();
  out.refused = !ok && diags.errorCount() == diags.refusalCount();
  return ok;
}

int loadFailureCode(const LoadedModels &loaded) {
  if (interrupted)
    return kExitInterrupted;
  return loaded.refused ? kExitRefused : kExitError;
}

} // namespace handwire::cli
