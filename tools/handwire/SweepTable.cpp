#include "SweepTable.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <stdexcept>

namespace handwire::cli {

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
std::string fmt(double v, const char *f = "%.6g") {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, v);
  return buf;
}
std::string opt(const std::optional<double> &v, const char *f = "%.6g") {
  return v ? fmt(*v, f) : std::string();
}
} // namespace

std::vector<std::string> sweepCsvHeader() {
  return {"task",
          "model",
          "architecture",
          "layers",
          "heads",
          "N",
          "status",
          "reason",
          "width",
          "code_dim",
          "parameters",
          "precision_bits",
          "size_measure",
          "size_bits",
          "plot_measure",
          "plot_bits",
          "bound",
          "bound_bits",
          "respects_bound",
          "backend",
          "threads",
          "samples",
          "adversarial",
          "mismatches",
          "accuracy",
          "min_margin",
          "build_ms",
          "jit_ms",
          "compile_ms",
          "eval_seconds",
          "inputs_per_second",
          "inputs_per_second_per_thread"};
}

std::vector<std::string> sweepCsvRecord(const SweepRow &r) {
  const bool b = r.built();
  auto i64 = [&](int64_t v) { return b ? std::to_string(v) : std::string(); };
  const bool e = r.evaluated();
  return {r.task,
          r.model,
          r.architecture,
          std::to_string(r.layers),
          b ? std::to_string(r.heads) : std::string(),
          std::to_string(r.n),
          r.status,
          r.reason,
          i64(r.width),
          i64(r.codeDim),
          i64(r.parameters),
          b ? std::to_string(r.precisionBits) : std::string(),
          r.sizeMeasure,
          i64(r.sizeBits),
          r.plotMeasure,
          b ? fmt(r.plotBits, "%.0f") : std::string(),
          r.bound,
          opt(r.boundBits, "%.2f"),
          r.respectsBound ? (*r.respectsBound ? "true" : "false") : "",
          r.backend,
          e ? std::to_string(r.threads) : std::string(),
          std::to_string(r.samples),
          std::to_string(r.adversarial),
          std::to_string(r.mismatches),
          opt(r.accuracy(), "%.6f"),
          e ? opt(r.minMargin, "%.4g") : std::string(),
          b ? fmt(r.buildMs, "%.1f") : std::string(),
          r.jitMs > 0 ? fmt(r.jitMs, "%.1f") : std::string(),
          b ? fmt(r.buildMs + r.jitMs, "%.1f") : std::string(),
          e ? fmt(r.evalSeconds, "%.3f") : std::string(),
          e ? fmt(r.inputsPerSecond, "%.4g") : std::string(),
          e ? fmt(r.inputsPerSecondPerThread, "%.4g") : std::string()};
}

void writeSweepCsv(std::ostream &os, const std::vector<SweepRow> &rows) {
  os << csvLine(sweepCsvHeader());
  for (const auto &r : rows)
    os << csvLine(sweepCsvRecord(r));
}

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
    auto get = [&](const char *name) -> std::string {
      auto it = at.find(name);
      return it == at.end() ? std::string() : rec[it->second];
    };
    auto number = [&](const char *name) -> std::optional<double> {
      const std::string v = get(name);
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
        throw std::runtime_error("line " + std::to_string(li + 1) +
                                 ": column " + name + " is not a number: '" +
                                 v + "'");
      return d;
    };
    auto i64 = [&](const char *name) {
      return static_cast<int64_t>(number(name).value_or(0));
    };
    SweepRow r;
    r.task = get("task");
    r.model = get("model");
    r.architecture = get("architecture");
    r.layers = i64("layers");
    r.heads = i64("heads");
    r.n = i64("N");
    r.status = get("status");
    r.reason = get("reason");
    r.width = i64("width");
    r.codeDim = i64("code_dim");
    r.parameters = i64("parameters");
    r.precisionBits = static_cast<int>(i64("precision_bits"));
    r.sizeMeasure = get("size_measure");
    r.sizeBits = i64("size_bits");
    r.plotMeasure = get("plot_measure");
    r.plotBits = number("plot_bits").value_or(0);
    r.bound = get("bound");
    r.boundBits = number("bound_bits");
    if (!get("respects_bound").empty())
      r.respectsBound = get("respects_bound") == "true";
    r.backend = get("backend");
    r.threads = static_cast<int>(i64("threads"));
    r.samples = i64("samples");
    r.adversarial = i64("adversarial");
    r.mismatches = i64("mismatches");
    r.minMargin = number("min_margin");
    r.buildMs = number("build_ms").value_or(0);
    r.jitMs = number("jit_ms").value_or(0);
    r.evalSeconds = number("eval_seconds").value_or(0);
    r.inputsPerSecond = number("inputs_per_second").value_or(0);
    r.inputsPerSecondPerThread =
        number("inputs_per_second_per_thread").value_or(0);
    rows.push_back(std::move(r));
  }
  return rows;
}

namespace {
std::string prettyBound(std::string s) {
  for (auto [from, to] : {std::pair<std::string, std::string>{">=", "\u2265"},
                          {"log2|alphabet|", "log\u2082|\u03a3|"},
                          {"log2(", "log\u2082("}}) {
    for (size_t p = s.find(from); p != std::string::npos;
         p = s.find(from, p + to.size()))
      s.replace(p, from.size(), to);
  }
  return s;
}

std::string range(const std::vector<int64_t> &ns) {
  if (ns.empty())
    return "";
  if (ns.size() == 1)
    return "N = " + std::to_string(ns.front());
  return "N = " + std::to_string(ns.front()) + ".." + std::to_string(ns.back());
}
} // namespace

