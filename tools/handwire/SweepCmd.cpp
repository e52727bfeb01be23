// handwire sweep: compile every model of a spec for a range of N, evaluate
// each with the JIT on generated inputs (as `eval` does), and record its
// sizes, lower bound, accuracy, compile time and throughput in a CSV and a
// log-log SVG plot (docs/sweep.md); with --shard I/K only every K-th point,
// into a shard file for `handwire merge`. The work is in runtime/sweep (the
// scheduler, the point runner, the writers, the shard files); this file
// parses options, draws the progress bar and prints.
#include "Commands.h"

#include "codegen/EmitLLVM.h"
#include "frontend/Parser.h"
#include "support/FileIO.h"
#include "sweep/Sweep.h"
#include "sweep/SweepOutputs.h"
#include "sweep/SweepPoint.h"
#include "sweep/SweepShards.h"
#include "sweep/SweepTable.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <sys/ioctl.h>
#include <unistd.h>

namespace handwire::cli {

namespace {
struct SweepOptions {
  std::string input;
  std::vector<std::string> overrides;
  std::vector<std::string> models;
  bool allowUncertified = false;
  std::string memoryLimit = "1G";
  int64_t from = 16, to = 65536;
  std::vector<int64_t> lengths;
  int64_t samples = 200;
  int64_t seed = -1;
  std::string inputs;
  double timeBudget = 10;
  double inputTimeLimit = 300;
  bool timeLimitsGiven = false; // --time-budget or --input-time-limit
  std::string shard;            // I/K; empty: the whole sweep
  int jobs = 0;
  std::string parallel = "inputs";
  std::string prefix, csv, svg, png;
  std::string replot; // a sweep CSV to draw again (no compiling)
  bool json = false;
};

std::string clockText(double seconds) {
  const int64_t s = static_cast<int64_t>(seconds);
  std::ostringstream os;
  os << s / 60 << ":" << std::setw(2) << std::setfill('0') << s % 60;
  return os.str();
}

void printRowHeader(std::ostream &os) {
  os << std::left << std::setw(12) << "model" << std::right << std::setw(7)
     << "N" << std::setw(8) << "width" << std::setw(11) << "params"
     << std::setw(13) << "size bits" << std::setw(11) << "bound" << std::setw(9)
     << "inputs" << std::setw(10) << "accuracy" << std::setw(12) << "compile ms"
     << std::setw(10) << "inputs/s"
     << "  status\n";
}

std::string fixed(double v, int digits) {
  std::ostringstream os;
  os << std::fixed << std::setprecision(digits) << v;
  return os.str();
}

void printRow(std::ostream &os, const SweepRow &r) {
  os << std::left << std::setw(12) << r.model << std::right << std::setw(7)
     << r.n;
  if (r.built()) {
    os << std::setw(8) << r.width << std::setw(11)
       << humanCount(double(r.parameters)) << std::setw(13)
       << humanCount(r.plotBits) << std::setw(11)
       << (r.boundBits ? humanCount(std::ceil(*r.boundBits))
                       : std::string("-"));
  } else {
    os << std::setw(8) << "-" << std::setw(11) << "-" << std::setw(13) << "-"
       << std::setw(11) << "-";
  }
  os << std::setw(9) << r.samples << std::setw(10)
     << (r.accuracy() ? fixed(100 * *r.accuracy(), 2) + "%" : std::string("-"))
     << std::setw(12)
     << (r.built() ? fixed(r.buildMs + r.jitMs, 1) : std::string("-"))
     << std::setw(10)
     << (r.evaluated() ? humanCount(r.inputsPerSecond) : std::string("-"))
     << "  " << r.status;
  if (!r.reason.empty())
    os << ": " << r.reason;
  os << "\n";
}

// Prints the rows as they finish and, on a terminal, a progress bar on
// stderr: one line, redrawn in place.
class TerminalObserver : public SweepObserver {
public:
  explicit TerminalObserver(bool printRows)
      : printRows_(printRows), tty_(stderrIsTerminal()) {}

