#include "sweep/SweepTable.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <stdexcept>

namespace handwire {

std::optional<double> SweepRow::accuracy() const {
  if (samples <= 0)
    return std::nullopt;
  return 1.0 - static_cast<double>(mismatches) / static_cast<double>(samples);
}

std::string csvField(const std::string &s) {
  if (s.find_first_of(",\"\r\n") == std::string::npos)
    return s;
  std::string out = "\"";
  for (char c : s) {
    if (c == '"')
      out += '"';
    out += c;
  }
  return out + "\"";
}

std::string csvLine(const std::vector<std::string> &fields) {
  std::string line;
  for (size_t i = 0; i < fields.size(); ++i)
    line += (i ? "," : "") + csvField(fields[i]);
  return line + "\n";
}

std::vector<std::vector<std::string>> parseCsv(const std::string &text) {
  std::vector<std::vector<std::string>> rows;
  std::vector<std::string> row;
  std::string field;
  bool quoted = false, any = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (quoted) {
      if (c == '"') {
        if (i + 1 < text.size() && text[i + 1] == '"') {
          field += '"';
          ++i;
        } else {
          quoted = false;
        }
      } else {
        field += c;
      }
      continue;
    }
    any = true;
    if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      row.push_back(std::move(field));
      field.clear();
    } else if (c == '\n' || c == '\r') {
      if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n')
        ++i;
      row.push_back(std::move(field));
      field.clear();
      rows.push_back(std::move(row));
      row.clear();
      any = false;
    } else {
      field += c;
    }
  }
  if (any || !field.empty() || !row.empty()) {
    row.push_back(std::move(field));
    rows.push_back(std::move(row));
  }
  return rows;
}

namespace {
std::string fmt(double v, const char *f) {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, v);
  return buf;
}

// One field of a sweep record: empty (CSV "", JSON null), text, an integer,
// a real number with the printf format of its CSV text, or a flag.
struct Cell {
  enum Kind { Empty, Text, Integer, Real, Flag } kind = Empty;
  std::string text;
  double value = 0;
  const char *format = "";
};

Cell text(std::string s) { return {Cell::Text, std::move(s)}; }
Cell integer(int64_t v) {
  return {Cell::Integer, std::string(), static_cast<double>(v)};
}
Cell real(double v, const char *format) {
  return {Cell::Real, std::string(), v, format};
}
Cell flag(bool v) { return {Cell::Flag, std::string(), v ? 1.0 : 0.0}; }
Cell when(bool present, Cell c) { return present ? c : Cell{}; }
Cell real(const std::optional<double> &v, const char *format) {
  return when(v.has_value(), real(v.value_or(0), format));
}

std::string csvText(const Cell &c) {
  switch (c.kind) {
  case Cell::Empty:
    return "";
  case Cell::Text:
    return c.text;
  case Cell::Integer:
    return std::to_string(static_cast<int64_t>(c.value));
  case Cell::Real:
    return fmt(c.value, c.format);
  case Cell::Flag:
    return c.value != 0 ? "true" : "false";
  }
  return "";
}

// JSON numbers carry the CSV's rounding, so that the two agree; a real the
// CSV writes as inf or nan is that text, and empty text is null.
nlohmann::json jsonValue(const Cell &c) {
  switch (c.kind) {
  case Cell::Empty:
    return nullptr;
  case Cell::Text:
    return c.text.empty() ? nlohmann::json(nullptr) : nlohmann::json(c.text);
  case Cell::Integer:
    return c.value;
  case Cell::Real: {
    const std::string t = fmt(c.value, c.format);
    return std::isfinite(c.value) ? nlohmann::json(std::strtod(t.c_str(), 0))
                                  : nlohmann::json(t);
  }
  case Cell::Flag:
    return c.value != 0;
  }
  return nullptr;
}

// What a row that was not built, or not evaluated, leaves empty.
Cell ifBuilt(const SweepRow &r, Cell c) { return when(r.built(), c); }
Cell ifEvaluated(const SweepRow &r, Cell c) { return when(r.evaluated(), c); }

// The columns of a sweep record, in order: name and field.
struct Column {
  const char *name;
  Cell (*cell)(const SweepRow &);
};

