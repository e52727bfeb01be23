// A small log-log line plot rendered as standalone SVG (no dependency).
//
// Why hand-written: Debian has no well-kept C++ plotting library (the
// candidates are unmaintained, pull in Qt or gnuplot at run time, or emit
// PNG only), and what `handwire sweep` needs is small: log axes with
// decade / power-of-two ticks, polylines with markers, dashed bound lines, a
// legend and a title. About 300 lines of code that a unit test can check.
#pragma once

#include <string>
#include <vector>

namespace handwire {

struct PlotPoint {
  double x = 0, y = 0;
  // How the marker is drawn: a filled dot; Flagged: a red ring (e.g. a point
  // with mismatches); Hollow: an open dot (e.g. compiled but not evaluated).
  enum Style { Normal, Flagged, Hollow } style = Normal;
};

struct PlotSeries {
  std::string label;
  std::string note;  // second, smaller legend line (may be empty)
  std::string color; // CSS colour; empty: from the palette, by series index
  bool dashed = false;
  bool markers = true;
  std::vector<PlotPoint> points; // x, y > 0; non-positive points are dropped
};

struct LogLogPlot {
  std::string title, subtitle, xLabel, yLabel;
  std::vector<PlotSeries> series;
  bool xPowersOfTwo = true; // x ticks at 2^k (else at 10^k)
  int width = 1000, height = 560;
  std::vector<std::string> footnotes; // small lines under the plot
};

// The colour of series i in the default palette (Okabe-Ito, colour-blind
// safe).
std::string paletteColor(size_t i);

// A complete, standalone SVG document (UTF-8, with an XML declaration).
// Series with no positive point are listed in the legend only.
std::string renderSvg(const LogLogPlot &plot);

// Escapes & < > " ' for XML text and attribute values.
std::string xmlEscape(const std::string &s);

} // namespace handwire