  void rowFinished(const SweepRow &r) override {
    if (!printRows_)
      return;
    clearLine();
    printRow(std::cout, r);
    std::cout << std::flush;
  }
  void progress(const SweepProgress &p) override {
    if (tty_)
      std::cerr << "\r\33[2K" << progressLine(p) << std::flush;
  }
  void clearLine() const {
    if (tty_)
      std::cerr << "\r\33[2K" << std::flush;
  }

private:
  static std::string progressLine(const SweepProgress &p) {
    const int barWidth = 24;
    const int filled = static_cast<int>(
        static_cast<double>(barWidth) * static_cast<double>(p.done) /
        static_cast<double>(std::max<size_t>(1, p.total)));
    std::ostringstream os;
    os << "[" << std::string(static_cast<size_t>(filled), '#')
       << std::string(static_cast<size_t>(barWidth - filled), '.') << "] "
       << p.done << "/" << p.total << " points " << clockText(p.elapsedSeconds);
    if (p.cancelled)
      os << "  interrupted: finishing the inputs in flight (Ctrl-C again "
            "quits now)";
    else
      for (const PointSlot::Status &s : p.running) {
        os << "  " << s.label << ": ";
        if (s.phase == PointPhase::Building)
          os << "building";
        else if (s.phase == PointPhase::Compiling)
          os << "JIT";
        else
          os << "eval " << s.done << "/" << s.total;
      }
    // One line: cut to the terminal's width, so that \r can redraw it.
    std::string line = os.str();
    winsize ws{};
    if (ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 1 &&
        line.size() >= ws.ws_col)
      line.resize(ws.ws_col - 1u);
    return line;
  }

