// handwire sweep: compile every model of a spec for a range of N, evaluate
// each with the JIT on generated inputs (as `eval` does), and record its
// sizes, lower bound, accuracy, compile time and throughput in a CSV and a
// log-log SVG plot (docs/sweep.md).
#include "Commands.h"
#include "SweepTable.h"

#include "analysis/SeparationCard.h"
#include "eval/Evaluate.h"
#include "jit/JitBackend.h"
#include "reference/Evaluator.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iomanip>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <spawn.h>
#include <sstream>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

extern char **environ;

namespace handwire::cli {

namespace {
using Clock = std::chrono::steady_clock;

double msSince(Clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

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
  int jobs = 0;
  std::string parallel = "inputs";
  std::string prefix, csv, svg, png;
  std::string replot; // a sweep CSV to draw again (no compiling)
  bool json = false;
};

struct Point {
  size_t model = 0; // index into the spec's models
  int64_t n = 0;
};

// What the monitor (main thread) and one worker share about the point the
// worker is on.
struct Slot {
  std::atomic<bool> stop{false};      // set by the monitor: stop the eval
  std::atomic<bool> budgetHit{false}; // ... because the time budget ran out
  std::atomic<int> phase{0};          // 0 idle, 1 building, 2 JIT, 3 eval
  std::atomic<int64_t> done{0}, total{0};
  std::atomic<int64_t> evalStartNs{0}; // steady clock, when phase 3 began
  std::mutex mu;
  std::string label; // "rnn N=4096"
};

// Seconds per input measured at some N, to estimate the next N's.
struct Measured {
  int64_t n = 0;
  double secondsPerInput = 0, flops = 0;
};

// The first error and the notes that follow it, on one line.
std::string firstError(const DiagnosticEngine &diags) {
  std::string text;
  for (const Diagnostic &d : diags.diagnostics()) {
    if (d.severity == Severity::Error) {
      if (!text.empty())
        break;
      text = d.message;
    } else if (d.severity == Severity::Note && !text.empty()) {
      text += "; " + d.message;
    }
  }
  return text.empty() ? "refused (no diagnostic)" : text;
}

std::string secondsText(double s) {
  std::ostringstream os;
  os.precision(s < 10 ? 2 : 3);
  os << s << " s";
  return os.str();
}

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

class Sweep {
public:
  Sweep(const SweepOptions &o, std::vector<Spec> specs,
        std::vector<std::string> specErrors, std::vector<int64_t> lengths,
        std::vector<size_t> models)
      : o_(o), specs_(std::move(specs)), specErrors_(std::move(specErrors)),
        lengths_(std::move(lengths)) {
    for (size_t li = 0; li < lengths_.size(); ++li)
      for (size_t m : models)
        points_.push_back({m, lengths_[li]});
    rows_.resize(points_.size());
    ran_ = std::make_unique<std::atomic<bool>[]>(points_.size());
    const unsigned cores = std::max(1u, std::thread::hardware_concurrency());
    const int jobs = o.jobs > 0 ? o.jobs : static_cast<int>(cores);
    if (o.parallel == "points") {
      workers_ = std::min<int>(jobs, static_cast<int>(points_.size()));
      evalThreads_ = 1;
    } else {
      workers_ = 1;
      evalThreads_ = jobs;
    }
    workers_ = std::max(1, workers_);
    copt_.allowUncertified = o.allowUncertified;
    copt_.memoryLimitBytes = parseByteSize(o.memoryLimit);
  }