const Column kColumns[] = {
    {"task", [](const SweepRow &r) { return text(r.task); }},
    {"model", [](const SweepRow &r) { return text(r.model); }},
    {"architecture", [](const SweepRow &r) { return text(r.architecture); }},
    {"layers", [](const SweepRow &r) { return integer(r.layers); }},
    {"heads", [](const SweepRow &r) { return ifBuilt(r, integer(r.heads)); }},
    {"N", [](const SweepRow &r) { return integer(r.n); }},
    {"status", [](const SweepRow &r) { return text(r.status); }},
    {"reason", [](const SweepRow &r) { return text(r.reason); }},
    {"width", [](const SweepRow &r) { return ifBuilt(r, integer(r.width)); }},
    {"code_dim",
     [](const SweepRow &r) { return ifBuilt(r, integer(r.codeDim)); }},
    {"parameters",
     [](const SweepRow &r) { return ifBuilt(r, integer(r.parameters)); }},
    {"precision_bits",
     [](const SweepRow &r) { return ifBuilt(r, integer(r.precisionBits)); }},
    {"size_measure", [](const SweepRow &r) { return text(r.sizeMeasure); }},
    {"size_bits",
     [](const SweepRow &r) { return ifBuilt(r, integer(r.sizeBits)); }},
    {"plot_measure", [](const SweepRow &r) { return text(r.plotMeasure); }},
    {"plot_bits",
     [](const SweepRow &r) { return ifBuilt(r, real(r.plotBits, "%.0f")); }},
    {"bound", [](const SweepRow &r) { return text(r.bound); }},
    {"bound_bits", [](const SweepRow &r) { return real(r.boundBits, "%.2f"); }},
    {"respects_bound",
     [](const SweepRow &r) {
       return when(r.respectsBound.has_value(),
                   flag(r.respectsBound.value_or(false)));
     }},
    {"backend", [](const SweepRow &r) { return text(r.backend); }},
    {"samples", [](const SweepRow &r) { return integer(r.samples); }},
    {"adversarial", [](const SweepRow &r) { return integer(r.adversarial); }},
    {"mismatches", [](const SweepRow &r) { return integer(r.mismatches); }},
    {"accuracy", [](const SweepRow &r) { return real(r.accuracy(), "%.6f"); }},
    {"min_margin",
     [](const SweepRow &r) {
       return ifEvaluated(r, real(r.minMargin, "%.4g"));
     }},
};

// Wall-clock measurements (and the eval threads they depend on): they vary
// from run to run, so they live in their own file beside the results.
const Column kTimingColumns[] = {
    {"task", [](const SweepRow &r) { return text(r.task); }},
    {"model", [](const SweepRow &r) { return text(r.model); }},
    {"N", [](const SweepRow &r) { return integer(r.n); }},
    {"threads",
     [](const SweepRow &r) { return ifEvaluated(r, integer(r.threads)); }},
    {"build_ms",
     [](const SweepRow &r) { return ifBuilt(r, real(r.buildMs, "%.1f")); }},
    {"jit_ms",
     [](const SweepRow &r) {
       return when(r.jitMs > 0, real(r.jitMs, "%.1f"));
     }},
    {"compile_ms",
     [](const SweepRow &r) {
       return ifBuilt(r, real(r.buildMs + r.jitMs, "%.1f"));
     }},
    {"eval_seconds",
     [](const SweepRow &r) {
       return ifEvaluated(r, real(r.evalSeconds, "%.3f"));
     }},
    {"inputs_per_second",
     [](const SweepRow &r) {
       return ifEvaluated(r, real(r.inputsPerSecond, "%.4g"));
     }},
    {"inputs_per_second_per_thread",
     [](const SweepRow &r) {
       return ifEvaluated(r, real(r.inputsPerSecondPerThread, "%.4g"));
     }},
};

template <size_t K>
std::vector<std::string> headerOf(const Column (&columns)[K]) {
  std::vector<std::string> out;
  for (const Column &c : columns)
    out.push_back(c.name);
  return out;
}

template <size_t K>
std::vector<std::string> recordOf(const Column (&columns)[K],
                                  const SweepRow &row) {
  std::vector<std::string> out;
  for (const Column &c : columns)
    out.push_back(csvText(c.cell(row)));
  return out;
}