LogLogPlot sweepPlot(const std::vector<SweepRow> &rows,
                     const std::string &source) {
  LogLogPlot plot;
  std::vector<std::string> models; // in first-seen order
  std::map<std::string, std::vector<const SweepRow *>> byModel;
  std::string task;
  for (const auto &r : rows) {
    if (!byModel.count(r.model))
      models.push_back(r.model);
    byModel[r.model].push_back(&r);
    if (task.empty())
      task = r.task;
  }
  plot.title =
      (task.empty() ? std::string("sweep") : task) + ": model size against N";
  plot.subtitle = "handwire sweep " + source +
                  "  |  log-log; solid: compiled models, dashed: lower bounds "
                  "(same colour)";
  plot.xLabel = "N (task.max_length)";
  plot.yLabel = "size in bits (see legend: state, cut, or width x precision)";

  std::vector<PlotSeries> bounds;
  for (size_t mi = 0; mi < models.size(); ++mi) {
    const std::string &name = models[mi];
    std::vector<const SweepRow *> rs = byModel[name];
    std::sort(rs.begin(), rs.end(),
              [](const SweepRow *a, const SweepRow *b) { return a->n < b->n; });
    PlotSeries s, bnd;
    s.color = bnd.color = paletteColor(mi);
    bnd.dashed = true;
    bnd.markers = false;
    std::string measure, arch, boundText;
    bool hasBound = false;
    int64_t layers = 0;
    std::vector<int64_t> evaluated, wrong, refused, skipped;
    std::string refusedReason;
    for (const SweepRow *r : rs) {
      arch = r->architecture;
      layers = r->layers;
      if (!r->built()) {
        refused.push_back(r->n);
        if (refusedReason.empty())
          refusedReason = r->reason;
        continue;
      }
      measure = r->plotMeasure;
      PlotPoint p{static_cast<double>(r->n), r->plotBits};
      if (r->mismatches > 0) {
        p.style = PlotPoint::Flagged;
        wrong.push_back(r->n);
      } else if (!r->evaluated()) {
        p.style = PlotPoint::Hollow;
        skipped.push_back(r->n);
      } else {
        evaluated.push_back(r->n);
      }
      s.points.push_back(p);
      if (r->boundBits && *r->boundBits > 0) {
        bnd.points.push_back({static_cast<double>(r->n), *r->boundBits});
        boundText = r->bound;
        hasBound = true;
      }
    }
    std::string archText = arch == "transformer"
                               ? std::to_string(layers) + "-layer Transformer"
                           : arch == "rnn" ? std::string("RNN")
                                           : arch;
    for (size_t p = measure.find(" x "); p != std::string::npos;
         p = measure.find(" x ", p + 1))
      measure.replace(p, 3, " \u00d7 ");
    s.label = name + ": " + (measure.empty() ? std::string("size") : measure);
    std::vector<std::string> parts;
    parts.push_back(archText + (hasBound || measure.empty()
                                    ? std::string()
                                    : ", no lower bound applies"));
    if (s.points.size() >= 2) {
      const PlotPoint &a = s.points.front(), &b = s.points.back();
      char growth[160];
      const double ratio = b.y / a.y;
      std::snprintf(growth, sizeof growth,
                    ratio >= 100 ? "\u00d7%.0f from N = %.0f to %.0f"
                                 : "\u00d7%.3g from N = %.0f to %.0f",
                    ratio, a.x, b.x);
      parts.push_back(growth);
    }
    if (!evaluated.empty() && wrong.empty())
      parts.push_back("exact on every evaluated input");
    if (!wrong.empty())
      parts.push_back("red rings: mismatches at " + range(wrong));
    if (!skipped.empty())
      parts.push_back("hollow: not evaluated at " + range(skipped));
    if (!refused.empty()) {
      // The reason's first clause, without the model's name.
      std::string why = refusedReason.substr(0, refusedReason.find(';'));
      const std::string self = "model '" + name + "' ";
      if (why.rfind(self, 0) == 0)
        why = why.substr(self.size());
      if (why.size() > 100)
        why = why.substr(0, 97) + "...";
      parts.push_back("refused at " + range(refused) +
                      (why.empty() ? "" : " (" + why + ")"));
    }
    std::string note;
    for (const auto &part : parts)
      note += (note.empty() ? "" : "; ") + part;
    s.note = note;
    plot.series.push_back(std::move(s));
    if (!bnd.points.empty()) {
      bnd.label = name + ": lower bound";
      bnd.note = prettyBound(boundText);
      bounds.push_back(std::move(bnd));
    }
  }
  for (auto &b : bounds)
    plot.series.push_back(std::move(b));
  plot.footnotes.push_back(
      "state bits = hidden units x precision (RNN); cut bits = heads x (value "
      "width + 1) x precision (one-layer Transformer, where a bound applies);");
  plot.footnotes.push_back("width x precision bits otherwise. Bounds: "
                           "Bhattamishra et al. (NeurIPS 2024).");
  return plot;
}

} // namespace handwire::cli
