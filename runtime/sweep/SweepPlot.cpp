// The plot of a sweep: one series per model and one per lower bound.
#include "sweep/SweepTable.h"

#include <algorithm>
#include <cstdio>
#include <map>

namespace handwire {

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

// One model's rows, sorted by N, gathered for its line and its bound.
struct ModelLines {
  PlotSeries line, bound;
  std::string measure, arch, boundText, refusedReason;
  int64_t layers = 0;
  std::vector<int64_t> evaluated, wrong, refused, skipped;
};

ModelLines gatherLines(const std::vector<const SweepRow *> &rows,
                       size_t index) {
  ModelLines m;
  m.line.color = m.bound.color = paletteColor(index);
  m.bound.dashed = true;
  m.bound.markers = false;
  for (const SweepRow *r : rows) {
    m.arch = r->architecture;
    m.layers = r->layers;
    if (!r->built()) {
      m.refused.push_back(r->n);
      if (m.refusedReason.empty())
        m.refusedReason = r->reason;
      continue;
    }
    m.measure = r->plotMeasure;
    PlotPoint p{static_cast<double>(r->n), r->plotBits};
    if (r->mismatches > 0) {
      p.style = PlotPoint::Flagged;
      m.wrong.push_back(r->n);
    } else if (!r->evaluated()) {
      p.style = PlotPoint::Hollow;
      m.skipped.push_back(r->n);
    } else {
      m.evaluated.push_back(r->n);
    }
    m.line.points.push_back(p);
    if (r->boundBits && *r->boundBits > 0) {
      m.bound.points.push_back({static_cast<double>(r->n), *r->boundBits});
      m.boundText = r->bound;
    }
  }
  for (size_t p = m.measure.find(" x "); p != std::string::npos;
       p = m.measure.find(" x ", p + 1))
    m.measure.replace(p, 3, " \u00d7 ");
  return m;
}

// "x12 from N = 16 to 256": how much the line grows.
std::string growthText(const PlotSeries &s) {
  const PlotPoint &a = s.points.front(), &b = s.points.back();
  char growth[160];
  const double ratio = b.y / a.y;
  std::snprintf(growth, sizeof growth,
                ratio >= 100 ? "\u00d7%.0f from N = %.0f to %.0f"
                             : "\u00d7%.3g from N = %.0f to %.0f",
                ratio, a.x, b.x);
  return growth;
}

// The first clause of why a model was refused, without the model's name.
std::string refusalText(const std::string &reason, const std::string &name) {
  std::string why = reason.substr(0, reason.find(';'));
  const std::string self = "model '" + name + "' ";
  if (why.rfind(self, 0) == 0)
    why = why.substr(self.size());
  if (why.size() > 100)
    why = why.substr(0, 97) + "...";
  return why;
}

// The legend's second line for a model: architecture, growth, and which
// points were wrong, not evaluated or refused.
std::string legendNote(const ModelLines &m, const std::string &name) {
  const std::string archText =
      m.arch == "transformer" ? std::to_string(m.layers) + "-layer Transformer"
      : m.arch == "rnn"       ? std::string("RNN")
                              : m.arch;
  const bool hasBound = !m.bound.points.empty();
  std::vector<std::string> parts;
  parts.push_back(archText + (hasBound || m.measure.empty()
                                  ? std::string()
                                  : ", no lower bound applies"));
  if (m.line.points.size() >= 2)
    parts.push_back(growthText(m.line));
  if (!m.evaluated.empty() && m.wrong.empty())
    parts.push_back("exact on every evaluated input");
  if (!m.wrong.empty())
    parts.push_back("red rings: mismatches at " + range(m.wrong));
  if (!m.skipped.empty())
    parts.push_back("hollow: not evaluated at " + range(m.skipped));
  if (!m.refused.empty()) {
    const std::string why = refusalText(m.refusedReason, name);
    parts.push_back("refused at " + range(m.refused) +
                    (why.empty() ? "" : " (" + why + ")"));
  }
  std::string note;
  for (const auto &part : parts)
    note += (note.empty() ? "" : "; ") + part;
  return note;
}

void setTitles(LogLogPlot &plot, const std::string &task,
               const std::string &source) {
  plot.title =
      (task.empty() ? std::string("sweep") : task) + ": model size against N";
  plot.subtitle = "handwire sweep " + source +
                  "  |  log-log; solid: compiled models, dashed: lower bounds "
                  "(same colour)";
  plot.xLabel = "N (task.max_length)";
  plot.yLabel = "size in bits (see legend: state, cut, or width x precision)";
  plot.footnotes.push_back(
      "state bits = hidden units x precision (RNN); cut bits = heads x (value "
      "width + 1) x precision (one-layer Transformer, where a bound applies);");
  plot.footnotes.push_back("width x precision bits otherwise. Bounds: "
                           "Bhattamishra et al. (NeurIPS 2024).");
}
} // namespace

LogLogPlot sweepPlot(const std::vector<SweepRow> &rows,
                     const std::string &source) {
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
  LogLogPlot plot;
  setTitles(plot, task, source);
  std::vector<PlotSeries> bounds; // after every model's line
  for (size_t mi = 0; mi < models.size(); ++mi) {
    const std::string &name = models[mi];
    std::vector<const SweepRow *> rs = byModel[name];
    std::sort(rs.begin(), rs.end(),
              [](const SweepRow *a, const SweepRow *b) { return a->n < b->n; });
    ModelLines m = gatherLines(rs, mi);
    m.line.label =
        name + ": " + (m.measure.empty() ? std::string("size") : m.measure);
    m.line.note = legendNote(m, name);
    plot.series.push_back(std::move(m.line));
    if (!m.bound.points.empty()) {
      m.bound.label = name + ": lower bound";
      m.bound.note = prettyBound(m.boundText);
      bounds.push_back(std::move(m.bound));
    }
  }
  for (auto &b : bounds)
    plot.series.push_back(std::move(b));
  return plot;
}

} // namespace handwire
