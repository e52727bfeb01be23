#include "sweep/SvgPlot.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <sstream>

namespace handwire {

std::string paletteColor(size_t i) {
  // Okabe-Ito, without the yellow (too pale on white) and black.
  static const char *colors[] = {"#0072B2", "#D55E00", "#009E73", "#CC79A7",
                                 "#E69F00", "#56B4E9", "#000000"};
  return colors[i % (sizeof colors / sizeof *colors)];
}

std::string xmlEscape(const std::string &s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
    case '&':
      out += "&amp;";
      break;
    case '<':
      out += "&lt;";
      break;
    case '>':
      out += "&gt;";
      break;
    case '"':
      out += "&quot;";
      break;
    case '\'':
      out += "&apos;";
      break;
    default:
      out += c;
    }
  }
  return out;
}

namespace {

std::string num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", v);
  return buf;
}

// "base^k" with a superscript exponent, as SVG text content.
std::string powerLabel(int base, int k) {
  if (base == 10 && k >= 0 && k <= 3) {
    int v = 1;
    for (int i = 0; i < k; ++i)
      v *= 10;
    return std::to_string(v);
  }
  return std::to_string(base) + "<tspan dy=\"-7\" font-size=\"10\">" +
         std::to_string(k) + "</tspan>";
}

// Splits text into lines of at most `width` characters at spaces (a longer
// word gets a line of its own).
std::vector<std::string> wrapWords(const std::string &text, size_t width) {
  std::vector<std::string> lines;
  std::string line, word;
  std::istringstream in(text);
  while (in >> word) {
    if (!line.empty() && line.size() + 1 + word.size() > width) {
      lines.push_back(line);
      line.clear();
    }
    line += (line.empty() ? "" : " ") + word;
  }
  if (!line.empty())
    lines.push_back(line);
  return lines;
}

struct Axis {
  double lo = 0, hi = 1;   // in log units
  double from = 0, to = 1; // pixels
  double map(double logv) const {
    return from + (logv - lo) / (hi - lo) * (to - from);
  }
};

// Where things go: the plot area in pixels and the two log axes.
struct Frame {
  double px0 = 0, px1 = 0, py0 = 0, py1 = 0;
  double xBase = 2;
  Axis ax, ay;
  bool empty = false; // no positive point: placeholder ranges

  double logx(double x) const { return std::log(x) / std::log(xBase); }
  double x(double v) const { return ax.map(logx(v)); }
  double y(double v) const { return ay.map(std::log10(v)); }
};

bool drawable(const PlotPoint &p) {
  return p.x > 0 && p.y > 0 && std::isfinite(p.x) && std::isfinite(p.y);
}

// The axes: whole powers around the data, padded so that no point sits on
// the frame.
void fitAxes(const LogLogPlot &plot, Frame &f) {
  double xmin = std::numeric_limits<double>::infinity(), xmax = -xmin,
         ymin = xmin, ymax = -xmin;
  for (const auto &s : plot.series)
    for (const auto &p : s.points)
      if (drawable(p)) {
        xmin = std::min(xmin, p.x);
        xmax = std::max(xmax, p.x);
        ymin = std::min(ymin, p.y);
        ymax = std::max(ymax, p.y);
      }
  f.empty = !std::isfinite(xmin);
  if (f.empty) {
    xmin = 1;
    xmax = 2;
    ymin = 1;
    ymax = 10;
  }
  Axis &ax = f.ax, &ay = f.ay;
  ax.lo = std::floor(f.logx(xmin) + 1e-9);
  ax.hi = std::ceil(f.logx(xmax) - 1e-9);
  if (ax.hi <= ax.lo)
    ax.hi = ax.lo + 1;
  const double xpad = 0.03 * (ax.hi - ax.lo) + 0.15;
  ax.lo -= xpad;
  ax.hi += xpad;
  ax.from = f.px0;
  ax.to = f.px1;
  ay.lo = std::floor(std::log10(ymin) + 1e-9);
  ay.hi = std::ceil(std::log10(ymax) - 1e-9);
  if (ay.hi <= ay.lo)
    ay.hi = ay.lo + 1;
  // A point exactly on a decade would sit on the frame: leave some room.
  if (std::log10(ymax) > ay.hi - 0.1)
    ay.hi += 0.15;
  if (std::log10(ymin) < ay.lo + 0.1)
    ay.lo -= 0.15;
  ay.from = f.py1;
  ay.to = f.py0;
}