  bool printRows_, tty_;
};

bool endsWith(const std::string &s, const std::string &suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// --replot: reads a sweep CSV and writes its plot again.
int runReplot(const SweepOptions &o) {
  std::string text, error;
  if (!readRegularFile(o.replot, int64_t(64) << 20, "a sweep CSV", text,
                       error)) {
    std::cerr << "handwire: error: " << error << "\n";
    return kExitError;
  }
  std::vector<SweepRow> rows;
  try {
    rows = readSweepCsv(text);
  } catch (const std::exception &e) {
    std::cerr << "handwire: error: " << o.replot << ": " << e.what() << "\n";
    return 1;
  }
  std::string svgPath = o.svg;
  if (svgPath.empty())
    svgPath =
        (o.prefix.empty()
             ? std::filesystem::path(o.replot).replace_extension("").string()
             : o.prefix) +
        ".svg";
  const std::string source = o.input.empty() ? o.replot : o.input;
  writeSweepOutputs({"", "", "", svgPath, o.png}, rows, {}, source);
  if (!o.json)
    std::cout << "replotted " << rows.size() << " rows of " << o.replot
              << ": wrote " << svgPath << (o.png.empty() ? "" : ", " + o.png)
              << "\n";
  return 0;
}

// The errors that stop a sweep before it starts; false (with a message).
bool checkSweepOptions(const SweepOptions &o) {
  if (!endsWith(o.input, ".task")) {
    if (o.input.empty())
      std::cerr << "handwire: error: sweep needs a .task spec (or --replot "
                   "CSV)\n";
    else
      std::cerr << "handwire: error: sweep needs a .task spec (it compiles "
                   "each model at every N), not '"
                << o.input << "'\n";
    return false;
  }
  for (const std::string &d : o.overrides)
    if (d.rfind("task.max_length", 0) == 0) {
      std::cerr << "handwire: error: sweep sets task.max_length itself; use "
                   "--from/--to or --lengths instead of -D "
                << d << "\n";
      return false;
    }
  if (parseByteSize(o.memoryLimit) <= 0) {
    std::cerr << "handwire: error: --memory-limit '" << o.memoryLimit
              << "' is not a size (examples: 512M, 8G)\n";
    return false;
  }
  if (o.lengths.empty() && o.from > o.to) {
    std::cerr << "handwire: error: --from " << o.from << " is above --to "
              << o.to << "\n";
    return false;
  }
  if (!o.shard.empty() && o.timeLimitsGiven &&
      (o.timeBudget > 0 || o.inputTimeLimit > 0)) {
    std::cerr << "handwire: error: --shard runs a fixed amount of work per "
                 "point (the same wherever it runs), so it takes no "
                 "--time-budget or --input-time-limit (or only 0)\n";
    return false;
  }
  return true;
}

// --lengths, or --from doubling up to --to; sorted, without repeats.
std::vector<int64_t> sweepLengths(const SweepOptions &o) {
  std::vector<int64_t> lengths = o.lengths;
  if (lengths.empty())
    for (int64_t n = o.from; n <= o.to; n *= 2)
      lengths.push_back(n);
  std::sort(lengths.begin(), lengths.end());
  lengths.erase(std::unique(lengths.begin(), lengths.end()), lengths.end());
  return lengths;
}

// The indices of the models to sweep (all, or those named by --model).
std::vector<size_t> selectedModels(const Spec &spec,
                                   const std::vector<std::string> &names) {
  std::vector<size_t> models;
  for (size_t i = 0; i < spec.models.size(); ++i)
    if (names.empty() || std::find(names.begin(), names.end(),
                                   spec.models[i].name) != names.end())
      models.push_back(i);
  return models;
}

void printIntro(const SweepOptions &o, size_t models,
                const std::vector<int64_t> &lengths,
                const SweepParallelism &par) {
  std::cout << "sweep " << o.input << ": " << models << " model"
            << (models == 1 ? "" : "s") << " x " << lengths.size()
            << " lengths (N = " << lengths.front() << ".." << lengths.back()
            << "), up to " << o.samples << " inputs per point, "
            << (o.parallel == "points"
                    ? std::to_string(par.workers) +
                          " points at a time, 1 eval thread each"
                    : "points in turn, " + std::to_string(par.evalThreads) +
                          " eval threads")
            << "\n"
            << std::flush;
  std::cout << "\n";
  printRowHeader(std::cout);
  std::cout << std::flush;
}

// Where a run's results go: the sweep's files, or (--shard) one shard file.
struct SweepTarget {
  std::optional<Shard> shard;
  SweepOutputPaths files; // without --shard
  std::string shardFile;  // with --shard

  std::vector<std::string> paths() const {
    if (shard)
      return {shardFile};
    std::vector<std::string> out = {files.csv, files.json, files.timings,
                                    files.svg};
    if (!files.png.empty())
      out.push_back(files.png);
    return out;
  }
};

SweepTarget sweepTarget(const SweepOptions &o) {
  const std::string stem = std::filesystem::path(o.input).stem().string();
  const std::string prefix = o.prefix.empty() ? "sweep_" + stem : o.prefix;
  SweepTarget t;
  if (!o.shard.empty()) {
    t.shard = parseShard(o.shard);
    t.shardFile = sweepShardPath(prefix, *t.shard);
  } else {
    t.files = sweepOutputPaths(prefix, o.csv, o.svg, o.png);
  }
  return t;
}

// Everything that decides the rows, for the JSON document and shard files.
SweepSettings sweepSettings(const SweepOptions &o, const Spec &base,
                            const std::vector<int64_t> &lengths,
                            const std::vector<size_t> &models) {
  SweepSettings s;
  s.input = o.input;
  s.overrides = o.overrides;
  s.lengths = lengths;
  for (size_t m : models)
    s.models.push_back(base.models[m].name);
  s.samples = o.samples;
  s.seed = o.seed >= 0 ? static_cast<uint64_t>(o.seed) : base.eval.seed;
  s.inputs = inputDistributionName(
      inputDistributionByName(o.inputs).value_or(base.eval.inputs));
  s.memoryLimitBytes = parseByteSize(o.memoryLimit);
  s.allowUncertified = o.allowUncertified;
  s.timeBudgetSeconds = o.timeBudget;
  s.inputTimeLimitSeconds = o.inputTimeLimit;
  return s;
}

// Writes the sweep's files or the shard file (not for an interrupted shard:
// it would be incomplete); false (with a message) if that fails.
bool writeResults(const SweepTarget &t, const SweepSettings &settings,
                  const std::string &specText, size_t points,
                  const std::vector<SweepRow> &rows) {
  try {
    if (!t.shard)
      writeSweepOutputs(
          t.files, rows,
          sweepDocument(settings.input, sweepSettingsJson(settings), rows),
          settings.input);
    else if (!interrupted)
      writeJsonFile(t.shardFile,
                    sweepShardJson(settings, specText, *t.shard, points, rows));
  } catch (const UserError &e) {
    std::cerr << "handwire: error: " << e.what() << "\n";
    return false;
  }
  return true;
}

std::string joined(const std::vector<std::string> &parts) {
  std::string out;
  for (const std::string &p : parts)
    out += (out.empty() ? "" : ", ") + p;
  return out;
}

void printSummary(const SweepTarget &t, size_t rows, size_t points,
                  double seconds, int64_t mismatches) {
  std::cout << "\n" << rows << " of ";
  if (t.shard)
    std::cout << shardPoints(points, *t.shard).size() << " points (shard "
              << t.shard->text() << " of a " << points << "-point sweep)";
  else
    std::cout << points << " points";
  std::cout << " in " << fixed(seconds, 1) << " s; ";
  if (t.shard && interrupted)
    std::cout << "the shard file was not written (run the shard again)\n";
  else
    std::cout << "wrote " << joined(t.paths()) << "\n";
  if (interrupted && !t.shard)
    std::cout << "interrupted: the files hold the points that ran\n";
  else if (mismatches && !interrupted)
    std::cout << "MISMATCHES FOUND (" << mismatches << ")\n";
}

// The summary (JSON or text) and the exit code.
int report(const SweepOptions &o, const SweepTarget &t,
           const std::vector<SweepRow> &rows, size_t points, double seconds,
           bool ioOk) {
  int64_t mismatches = 0, errors = 0;
  for (const auto &r : rows) {
    mismatches += r.mismatches;
    errors += r.status == "error";
  }
  if (o.json) {
    nlohmann::json out = {{"input", o.input},
                          {"seconds", seconds},
                          {"points", points},
                          {"interrupted", interrupted.load()},
                          {"rows", sweepRowsJson(rows)},
                          {"timings", sweepTimingsJson(rows)}};
    if (t.shard) {
      out["shard"] = t.shard->text();
      out["shard_file"] = t.shardFile;
    } else {
      out["csv"] = t.files.csv;
      out["json"] = t.files.json;
      out["timings_csv"] = t.files.timings;
      out["svg"] = t.files.svg;
    }
    std::cout << out.dump(2) << "\n";
  } else {
    printSummary(t, rows.size(), points, seconds, mismatches);
  }
  if (!ioOk || errors)
    return 1;
  if (interrupted)
    return 130;
  return mismatches ? 3 : 0;
}

PointSettings pointSettings(const SweepOptions &o, int evalThreads) {
  PointSettings s;
  s.compile.allowUncertified = o.allowUncertified;
  s.compile.memoryLimitBytes = parseByteSize(o.memoryLimit);
  s.eval.samples = o.samples;
  if (o.seed >= 0)
    s.eval.seed = static_cast<uint64_t>(o.seed);
  s.eval.inputs = inputDistributionByName(o.inputs);
  s.evalThreads = evalThreads;
  s.timeBudgetSeconds = o.timeBudget;
  s.inputTimeLimit = o.inputTimeLimit;
  s.interrupted = &interrupted;
  return s;
}

// The points of the run: all, or those of the shard.
std::vector<SweepPoint> runPoints(const std::vector<SweepPoint> &all,
                                  const std::optional<Shard> &shard) {
  if (!shard)
    return all;
  std::vector<SweepPoint> mine;
  for (size_t p : shardPoints(all.size(), *shard))
    mine.push_back(all[p]);
  return mine;
}

int runSweep(SweepOptions o) {
  if (!o.replot.empty())
    return runReplot(o);
  if (!checkSweepOptions(o))
    return 1;
  // The first point's compile would otherwise also pay LLVM's start-up.
  CodegenWarmUp warmUp;
  const SweepTarget target = sweepTarget(o);
  if (target.shard) // a fixed amount of work per point (checked above)
    o.timeBudget = o.inputTimeLimit = 0;
  const std::vector<int64_t> lengths = sweepLengths(o);
  // Errors without N stop the sweep; an error at one N refuses that N only
  // (e.g. a length out of range).
  DiagnosticEngine diags;
  std::optional<SweepSpecs> specs =
      loadSweepSpecs(o.input, o.overrides, lengths, diags);
  diags.flush(std::cerr);
  if (!specs || !checkModelNames(specs->base, o.models, o.input))
    return 1;
  const std::vector<size_t> models = selectedModels(specs->base, o.models);
  checkWritable(target.paths());
  // A merge refuses shards of different spec texts: the text the rows come
  // from goes into the shard file.
  const std::string specText =
      target.shard ? readRegularFile(o.input, kMaxSpecBytes, "a spec") : "";

  const std::vector<SweepPoint> all = sweepPoints(lengths, models);
  std::vector<SweepPoint> points = runPoints(all, target.shard);
  const SweepParallelism par =
      sweepParallelism(o.jobs, o.parallel == "points", points.size());
  SweepPointRunner runner(*specs, pointSettings(o, par.evalThreads));
  SweepSchedule schedule;
  schedule.workers = par.workers;
  schedule.timeBudgetSeconds = o.timeBudget;
  schedule.cancel = &interrupted;
  Sweep sweep(std::move(points), schedule,
              [&runner](const SweepPoint &p, PointSlot &slot) {
                return runner.run(p, slot);
              });
  if (!o.json)
    printIntro(o, models.size(), lengths, par);
  TerminalObserver observer(!o.json);
  const auto t0 = std::chrono::steady_clock::now();
  const std::vector<SweepRow> rows = sweep.run(&observer);
  observer.clearLine();
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0)
          .count();
  const bool ioOk =
      writeResults(target, sweepSettings(o, specs->base, lengths, models),
                   specText, all.size(), rows);
  return report(o, target, rows, all.size(), seconds, ioOk);
}
} // namespace

void setupSweep(CLI::App &app) {
  auto o = std::make_shared<SweepOptions>();
  CLI::App *cmd = app.add_subcommand(
      "sweep",
      "Compile and evaluate every model of a spec for a range of N; write a "
      "CSV and a log-log SVG plot of size against N with the lower bounds "
      "(exit 0: exact, 3: mismatches, 1: error, 130: interrupted)");
  cmd->add_option("input", o->input, "a .task spec");
  cmd->add_option("-D,--set", o->overrides,
                  "override a spec field (not task.max_length): "
                  "block.field=value");
  cmd->add_option("-m,--model", o->models,
                  "only these models (by name; default: all)");
  cmd->add_option("--from", o->from, "smallest N (then doubling)")
      ->capture_default_str()
      ->check(integerIn(2, int64_t(1) << 40));
  cmd->add_option("--to", o->to, "largest N")
      ->capture_default_str()
      ->check(integerIn(2, int64_t(1) << 40));
  cmd->add_option("--lengths", o->lengths,
                  "explicit list of N, e.g. 16,64,256 (instead of "
                  "--from/--to)")
      ->delimiter(',')
      ->check(integerIn(2, int64_t(1) << 40))
      ->excludes("--from")
      ->excludes("--to");
  cmd->add_option("-n,--samples", o->samples,
                  "inputs per point (at most; see --time-budget)")
      ->capture_default_str()
      ->check(integerIn(1, int64_t(1) << 40));
  cmd->add_option("--seed", o->seed, "input seed (default: the spec's)")
      ->check(integerIn(0, INT64_MAX));
  cmd->add_option("--inputs", o->inputs,
                  "uniform | adversarial | mixed (default: the spec's)")
      ->check(CLI::IsMember({"uniform", "adversarial", "mixed"}));
  cmd->add_option("--time-budget", o->timeBudget,
                  "seconds of evaluation per point: then no new input starts "
                  "(the ones running finish; 0: no limit)")
      ->capture_default_str()
      ->check(numberIn(0, 1e9));
  cmd->add_option("--input-time-limit", o->inputTimeLimit,
                  "do not evaluate a point whose single input is estimated "
                  "(from the previous N) to take longer, in seconds (0: no "
                  "limit)")
      ->capture_default_str()
      ->check(numberIn(0, 1e9));
  cmd->add_option("-j,--jobs", o->jobs, "cores to use (default: all)")
      ->check(integerIn(0, 1024));
  cmd->add_option("--parallel", o->parallel,
                  "inputs: one point at a time, its inputs on all --jobs "
                  "cores; points: --jobs points at a time, one thread each")
      ->capture_default_str()
      ->check(CLI::IsMember({"inputs", "points"}));
  cmd->add_flag("--allow-uncertified", o->allowUncertified,
                "build models whose certificate fails (for experiments)");
  cmd->add_option("--memory-limit", o->memoryLimit,
                  "refuse (and record as refused) models whose weights need "
                  "more, per point")
      ->capture_default_str();
  cmd->add_option("-o,--output", o->prefix,
                  "output prefix: PREFIX.csv and PREFIX.svg (default: "
                  "sweep_<spec name> in the current directory)");
  cmd->add_option("--csv", o->csv, "CSV path (overrides -o)");
  cmd->add_option("--svg", o->svg, "SVG path (overrides -o)");
  cmd->add_option("--png", o->png,
                  "also render the plot as PNG here (needs rsvg-convert, "
                  "Debian librsvg2-bin)");
  cmd->add_option("--replot", o->replot,
                  "draw the plot of an earlier sweep's CSV again (writes the "
                  "SVG next to it, or at -o/--svg; nothing is compiled)");
  cmd->add_option("--shard", o->shard,
                  "run only shard I of K (I/K, 0 <= I < K): the points with "
                  "index % K == I (every model at every N, N by N), with no "
                  "time budget; writes PREFIX.shard-I-of-K.json for "
                  "'handwire merge' (docs/sweep.md)")
      ->excludes("--csv")
      ->excludes("--svg")
      ->excludes("--png")
      ->excludes("--replot");
  cmd->add_flag("--json", o->json, "machine-readable output on stdout");
  cmd->callback([o, cmd] {
    o->timeLimitsGiven =
        cmd->count("--time-budget") + cmd->count("--input-time-limit") > 0;
    if (int rc = runSweep(*o))
      throw CLI::RuntimeError(rc);
  });
}

} // namespace handwire::cli
