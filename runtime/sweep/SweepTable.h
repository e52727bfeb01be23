// The results of `handwire sweep`: one row per (model, N), written as CSV
// and drawn as a log-log plot of size against N (SvgPlot.h).
#pragma once

#include "sweep/SvgPlot.h"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

namespace handwire {

struct SweepRow {
  std::string task, model, architecture;
  int64_t layers = 0, heads = 0;
  int64_t n = 0; // task.max_length
  // ok: evaluated, every decision right; mismatch: evaluated, some wrong;
  // refused: not built (memory limit, lower bound, spec error at this N);
  // skipped: built, not evaluated (one input would exceed the time limit);
  // interrupted: Ctrl-C during this point; error: the JIT or eval failed.
  std::string status;
  std::string reason; // why refused / skipped / error (empty otherwise)
  // Sizes (valid when the model was built).
  int64_t width = 0, codeDim = 0, parameters = 0;
  int precisionBits = 0;
  std::string sizeMeasure; // the separation card's: state bits | cut bits |
                           // width
  int64_t sizeBits = 0;
  // What the plot shows: the quantity the applicable lower bound is stated
  // in (state bits, cut bits), else width x precision ("width bits").
  std::string plotMeasure;
  double plotBits = 0;
  std::string bound; // formula, "none" if no lower bound applies
  std::optional<double> boundBits;
  std::optional<bool> respectsBound;
  // Evaluation.
  std::string backend; // jit | reference
  int threads = 0;
  int64_t samples = 0, adversarial = 0, mismatches = 0;
  std::optional<double> minMargin;
  double buildMs = 0, jitMs = 0; // construct+verify+certify; plan+LLVM
  double evalSeconds = 0;        // wall clock
  double inputsPerSecond = 0;    // samples / wall seconds, all threads
  double inputsPerSecondPerThread = 0;

  bool built() const { return width > 0; }
  bool evaluated() const { return samples > 0; }
  std::optional<double> accuracy() const;
};

// A SweepRow read column by column, by name, from `in`: a CSV record
// (readSweepCsv) or a shard file's JSON row (exactRowFrom). One list, so a
// new column is read everywhere. `in` provides text, integer, real,
// optionalReal and optionalFlag, each with its own rule for a missing value.
template <typename Columns> SweepRow sweepRowFromColumns(const Columns &in) {
  SweepRow r;
  r.task = in.text("task");
  r.model = in.text("model");
  r.architecture = in.text("architecture");
  r.layers = in.integer("layers");
  r.heads = in.integer("heads");
  r.n = in.integer("N");
  r.status = in.text("status");
  r.reason = in.text("reason");
  r.width = in.integer("width");
  r.codeDim = in.integer("code_dim");
  r.parameters = in.integer("parameters");
  r.precisionBits = static_cast<int>(in.integer("precision_bits"));
  r.sizeMeasure = in.text("size_measure");
  r.sizeBits = in.integer("size_bits");
  r.plotMeasure = in.text("plot_measure");
  r.plotBits = in.real("plot_bits");
  r.bound = in.text("bound");
  r.boundBits = in.optionalReal("bound_bits");
  r.respectsBound = in.optionalFlag("respects_bound");
  r.backend = in.text("backend");
  r.threads = static_cast<int>(in.integer("threads"));
  r.samples = in.integer("samples");
  r.adversarial = in.integer("adversarial");
  r.mismatches = in.integer("mismatches");
  r.minMargin = in.optionalReal("min_margin");
  r.buildMs = in.real("build_ms");
  r.jitMs = in.real("jit_ms");
  r.evalSeconds = in.real("eval_seconds");
  r.inputsPerSecond = in.real("inputs_per_second");
  r.inputsPerSecondPerThread = in.real("inputs_per_second_per_thread");
  return r;
}

// RFC 4180: fields with a comma, quote, CR or LF are quoted, quotes doubled.
std::string csvField(const std::string &s);
std::string csvLine(const std::vector<std::string> &fields); // with "\n"
// Parses RFC 4180 text (quoted fields may hold commas, quotes, newlines).
std::vector<std::vector<std::string>> parseCsv(const std::string &text);

// The results: what was built and how it did, a function of the spec and
// the sweep's settings alone (with a fixed number of inputs per point, no
// time budget: byte-identical from run to run, sharded or not).
std::vector<std::string> sweepCsvHeader();
std::vector<std::string> sweepCsvRecord(const SweepRow &row);
void writeSweepCsv(std::ostream &os, const std::vector<SweepRow> &rows);
// The rows as JSON objects keyed by the CSV's column names: numbers as
// JSON numbers (with the CSV's rounding), flags as booleans, empty fields
// as null.
nlohmann::json sweepRowJson(const SweepRow &row);
nlohmann::json sweepRowsJson(const std::vector<SweepRow> &rows);

// The measurements, which vary from run to run: per (task, model, N), the
// eval threads, build/JIT/compile milliseconds, eval seconds and
// throughput (the timings file, PREFIX.timings.csv).
std::vector<std::string> sweepTimingsHeader();
void writeSweepTimingsCsv(std::ostream &os, const std::vector<SweepRow> &rows);
nlohmann::json sweepTimingsJson(const std::vector<SweepRow> &rows);

// Reads rows back from a sweep CSV (columns found by header name; timing
// columns, as CSVs written before the timings file had them, are read when
// present); throws std::runtime_error naming the line on a malformed file.
std::vector<SweepRow> readSweepCsv(const std::string &text);

// The plot of a sweep: per model, plotBits against N (solid, markers; red
// rings where some decision was wrong, hollow where not evaluated) and its
// lower bound (dashed, same colour). `source` names the spec in the title.
LogLogPlot sweepPlot(const std::vector<SweepRow> &rows,
                     const std::string &source);

} // namespace handwire