Frame frameFor(const LogLogPlot &plot) {
  const double legendW = 340;
  Frame f;
  f.px0 = 84;
  f.py0 = plot.subtitle.empty() ? 56 : 74;
  f.px1 = plot.width - legendW - 20;
  f.py1 = plot.height - 64 - 16.0 * static_cast<double>(plot.footnotes.size());
  f.xBase = plot.xPowersOfTwo ? 2.0 : 10.0;
  fitAxes(plot, f);
  return f;
}

void writeHead(std::ostream &o, const LogLogPlot &plot, const Frame &f) {
  o << "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
    << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << plot.width
    << "\" height=\"" << plot.height << "\" viewBox=\"0 0 " << plot.width << " "
    << plot.height
    << "\" font-family=\"Helvetica, Arial, sans-serif\" font-size=\"12\">\n";
  o << "<title>" << xmlEscape(plot.title) << "</title>\n";
  o << "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  o << "<defs><clipPath id=\"plot-area\"><rect x=\"" << num(f.px0) << "\" y=\""
    << num(f.py0) << "\" width=\"" << num(f.px1 - f.px0) << "\" height=\""
    << num(f.py1 - f.py0) << "\"/></clipPath></defs>\n";
  // Title and subtitle.
  o << "<text x=\"" << num(f.px0) << "\" y=\"26\" font-size=\"18\" "
    << "font-weight=\"bold\">" << xmlEscape(plot.title) << "</text>\n";
  if (!plot.subtitle.empty())
    o << "<text x=\"" << num(f.px0) << "\" y=\"48\" font-size=\"12\" "
      << "fill=\"#555\">" << xmlEscape(plot.subtitle) << "</text>\n";
}

void writeHorizontalLine(std::ostream &o, const Frame &f, double y,
                         const char *stroke) {
  o << "<line x1=\"" << num(f.px0) << "\" x2=\"" << num(f.px1) << "\" y1=\""
    << num(y) << "\" y2=\"" << num(y) << "\" stroke=\"" << stroke << "\"/>\n";
}

// Decades of y: a line and a label each (every other one past 9 decades),
// with lines at 2..9 times each while there are at most 7.
void writeYGrid(std::ostream &o, const Frame &f) {
  const Axis &ay = f.ay;
  const int ydecades = static_cast<int>(std::ceil(ay.hi) - std::floor(ay.lo));
  const int yLabelStep = ydecades > 9 ? 2 : 1;
  for (int k = static_cast<int>(std::floor(ay.lo));
       k <= static_cast<int>(std::ceil(ay.hi)); ++k) {
    if (ydecades <= 7)
      for (int m = 2; m <= 9; ++m) {
        const double lv = k + std::log10(m);
        if (lv >= ay.lo && lv <= ay.hi)
          writeHorizontalLine(o, f, ay.map(lv), "#f0f0f0");
      }
    if (k < ay.lo - 1e-9 || k > ay.hi + 1e-9)
      continue;
    const double y = ay.map(k);
    writeHorizontalLine(o, f, y, "#d8d8d8");
    if ((k - static_cast<int>(std::floor(ay.lo))) % yLabelStep == 0)
      o << "<text x=\"" << num(f.px0 - 8) << "\" y=\"" << num(y + 4)
        << "\" text-anchor=\"end\" stroke=\"none\">" << powerLabel(10, k)
        << "</text>\n";
  }
}