  // Runs every point; returns the rows of the points that ran, in order.
  std::vector<SweepRow> run() {
    const bool tty = stderrIsTerminal();
    std::vector<std::unique_ptr<Slot>> slots;
    for (int w = 0; w < workers_; ++w)
      slots.push_back(std::make_unique<Slot>());
    std::atomic<int> active{workers_};
    std::vector<std::thread> pool;
    const auto start = Clock::now();
    for (int w = 0; w < workers_; ++w)
      pool.emplace_back([this, &slots, &active, w] {
        Slot &slot = *slots[static_cast<size_t>(w)];
        for (;;) {
          if (interrupted)
            break;
          const size_t i = next_.fetch_add(1);
          if (i >= points_.size())
            break;
          rows_[i] = runPoint(points_[i], slot);
          ran_[i] = true;
          finished_.fetch_add(1);
        }
        slot.phase = 0;
        active.fetch_sub(1);
      });

    // The monitor: time budgets, Ctrl-C, the progress bar.
    while (active.load() > 0) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      const int64_t now = Clock::now().time_since_epoch().count();
      for (auto &s : slots) {
        if (interrupted)
          s->stop = true;
        if (s->phase == 3 && o_.timeBudget > 0 &&
            static_cast<double>(now - s->evalStartNs.load()) * 1e-9 >
                o_.timeBudget) {
          s->budgetHit = true;
          s->stop = true;
        }
      }
      flushRows(tty);
      if (tty)
        drawProgress(
            slots, std::chrono::duration<double>(Clock::now() - start).count());
    }
    for (auto &t : pool)
      t.join();
    flushRows(tty);
    if (tty)
      std::cerr << "\r\33[2K" << std::flush;

    std::vector<SweepRow> out;
    for (size_t i = 0; i < points_.size(); ++i)
      if (ran_[i])
        out.push_back(rows_[i]);
    return out;
  }

  void onRow(std::function<void(const SweepRow &)> f) { onRow_ = std::move(f); }
  int evalThreads() const { return evalThreads_; }
  int workers() const { return workers_; }
  size_t pointCount() const { return points_.size(); }

private:
  // Hands the rows finished so far, in point order, to onRow_.
  void flushRows(bool tty) {
    bool any = false;
    while (printed_ < points_.size() && ran_[printed_]) {
      if (onRow_) {
        if (tty && !any)
          std::cerr << "\r\33[2K" << std::flush;
        onRow_(rows_[printed_]);
        any = true;
      }
      ++printed_;
    }
  }

  void drawProgress(const std::vector<std::unique_ptr<Slot>> &slots,
                    double elapsed) {
    const size_t total = points_.size(), done = finished_.load();
    const int barWidth = 24;
    const int filled = static_cast<int>(
        static_cast<double>(barWidth) * static_cast<double>(done) /
        static_cast<double>(std::max<size_t>(1, total)));
    std::ostringstream os;
    os << "[" << std::string(static_cast<size_t>(filled), '#')
       << std::string(static_cast<size_t>(barWidth - filled), '.') << "] "
       << done << "/" << total << " points " << clockText(elapsed);
    if (interrupted) {
      os << "  interrupted: finishing the inputs in flight (Ctrl-C again "
            "quits now)";
    } else {
      for (auto &s : slots) {
        const int phase = s->phase;
        if (phase == 0)
          continue;
        std::lock_guard<std::mutex> lock(s->mu);
        os << "  " << s->label << ": ";
        if (phase == 1)
          os << "building";
        else if (phase == 2)
          os << "JIT";
        else
          os << "eval " << s->done.load() << "/" << s->total.load();
      }
    }
    // One line: cut to the terminal's width, so that \r can redraw it.
    std::string line = os.str();
    winsize ws{};
    if (ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 1 &&
        line.size() >= ws.ws_col)
      line.resize(ws.ws_col - 1u);
    std::cerr << "\r\33[2K" << line << std::flush;
  }