template <size_t K>
nlohmann::json jsonOf(const Column (&columns)[K], const SweepRow &row) {
  nlohmann::json out = nlohmann::json::object();
  for (const Column &c : columns)
    out[c.name] = jsonValue(c.cell(row));
  return out;
}
} // namespace

std::vector<std::string> sweepCsvHeader() { return headerOf(kColumns); }

std::vector<std::string> sweepCsvRecord(const SweepRow &row) {
  return recordOf(kColumns, row);
}

void writeSweepCsv(std::ostream &os, const std::vector<SweepRow> &rows) {
  os << csvLine(sweepCsvHeader());
  for (const auto &r : rows)
    os << csvLine(sweepCsvRecord(r));
}

nlohmann::json sweepRowJson(const SweepRow &row) {
  return jsonOf(kColumns, row);
}

nlohmann::json sweepRowsJson(const std::vector<SweepRow> &rows) {
  nlohmann::json out = nlohmann::json::array();
  for (const SweepRow &r : rows)
    out.push_back(sweepRowJson(r));
  return out;
}

std::vector<std::string> sweepTimingsHeader() {
  return headerOf(kTimingColumns);
}

void writeSweepTimingsCsv(std::ostream &os, const std::vector<SweepRow> &rows) {
  os << csvLine(sweepTimingsHeader());
  for (const auto &r : rows)
    os << csvLine(recordOf(kTimingColumns, r));
}

nlohmann::json sweepTimingsJson(const std::vector<SweepRow> &rows) {
  nlohmann::json out = nlohmann::json::array();
  for (const SweepRow &r : rows)
    out.push_back(jsonOf(kTimingColumns, r));
  return out;
}

namespace {
// One record of a sweep CSV, its fields found by column name.
class RecordReader {
public:
  RecordReader(const std::map<std::string, size_t> &at,
               const std::vector<std::string> &rec, size_t line)
      : at_(at), rec_(rec), line_(line) {}

  std::string text(const char *name) const {
    auto it = at_.find(name);
    return it == at_.end() ? std::string() : rec_[it->second];
  }
  std::optional<double> number(const char *name) const {
    const std::string v = text(name);
    if (v.empty())
      return std::nullopt;
    size_t pos = 0;
    double d = 0;
    try {
      d = std::stod(v, &pos);
    } catch (...) {
      pos = 0;
    }
    if (pos != v.size())
      throw std::runtime_error("line " + std::to_string(line_) + ": column " +
                               name + " is not a number: '" + v + "'");
    return d;
  }
  // The columns sweepRowFromColumns reads; an empty or missing cell is 0,
  // none or (respects_bound) unknown: older CSVs lack some columns.
  double real(const char *name) const { return number(name).value_or(0); }
  int64_t integer(const char *name) const {
    return static_cast<int64_t>(number(name).value_or(0));
  }
  std::optional<double> optionalReal(const char *name) const {
    return number(name);
  }
  std::optional<bool> optionalFlag(const char *name) const {
    const std::string v = text(name);
    return v.empty() ? std::nullopt : std::optional<bool>(v == "true");
  }

private:
  const std::map<std::string, size_t> &at_;
  const std::vector<std::string> &rec_;
  size_t line_;
};

} // namespace

std::vector<SweepRow> readSweepCsv(const std::string &text) {
  const auto table = parseCsv(text);
  if (table.empty())
    throw std::runtime_error("empty file, expected a sweep CSV");
  const auto &h = table.front();
  std::map<std::string, size_t> at;
  for (size_t i = 0; i < h.size(); ++i)
    at[h[i]] = i;
  for (const char *need : {"model", "N", "status", "plot_bits"})
    if (!at.count(need))
      throw std::runtime_error(std::string("no column '") + need +
                               "': not a sweep CSV");
  std::vector<SweepRow> rows;
  for (size_t li = 1; li < table.size(); ++li) {
    const auto &rec = table[li];
    if (rec.size() == 1 && rec[0].empty())
      continue; // a blank line
    if (rec.size() != h.size())
      throw std::runtime_error("line " + std::to_string(li + 1) + ": " +
                               std::to_string(rec.size()) + " fields, the " +
                               "header has " + std::to_string(h.size()));
    rows.push_back(sweepRowFromColumns(RecordReader(at, rec, li + 1)));
  }
  return rows;
}

} // namespace handwire