void writeXGrid(std::ostream &o, const LogLogPlot &plot, const Frame &f) {
  const Axis &ax = f.ax;
  const int xticks = static_cast<int>(std::ceil(ax.hi) - std::floor(ax.lo));
  const int xLabelStep = xticks > 16 ? 2 : 1;
  for (int k = static_cast<int>(std::ceil(ax.lo));
       k <= static_cast<int>(std::floor(ax.hi)); ++k) {
    const double x = ax.map(k);
    o << "<line x1=\"" << num(x) << "\" x2=\"" << num(x) << "\" y1=\""
      << num(f.py0) << "\" y2=\"" << num(f.py1) << "\" stroke=\"#e4e4e4\"/>\n";
    if (k % xLabelStep == 0)
      o << "<text x=\"" << num(x) << "\" y=\"" << num(f.py1 + 20)
        << "\" text-anchor=\"middle\" stroke=\"none\">"
        << powerLabel(plot.xPowersOfTwo ? 2 : 10, k) << "</text>\n";
  }
}

void writeAxes(std::ostream &o, const LogLogPlot &plot, const Frame &f) {
  o << "<g class=\"grid\" stroke-width=\"1\">\n";
  writeYGrid(o, f);
  writeXGrid(o, plot, f);
  o << "</g>\n";
  o << "<rect x=\"" << num(f.px0) << "\" y=\"" << num(f.py0) << "\" width=\""
    << num(f.px1 - f.px0) << "\" height=\"" << num(f.py1 - f.py0)
    << "\" fill=\"none\" stroke=\"#333\"/>\n";
  // Axis labels.
  o << "<text x=\"" << num((f.px0 + f.px1) / 2) << "\" y=\"" << num(f.py1 + 44)
    << "\" text-anchor=\"middle\" font-size=\"13\">" << xmlEscape(plot.xLabel)
    << "</text>\n";
  o << "<text transform=\"translate(20 " << num((f.py0 + f.py1) / 2)
    << ") rotate(-90)\" text-anchor=\"middle\" font-size=\"13\">"
    << xmlEscape(plot.yLabel) << "</text>\n";
}

std::string colorOf(const LogLogPlot &plot, size_t i) {
  return plot.series[i].color.empty() ? paletteColor(i) : plot.series[i].color;
}

void writeMarker(std::ostream &o, const Frame &f, const PlotPoint &p,
                 const std::string &color) {
  const std::string cx = num(f.x(p.x)), cy = num(f.y(p.y));
  if (p.style == PlotPoint::Flagged)
    o << "<circle cx=\"" << cx << "\" cy=\"" << cy
      << "\" r=\"6\" stroke=\"#d00000\" stroke-width=\"2.5\" "
         "fill=\"white\"/>\n";
  else if (p.style == PlotPoint::Hollow)
    o << "<circle cx=\"" << cx << "\" cy=\"" << cy << "\" r=\"4\" stroke=\""
      << color << "\" stroke-width=\"1.8\" fill=\"white\"/>\n";
  else
    o << "<circle cx=\"" << cx << "\" cy=\"" << cy << "\" r=\"3.6\" fill=\""
      << color << "\" stroke=\"white\" stroke-width=\"0.8\"/>\n";
}

// One series: its polyline over the drawable points, by x, and its markers.
void writeSeries(std::ostream &o, const Frame &f, const PlotSeries &s,
                 const std::string &color) {
  std::vector<PlotPoint> pts;
  for (const auto &p : s.points)
    if (drawable(p))
      pts.push_back(p);
  std::stable_sort(
      pts.begin(), pts.end(),
      [](const PlotPoint &a, const PlotPoint &b) { return a.x < b.x; });
  if (pts.empty())
    return;
  o << "<polyline class=\"" << (s.dashed ? "bound" : "series") << "\" stroke=\""
    << color << "\" stroke-width=\"" << (s.dashed ? "1.8" : "2.4") << "\"";
  if (s.dashed)
    o << " stroke-dasharray=\"7 5\"";
  o << " points=\"";
  for (size_t j = 0; j < pts.size(); ++j)
    o << (j ? " " : "") << num(f.x(pts[j].x)) << "," << num(f.y(pts[j].y));
  o << "\"><title>" << xmlEscape(s.label) << "</title></polyline>\n";
  if (s.markers)
    for (const auto &p : pts)
      writeMarker(o, f, p, color);
}