  SweepRow runPoint(const Point &p, Slot &slot) {
    const size_t li = static_cast<size_t>(
        std::find(lengths_.begin(), lengths_.end(), p.n) - lengths_.begin());
    const Spec &spec = specs_[li];
    const ModelSpec &model = specs_.front().models[p.model];
    SweepRow row;
    row.task = taskKindName(specs_.front().task.kind);
    row.model = model.name;
    row.architecture = architectureName(model.arch);
    row.layers = model.arch == Architecture::RNN ? 1 : model.layers;
    row.n = p.n;
    {
      std::lock_guard<std::mutex> lock(slot.mu);
      slot.label = model.name + " N=" + std::to_string(p.n);
    }
    slot.stop = false;
    slot.budgetHit = false;
    slot.done = 0;
    slot.total = 0;
    if (!specErrors_[li].empty()) {
      row.status = "refused";
      row.reason = specErrors_[li];
      return row;
    }

    // Build: construct, verify, certify.
    slot.phase = 1;
    DiagnosticEngine diags;
    std::optional<Network> net;
    const auto t0 = Clock::now();
    try {
      net = buildNetwork(spec, spec.models[p.model], copt_, diags);
    } catch (const std::bad_alloc &) {
      net.reset();
      diags.error(model.loc, "out of memory while building the model");
    } catch (const std::exception &e) {
      net.reset();
      diags.error(model.loc, e.what());
    }
    row.buildMs = msSince(t0);
    if (!net) {
      row.status = "refused";
      row.reason = firstError(diags);
      slot.phase = 0;
      return row;
    }
    const SeparationCard card = separationCard(spec.task, *net);
    row.heads = card.heads;
    row.layers = card.layers;
    row.width = card.width;
    row.codeDim = card.codeDim;
    row.parameters = card.parameters;
    row.precisionBits = card.precisionBits;
    row.sizeMeasure = card.sizeMeasure;
    row.sizeBits = card.sizeBits;
    row.bound = card.bound;
    row.boundBits = card.boundBits;
    if (card.boundBits)
      row.respectsBound = card.respectsBound;
    if (net->arch == Architecture::RNN || card.boundBits) {
      row.plotMeasure = card.sizeMeasure;
      row.plotBits = static_cast<double>(card.sizeBits);
    } else {
      row.plotMeasure =
          "width x " + std::to_string(card.precisionBits) + " bits";
      row.plotBits = static_cast<double>(card.width * card.precisionBits);
    }

    // The backend, as `eval --backend auto` picks it.
    slot.phase = 2;
    std::unique_ptr<Backend> backend;
    const JitBackend *jit = nullptr;
    double flops = 0;
    try {
      if (net->precision == Precision::F64) {
        backend = std::make_unique<ReferenceBackend<double>>(*net);
      } else {
        const auto tj = Clock::now();
        auto j = std::make_unique<JitBackend>(
            *net, storageFormatOf(net->precision)); // 16-bit: natively
        row.jitMs = msSince(tj);
        jit = j.get();
        flops = jit->plan().flops(p.n);
        backend = std::move(j);
      }
    } catch (const std::bad_alloc &) {
      row.status = "error";
      row.reason = "out of memory while compiling the forward pass";
      slot.phase = 0;
      return row;
    } catch (const std::exception &e) {
      row.status = "error";
      row.reason = std::string("JIT: ") + e.what();
      slot.phase = 0;
      return row;
    }
    row.backend = backend->name();

    // Skip the evaluation if one input would take too long.
    if (o_.inputTimeLimit > 0) {
      std::lock_guard<std::mutex> lock(historyMu_);
      const Measured *best = nullptr;
      for (const Measured &m : history_[row.model])
        if (m.n < p.n && (!best || m.n > best->n))
          best = &m;
      if (best) {
        const double ratio = flops > 0 && best->flops > 0
                                 ? flops / best->flops
                                 : std::pow(double(p.n) / double(best->n), 2.0);
        const double estimate = best->secondsPerInput * ratio;
        if (estimate > o_.inputTimeLimit) {
          row.status = "skipped";
          row.reason = "one input would take about " + secondsText(estimate) +
                       " (from N = " + std::to_string(best->n) +
                       "), over --input-time-limit " +
                       secondsText(o_.inputTimeLimit);
          slot.phase = 0;
          return row;
        }
      }
    }

    // Evaluate, as `eval` does.
    EvalOptions eo;
    eo.samples = o_.samples;
    eo.seed = o_.seed >= 0 ? static_cast<uint64_t>(o_.seed) : spec.eval.seed;
    eo.inputs = spec.eval.inputs;
    if (o_.inputs == "uniform")
      eo.inputs = InputDistribution::Uniform;
    else if (o_.inputs == "adversarial")
      eo.inputs = InputDistribution::Adversarial;
    else if (o_.inputs == "mixed")
      eo.inputs = InputDistribution::Mixed;
    eo.threads = evalThreads_;
    eo.cancel = &slot.stop;
    eo.progress = [&slot](int64_t done, int64_t) { slot.done = done; };
    slot.total = eo.samples;
    slot.evalStartNs = Clock::now().time_since_epoch().count();
    slot.phase = 3;
    EvalResult r;
    try {
      r = evaluate(spec.task, *net, {backend.get()}, eo);
    } catch (const std::exception &e) {
      row.status = "error";
      row.reason = std::string("eval: ") + e.what();
      slot.phase = 0;
      return row;
    }
    slot.phase = 0;
    const BackendResult &b = r.backends.front();
    row.threads = evalThreads_;
    row.samples = r.samples;
    row.adversarial = r.adversarial;
    row.mismatches = b.mismatches;
    if (r.samples > 0)
      row.minMargin = b.minMargin;
    row.evalSeconds = r.wallSeconds;
    row.inputsPerSecond =
        r.wallSeconds > 0 ? double(r.samples) / r.wallSeconds : 0;
    row.inputsPerSecondPerThread =
        b.seconds > 0 ? double(r.samples) / b.seconds : 0;
    row.status = b.mismatches > 0 ? "mismatch" : "ok";
    if (r.cancelled && slot.budgetHit && !interrupted)
      row.reason = "time budget: " + std::to_string(r.samples) + " of " +
                   std::to_string(eo.samples) + " inputs in " +
                   secondsText(o_.timeBudget);
    else if (r.cancelled) {
      row.status = "interrupted";
      row.reason = "Ctrl-C after " + std::to_string(r.samples) + " of " +
                   std::to_string(eo.samples) + " inputs";
    }
    if (r.samples > 0 && b.seconds > 0) {
      std::lock_guard<std::mutex> lock(historyMu_);
      history_[row.model].push_back(
          {p.n, b.seconds / double(r.samples), flops});
    }
    return row;
  }