void writeAllSeries(std::ostream &o, const LogLogPlot &plot, const Frame &f) {
  // Bounds (dashed) first, so that model lines are drawn over them.
  std::vector<size_t> order;
  for (size_t i = 0; i < plot.series.size(); ++i)
    if (plot.series[i].dashed)
      order.push_back(i);
  for (size_t i = 0; i < plot.series.size(); ++i)
    if (!plot.series[i].dashed)
      order.push_back(i);
  o << "<g clip-path=\"url(#plot-area)\" fill=\"none\">\n";
  for (size_t i : order)
    writeSeries(o, f, plot.series[i], colorOf(plot, i));
  o << "</g>\n";
  if (f.empty)
    o << "<text x=\"" << num((f.px0 + f.px1) / 2) << "\" y=\""
      << num((f.py0 + f.py1) / 2)
      << "\" text-anchor=\"middle\" fill=\"#888\">no data</text>\n";
}

// The legend, right of the plot: a sample line, the label, the note wrapped.
void writeLegend(std::ostream &o, const LogLogPlot &plot, const Frame &f) {
  const double lx = f.px1 + 24;
  double ly = f.py0 + 6;
  o << "<g class=\"legend\">\n";
  for (size_t i = 0; i < plot.series.size(); ++i) {
    const PlotSeries &s = plot.series[i];
    const std::string color = colorOf(plot, i);
    o << "<line x1=\"" << num(lx) << "\" x2=\"" << num(lx + 30) << "\" y1=\""
      << num(ly) << "\" y2=\"" << num(ly) << "\" stroke=\"" << color
      << "\" stroke-width=\"" << (s.dashed ? "1.8" : "2.4") << "\""
      << (s.dashed ? " stroke-dasharray=\"7 5\"" : "") << "/>\n";
    if (s.markers)
      o << "<circle cx=\"" << num(lx + 15) << "\" cy=\"" << num(ly)
        << "\" r=\"3.6\" fill=\"" << color << "\"/>\n";
    o << "<text x=\"" << num(lx + 38) << "\" y=\"" << num(ly + 4) << "\">"
      << xmlEscape(s.label) << "</text>\n";
    ly += 18;
    for (const std::string &line : wrapWords(s.note, 50)) {
      o << "<text x=\"" << num(lx + 38) << "\" y=\"" << num(ly + 1)
        << "\" font-size=\"10.5\" fill=\"#666\">" << xmlEscape(line)
        << "</text>\n";
      ly += 14;
    }
    ly += 6;
  }
  o << "</g>\n";
}

void writeFootnotes(std::ostream &o, const LogLogPlot &plot, const Frame &f) {
  double fy =
      plot.height - 16.0 * static_cast<double>(plot.footnotes.size()) - 6;
  for (const auto &note : plot.footnotes) {
    o << "<text x=\"" << num(f.px0) << "\" y=\"" << num(fy)
      << "\" font-size=\"10.5\" fill=\"#666\">" << xmlEscape(note)
      << "</text>\n";
    fy += 16;
  }
}

} // namespace

std::string renderSvg(const LogLogPlot &plot) {
  const Frame f = frameFor(plot);
  std::ostringstream o;
  writeHead(o, plot, f);
  writeAxes(o, plot, f);
  writeAllSeries(o, plot, f);
  writeLegend(o, plot, f);
  writeFootnotes(o, plot, f);
  o << "</svg>\n";
  return o.str();
}

} // namespace handwire