  const SweepOptions &o_;
  std::vector<Spec> specs_;
  std::vector<std::string> specErrors_;
  std::vector<int64_t> lengths_;
  std::vector<Point> points_;
  std::vector<SweepRow> rows_;
  std::unique_ptr<std::atomic<bool>[]> ran_; // rows_[i] is final
  // Called by the monitor (main thread) for each finished row, in order.
  std::function<void(const SweepRow &)> onRow_;
  size_t printed_ = 0;
  std::atomic<size_t> next_{0}, finished_{0};
  int workers_ = 1, evalThreads_ = 1;
  CompileOptions copt_;
  std::mutex historyMu_;
  std::map<std::string, std::vector<Measured>> history_;
};

bool endsWith(const std::string &s, const std::string &suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// Writes `text` to `path`; false (with a message) if it cannot.
bool writeFile(const std::string &path, const std::string &text) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f << text;
  f.close();
  if (!f) {
    std::cerr << "handwire: error: cannot write '" << path << "'\n";
    return false;
  }
  return true;
}

// Runs rsvg-convert (librsvg2-bin) to render `svg` as `png`.
bool convertToPng(const std::string &svg, const std::string &png) {
  std::vector<std::string> args = {"rsvg-convert", "--background-color=white",
                                   "-o", png, svg};
  std::vector<char *> argv;
  for (auto &a : args)
    argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = 0;
  if (posix_spawnp(&pid, "rsvg-convert", nullptr, nullptr, argv.data(),
                   environ) != 0) {
    std::cerr << "handwire: error: --png needs rsvg-convert (Debian package "
                 "librsvg2-bin), which is not installed; the SVG is at '"
              << svg << "'\n";
    return false;
  }
  int status = 0;
  waitpid(pid, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    std::cerr << "handwire: error: rsvg-convert failed to write '" << png
              << "'\n";
    return false;
  }
  return true;
}

nlohmann::json rowsJson(const std::vector<SweepRow> &rows) {
  nlohmann::json out = nlohmann::json::array();
  const auto header = sweepCsvHeader();
  for (const SweepRow &r : rows) {
    const auto rec = sweepCsvRecord(r);
    nlohmann::json j = nlohmann::json::object();
    for (size_t i = 0; i < header.size(); ++i) {
      const std::string &v = rec[i];
      if (v.empty()) {
        j[header[i]] = nullptr;
        continue;
      }
      char *end = nullptr;
      const double d = std::strtod(v.c_str(), &end);
      if (end && *end == '\0' &&
          v.find_first_not_of("0123456789.-+e") == std::string::npos)
        j[header[i]] = d;
      else if (v == "true" || v == "false")
        j[header[i]] = v == "true";
      else
        j[header[i]] = v;
    }
    out.push_back(j);
  }
  return out;
}

// --replot: reads a sweep CSV and writes its plot again.
int runReplot(const SweepOptions &o) {
  std::ifstream in(o.replot, std::ios::binary);
  if (!in) {
    std::cerr << "handwire: error: cannot open '" << o.replot << "'\n";
    return 1;
  }
  std::ostringstream text;
  text << in.rdbuf();
  std::vector<SweepRow> rows;
  try {
    rows = readSweepCsv(text.str());
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
  if (!writeFile(svgPath, renderSvg(sweepPlot(rows, source))))
    return 1;
  if (!o.png.empty() && !convertToPng(svgPath, o.png))
    return 1;
  if (!o.json)
    std::cout << "replotted " << rows.size() << " rows of " << o.replot
              << ": wrote " << svgPath << (o.png.empty() ? "" : ", " + o.png)
              << "\n";
  return 0;
}

int runSweep(const SweepOptions &o) {
  if (!o.replot.empty())
    return runReplot(o);
  if (!endsWith(o.input, ".task")) {
    if (o.input.empty())
      std::cerr << "handwire: error: sweep needs a .task spec (or --replot "
                   "CSV)\n";
    else
      std::cerr << "handwire: error: sweep needs a .task spec (it compiles "
                   "each model at every N), not '"
                << o.input << "'\n";
    return 1;
  }
  for (const std::string &d : o.overrides)
    if (d.rfind("task.max_length", 0) == 0) {
      std::cerr << "handwire: error: sweep sets task.max_length itself; use "
                   "--from/--to or --lengths instead of -D "
                << d << "\n";
      return 1;
    }
  if (parseByteSize(o.memoryLimit) <= 0) {
    std::cerr << "handwire: error: --memory-limit '" << o.memoryLimit
              << "' is not a size (examples: 512M, 8G)\n";
    return 1;
  }

  // The lengths.
  std::vector<int64_t> lengths = o.lengths;
  if (lengths.empty()) {
    if (o.from > o.to) {
      std::cerr << "handwire: error: --from " << o.from << " is above --to "
                << o.to << "\n";
      return 1;
    }
    for (int64_t n = o.from; n <= o.to; n *= 2)
      lengths.push_back(n);
  }
  std::sort(lengths.begin(), lengths.end());
  lengths.erase(std::unique(lengths.begin(), lengths.end()), lengths.end());

  // The spec, once without N (errors here stop the sweep), then at every N
  // (an error there refuses that N only: e.g. a length out of range).
  DiagnosticEngine diags;
  std::optional<Spec> base = loadSpec(o.input, o.overrides, diags);
  diags.flush(std::cerr);
  if (!base)
    return 1;
  std::vector<size_t> models;
  if (!checkModelNames(*base, o.models, o.input))
    return 1;
  for (size_t i = 0; i < base->models.size(); ++i)
    if (o.models.empty() || std::find(o.models.begin(), o.models.end(),
                                      base->models[i].name) != o.models.end())
      models.push_back(i);
  std::vector<Spec> specs;
  std::vector<std::string> specErrors;
  for (int64_t n : lengths) {
    DiagnosticEngine d;
    std::vector<std::string> ov = o.overrides;
    ov.push_back("task.max_length=" + std::to_string(n));
    std::optional<Spec> s = loadSpec(o.input, ov, d);
    specs.push_back(s ? *s : *base);
    specErrors.push_back(s ? std::string() : firstError(d));
  }

  // Outputs: checked before the work starts.
  const std::string stem = std::filesystem::path(o.input).stem().string();
  const std::string prefix = o.prefix.empty() ? "sweep_" + stem : o.prefix;
  const std::string csvPath = o.csv.empty() ? prefix + ".csv" : o.csv;
  const std::string svgPath = o.svg.empty() ? prefix + ".svg" : o.svg;
  for (const std::string &path : {csvPath, svgPath, o.png}) {
    if (path.empty())
      continue;
    const auto parent = std::filesystem::path(path).parent_path();
    std::error_code ec;
    if (!parent.empty() && !std::filesystem::is_directory(parent, ec)) {
      std::cerr << "handwire: error: cannot write '" << path << "': no "
                << "directory '" << parent.string() << "'\n";
      return 1;
    }
    const std::string dir = parent.empty() ? "." : parent.string();
    if (std::filesystem::exists(path, ec) ? access(path.c_str(), W_OK) != 0
                                          : access(dir.c_str(), W_OK) != 0) {
      std::cerr << "handwire: error: cannot write '" << path << "'\n";
      return 1;
    }
  }

  Sweep sweep(o, std::move(specs), std::move(specErrors), lengths, models);
  if (!o.json)
    std::cout << "sweep " << o.input << ": " << models.size() << " model"
              << (models.size() == 1 ? "" : "s") << " x " << lengths.size()
              << " lengths (N = " << lengths.front() << ".." << lengths.back()
              << "), up to " << o.samples << " inputs per point, "
              << (o.parallel == "points"
                      ? std::to_string(sweep.workers()) +
                            " points at a time, 1 eval thread each"
                      : "points in turn, " +
                            std::to_string(sweep.evalThreads()) +
                            " eval threads")
              << "\n"
              << std::flush;
  if (!o.json) {
    std::cout << "\n";
    printRowHeader(std::cout);
    std::cout << std::flush;
    sweep.onRow([](const SweepRow &r) {
      printRow(std::cout, r);
      std::cout << std::flush;
    });
  }
  const auto t0 = Clock::now();
  const std::vector<SweepRow> rows = sweep.run();
  const double seconds =
      std::chrono::duration<double>(Clock::now() - t0).count();

  std::ostringstream csv;
  writeSweepCsv(csv, rows);
  bool ioOk = writeFile(csvPath, csv.str());
  ioOk &= writeFile(svgPath, renderSvg(sweepPlot(rows, o.input)));
  if (ioOk && !o.png.empty())
    ioOk &= convertToPng(svgPath, o.png);

  int64_t mismatches = 0, errors = 0;
  for (const auto &r : rows) {
    mismatches += r.mismatches;
    errors += r.status == "error";
  }
  if (o.json) {
    std::cout << nlohmann::json{{"input", o.input},
                                {"seconds", seconds},
                                {"csv", csvPath},
                                {"svg", svgPath},
                                {"interrupted", interrupted.load()},
                                {"rows", rowsJson(rows)}}
                     .dump(2)
              << "\n";
  } else {
    std::cout << "\n"
              << rows.size() << " of " << sweep.pointCount() << " points in "
              << fixed(seconds, 1) << " s; wrote " << csvPath << ", " << svgPath
              << (o.png.empty() ? "" : ", " + o.png) << "\n";
    if (interrupted)
      std::cout << "interrupted: the files hold the points that ran\n";
    else if (mismatches)
      std::cout << "MISMATCHES FOUND (" << mismatches << ")\n";
  }
  if (!ioOk || errors)
    return 1;
  if (interrupted)
    return 130;
  return mismatches ? 3 : 0;
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
      ->check(CLI::Range(int64_t(2), int64_t(1) << 40));
  cmd->add_option("--to", o->to, "largest N")
      ->capture_default_str()
      ->check(CLI::Range(int64_t(2), int64_t(1) << 40));
  cmd->add_option("--lengths", o->lengths,
                  "explicit list of N, e.g. 16,64,256 (instead of "
                  "--from/--to)")
      ->delimiter(',')
      ->check(CLI::Range(int64_t(2), int64_t(1) << 40))
      ->excludes("--from")
      ->excludes("--to");
  cmd->add_option("-n,--samples", o->samples,
                  "inputs per point (at most; see --time-budget)")
      ->capture_default_str()
      ->check(CLI::Range(int64_t(1), int64_t(1) << 40));
  cmd->add_option("--seed", o->seed, "input seed (default: the spec's)")
      ->check(CLI::Range(int64_t(0), INT64_MAX));
  cmd->add_option("--inputs", o->inputs,
                  "uniform | adversarial | mixed (default: the spec's)")
      ->check(CLI::IsMember({"uniform", "adversarial", "mixed"}));
  cmd->add_option("--time-budget", o->timeBudget,
                  "seconds of evaluation per point: then no new input starts "
                  "(the ones running finish; 0: no limit)")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 1e9));
  cmd->add_option("--input-time-limit", o->inputTimeLimit,
                  "do not evaluate a point whose single input is estimated "
                  "(from the previous N) to take longer, in seconds (0: no "
                  "limit)")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 1e9));
  cmd->add_option("-j,--jobs", o->jobs, "cores to use (default: all)")
      ->check(CLI::Range(0, 1024));
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
  cmd->add_flag("--json", o->json, "machine-readable output on stdout");
  cmd->callback([o] {
    if (int rc = runSweep(*o))
      throw CLI::RuntimeError(rc);
  });
}

} // namespace handwire::cli
