// The sweep's writers: CSV quoting and round trip, the SVG plot's structure
// (well-formed, one polyline per series, dashed bounds, log-scale mapping),
// and the plot built from sweep rows.
#include "sweep/SvgPlot.h"
#include "sweep/SweepTable.h"

#include <gtest/gtest.h>

#include <cmath>
#include <regex>
#include <sstream>

using namespace handwire;

namespace {

int count(const std::string &s, const std::string &needle) {
  int n = 0;
  for (size_t p = s.find(needle); p != std::string::npos;
       p = s.find(needle, p + needle.size()))
    ++n;
  return n;
}

// A minimal well-formedness check: every element opened is closed in order
// (no attributes with '>' inside: the writer escapes them).
bool balancedTags(const std::string &xml, std::string &why) {
  std::vector<std::string> stack;
  for (size_t p = xml.find('<'); p != std::string::npos;
       p = xml.find('<', p + 1)) {
    const size_t end = xml.find('>', p);
    if (end == std::string::npos) {
      why = "unterminated tag";
      return false;
    }
    std::string tag = xml.substr(p + 1, end - p - 1);
    if (tag[0] == '?' || tag[0] == '!')
      continue;
    if (tag[0] == '/') {
      const std::string name = tag.substr(1);
      if (stack.empty() || stack.back() != name) {
        why = "</" + name + "> closes " +
              (stack.empty() ? std::string("nothing") : stack.back());
        return false;
      }
      stack.pop_back();
      continue;
    }
    if (tag.back() == '/')
      continue;
    stack.push_back(tag.substr(0, tag.find_first_of(" \n")));
  }
  if (!stack.empty()) {
    why = "<" + stack.back() + "> never closed";
    return false;
  }
  return true;
}

// The coordinates of the polyline whose class is `cls`, in order.
std::vector<std::vector<std::pair<double, double>>>
polylines(const std::string &svg, const std::string &cls) {
  std::vector<std::vector<std::pair<double, double>>> out;
  const std::regex re("<polyline class=\"" + cls +
                      "\"[^>]*points=\"([^\"]*)\"");
  for (auto it = std::sregex_iterator(svg.begin(), svg.end(), re);
       it != std::sregex_iterator(); ++it) {
    std::vector<std::pair<double, double>> pts;
    std::istringstream in((*it)[1].str());
    std::string xy;
    while (in >> xy) {
      const size_t comma = xy.find(',');
      pts.emplace_back(std::stod(xy.substr(0, comma)),
                       std::stod(xy.substr(comma + 1)));
    }
    out.push_back(pts);
  }
  return out;
}

} // namespace

TEST(Csv, QuotesOnlyWhatNeedsIt) {
  EXPECT_EQ(csvField("plain"), "plain");
  EXPECT_EQ(csvField(""), "");
  EXPECT_EQ(csvField("a,b"), "\"a,b\"");
  EXPECT_EQ(csvField("say \"hi\""), "\"say \"\"hi\"\"\"");
  EXPECT_EQ(csvField("two\nlines"), "\"two\nlines\"");
  EXPECT_EQ(csvLine({"x", "y,z", ""}), "x,\"y,z\",\n");
}

TEST(Csv, RoundTripsThroughTheParser) {
  const std::vector<std::vector<std::string>> rows = {
      {"model", "reason", "n"},
      {"rnn", "needs 1.6 GB, over --memory-limit 1G", "4096"},
      {"one_layer", "quote \" and, comma\nand newline", ""},
      {"", "", ""}};
  std::string text;
  for (const auto &r : rows)
    text += csvLine(r);
  EXPECT_EQ(parseCsv(text), rows);
  // CRLF line ends and a last line without a newline parse too.
  EXPECT_EQ(parseCsv("a,b\r\nc,\"d\"\"\""),
            (std::vector<std::vector<std::string>>{{"a", "b"}, {"c", "d\""}}));
}

namespace {
SweepRow builtRow(const std::string &model, const std::string &arch, int64_t n,
                  int64_t width, double bits, std::optional<double> bound) {
  SweepRow r;
  r.task = "index_lookup";
  r.model = model;
  r.architecture = arch;
  r.layers = 1;
  r.heads = arch == "rnn" ? 0 : 1;
  r.n = n;
  r.status = "ok";
  r.width = width;
  r.parameters = width * 10;
  r.precisionBits = 32;
  r.sizeMeasure = arch == "rnn" ? "state bits" : "cut bits";
  r.sizeBits = static_cast<int64_t>(bits);
  r.plotMeasure = arch == "rnn" ? "state bits" : "width x 32 bits";
  r.plotBits = bits;
  r.bound = bound ? "state bits >= N log2|alphabet|" : "none";
  r.boundBits = bound;
  if (bound)
    r.respectsBound = bits >= *bound;
  r.backend = "jit";
  r.threads = 2;
  r.samples = 100;
  r.adversarial = 50;
  r.minMargin = 0.75;
  r.buildMs = 1.5;
  r.jitMs = 40;
  r.evalSeconds = 0.25;
  r.inputsPerSecond = 400;
  r.inputsPerSecondPerThread = 210;
  return r;
}
} // namespace

TEST(SweepCsv, HeaderAndRecordsLineUp) {
  std::vector<SweepRow> rows;
  rows.push_back(builtRow("rnn", "rnn", 16, 112, 3584, 32));
  SweepRow refused;
  refused.task = "string_equality";
  refused.model = "one_layer";
  refused.architecture = "transformer";
  refused.layers = 1;
  refused.n = 4096;
  refused.status = "refused";
  refused.reason = "model 'one_layer' needs 1.6 GB of weights, over the "
                   "memory limit 1G";
  rows.push_back(refused);
  std::ostringstream os;
  writeSweepCsv(os, rows);
  const auto table = parseCsv(os.str());
  ASSERT_EQ(table.size(), 3u);
  const auto &h = table[0];
  for (const auto &r : table)
    EXPECT_EQ(r.size(), h.size());
  auto col = [&](const std::string &name) {
    const auto it = std::find(h.begin(), h.end(), name);
    EXPECT_NE(it, h.end()) << name;
    return static_cast<size_t>(it - h.begin());
  };
  EXPECT_EQ(table[1][col("model")], "rnn");
  EXPECT_EQ(table[1][col("N")], "16");
  EXPECT_EQ(table[1][col("width")], "112");
  EXPECT_EQ(table[1][col("plot_bits")], "3584");
  EXPECT_EQ(table[1][col("bound_bits")], "32.00");
  EXPECT_EQ(table[1][col("respects_bound")], "true");
  EXPECT_EQ(table[1][col("accuracy")], "1.000000");
  EXPECT_EQ(table[1][col("status")], "ok");
  // Wall-clock measurements are not results: they go to the timings file.
  for (const char *timing : {"threads", "compile_ms", "eval_seconds"})
    EXPECT_EQ(std::find(h.begin(), h.end(), timing), h.end()) << timing;
  // A refused point: status and reason (with its comma intact), no sizes.
  EXPECT_EQ(table[2][col("status")], "refused");
  EXPECT_EQ(table[2][col("reason")], refused.reason);
  EXPECT_EQ(table[2][col("width")], "");
  EXPECT_EQ(table[2][col("accuracy")], "");
  EXPECT_EQ(table[2][col("samples")], "0");
}

TEST(SweepCsv, ReadsBackWhatItWrites) {
  std::vector<SweepRow> rows;
  rows.push_back(builtRow("rnn", "rnn", 4096, 28672, 917504, 8192));
  rows.back().reason = "time budget: 35 of 200 inputs in 10 s";
  rows.back().mismatches = 1;
  rows.back().status = "mismatch";
  rows.push_back(builtRow("transformer", "transformer", 4096, 345, 11040, {}));
  SweepRow refused;
  refused.model = "one_layer";
  refused.n = 8192;
  refused.status = "refused";
  refused.reason = "needs 6.4 GB, over the memory limit 1G";
  rows.push_back(refused);
  std::ostringstream os;
  writeSweepCsv(os, rows);
  const std::vector<SweepRow> back = readSweepCsv(os.str());
  ASSERT_EQ(back.size(), 3u);
  EXPECT_EQ(back[0].model, "rnn");
  EXPECT_EQ(back[0].n, 4096);
  EXPECT_EQ(back[0].width, 28672);
  EXPECT_DOUBLE_EQ(back[0].plotBits, 917504);
  ASSERT_TRUE(back[0].boundBits);
  EXPECT_DOUBLE_EQ(*back[0].boundBits, 8192);
  EXPECT_EQ(back[0].mismatches, 1);
  EXPECT_EQ(back[0].reason, rows[0].reason);
  EXPECT_FALSE(back[1].boundBits);
  EXPECT_EQ(back[1].plotMeasure, "width x 32 bits");
  EXPECT_FALSE(back[2].built());
  EXPECT_EQ(back[2].reason, refused.reason);
  // The plot of the rows read back is the plot of the rows.
  EXPECT_EQ(renderSvg(sweepPlot(back, "s")), renderSvg(sweepPlot(rows, "s")));

  EXPECT_THROW(readSweepCsv(""), std::runtime_error);
  EXPECT_THROW(readSweepCsv("a,b\n1,2\n"), std::runtime_error);
  std::string bad = os.str();
  bad.replace(bad.find(",4096,"), 6, ",lots,");
  EXPECT_THROW(readSweepCsv(bad), std::runtime_error);
}

// The timings file: per (task, model, N), threads and the wall-clock
// measurements, with the same rounding in CSV and JSON; empty where the
// point was not built or not evaluated.
TEST(SweepTimings, KeyedByPoint) {
  SweepRow built = builtRow("rnn", "rnn", 16, 112, 3584, 32);
  built.inputsPerSecond = 123456.789;
  SweepRow refused;
  refused.task = "index_lookup";
  refused.model = "one_layer";
  refused.n = 4096;
  refused.status = "refused";
  std::ostringstream os;
  writeSweepTimingsCsv(os, {built, refused});
  EXPECT_EQ(os.str(),
            "task,model,N,threads,build_ms,jit_ms,compile_ms,eval_seconds,"
            "inputs_per_second,inputs_per_second_per_thread\n"
            "index_lookup,rnn,16,2,1.5,40.0,41.5,0.250,1.235e+05,210\n"
            "index_lookup,one_layer,4096,,,,,,,\n");
  const nlohmann::json j = sweepTimingsJson({built, refused});
  EXPECT_EQ(j[0]["compile_ms"].get<double>(), 41.5);
  EXPECT_EQ(j[0]["inputs_per_second"].get<double>(), 123500.0);
  EXPECT_TRUE(j[1]["compile_ms"].is_null());
  // An old CSV with the timings inline still reads them (--replot).
  const std::vector<SweepRow> back = readSweepCsv(
      "model,N,status,plot_bits,compile_ms,build_ms\nrnn,16,ok,3584,9,2.5\n");
  ASSERT_EQ(back.size(), 1u);
  EXPECT_EQ(back[0].buildMs, 2.5);
}

// The JSON rows: the CSV's keys; numbers as JSON numbers with the CSV's
// rounding, flags as booleans, empty fields (and empty text) as null.
TEST(SweepJson, SameKeysAndValuesAsTheCsv) {
  SweepRow built = builtRow("rnn", "rnn", 16, 112, 3584, 32);
  built.inputsPerSecond = 123456.789; // the CSV keeps 4 digits
  SweepRow refused;
  refused.model = "one_layer";
  refused.n = 4096;
  refused.status = "refused";
  refused.reason = "over the memory limit";
  const nlohmann::json rows = sweepRowsJson({built, refused});
  ASSERT_EQ(rows.size(), 2u);
  const std::vector<std::string> header = sweepCsvHeader();
  for (const nlohmann::json &row : rows) {
    EXPECT_EQ(row.size(), header.size());
    for (const std::string &key : header)
      EXPECT_TRUE(row.contains(key)) << key;
  }
  const nlohmann::json &b = rows[0];
  EXPECT_TRUE(b["N"].is_number_float());
  EXPECT_EQ(b["N"].get<double>(), 16.0);
  EXPECT_EQ(b["width"].get<double>(), 112.0);
  EXPECT_EQ(b["bound_bits"].get<double>(), 32.0);
  EXPECT_EQ(b["respects_bound"], true);
  EXPECT_EQ(b["accuracy"].get<double>(), 1.0);
  EXPECT_FALSE(b.contains("compile_ms"));
  EXPECT_EQ(b["status"], "ok");
  EXPECT_TRUE(b["reason"].is_null()); // empty text
  const nlohmann::json &r = rows[1];
  EXPECT_EQ(r["status"], "refused");
  EXPECT_EQ(r["reason"], refused.reason);
  EXPECT_TRUE(r["width"].is_null());
  EXPECT_TRUE(r["accuracy"].is_null());
  EXPECT_TRUE(r["respects_bound"].is_null());
  EXPECT_EQ(r["samples"].get<double>(), 0.0);
}

TEST(SweepCsv, AccuracyCountsMismatches) {
  SweepRow r = builtRow("transformer", "transformer", 64, 213, 6816, {});
  r.mismatches = 3;
  r.status = "mismatch";
  ASSERT_TRUE(r.accuracy());
  EXPECT_DOUBLE_EQ(*r.accuracy(), 0.97);
  r.samples = 0;
  EXPECT_FALSE(r.accuracy());
}

TEST(Svg, EscapesText) {
  EXPECT_EQ(xmlEscape("a<b & \"c\" > 'd'"),
            "a&lt;b &amp; &quot;c&quot; &gt; &apos;d&apos;");
  LogLogPlot p;
  p.title = "x < y & z";
  p.series.push_back({"<rnn>", "", "", false, true, {{16, 10}, {32, 20}}});
  const std::string svg = renderSvg(p);
  EXPECT_EQ(svg.find("<rnn>"), std::string::npos);
  EXPECT_NE(svg.find("&lt;rnn&gt;"), std::string::npos);
  EXPECT_NE(svg.find("x &lt; y &amp; z"), std::string::npos);
}

TEST(Svg, LogLogPlotStructure) {
  LogLogPlot p;
  p.title = "t";
  p.xLabel = "N";
  p.yLabel = "bits";
  PlotSeries lin{"linear", "", "", false, true, {}};
  PlotSeries logn{"log", "note", "", false, true, {}};
  PlotSeries bound{"bound", "", "", true, false, {}};
  for (int k = 4; k <= 16; k += 2) {
    const double n = std::ldexp(1.0, k);
    lin.points.push_back({n, 32 * n});
    logn.points.push_back({n, 32.0 * k});
    bound.points.push_back({n, 2 * n});
  }
  lin.points.push_back({-1, 5}); // dropped: not positive
  p.series = {lin, logn, bound};
  const std::string svg = renderSvg(p);

  std::string why;
  EXPECT_TRUE(balancedTags(svg, why)) << why;
  EXPECT_EQ(svg.rfind("<?xml", 0), 0u);
  EXPECT_EQ(count(svg, "<polyline"), 3);
  EXPECT_EQ(count(svg, "stroke-dasharray"), 2); // the bound and its legend
  const auto series = polylines(svg, "series");
  const auto bounds = polylines(svg, "bound");
  ASSERT_EQ(series.size(), 2u);
  ASSERT_EQ(bounds.size(), 1u);
  ASSERT_EQ(series[0].size(), 7u);
  // Markers: one dot per point of the two solid series, plus two in the
  // legend (the bound has none).
  EXPECT_EQ(count(svg, "<circle"), 7 + 7 + 2);

  // Log-log: equal ratios of x give equal steps in pixels; a linear series
  // climbs by equal steps, parallel to the linear bound (same slope).
  const auto &a = series[0];
  const double dx = a[1].first - a[0].first;
  const double dy = a[1].second - a[0].second;
  EXPECT_LT(dy, 0); // up the page
  for (size_t i = 1; i < a.size(); ++i) {
    EXPECT_NEAR(a[i].first - a[i - 1].first, dx, 0.15);
    EXPECT_NEAR(a[i].second - a[i - 1].second, dy, 0.15);
    EXPECT_NEAR(bounds[0][i].second - bounds[0][i - 1].second, dy, 0.15);
  }
  // The log series climbs less and less.
  const auto &b = series[1];
  EXPECT_GT(-(b[1].second - b[0].second), -(b[6].second - b[5].second));
  // Axis labels and tick labels: x at powers of two, y at decades.
  EXPECT_NE(svg.find(">N</text>"), std::string::npos);
  EXPECT_NE(svg.find(">bits</text>"), std::string::npos);
  EXPECT_NE(svg.find("2<tspan dy=\"-7\" font-size=\"10\">16</tspan>"),
            std::string::npos);
  EXPECT_NE(svg.find("10<tspan dy=\"-7\" font-size=\"10\">6</tspan>"),
            std::string::npos);
  EXPECT_NE(svg.find(">note</text>"), std::string::npos);
}

TEST(Svg, EmptyAndConstantSeriesDoNotBreak) {
  LogLogPlot empty;
  empty.title = "nothing";
  std::string why;
  const std::string a = renderSvg(empty);
  EXPECT_TRUE(balancedTags(a, why)) << why;
  EXPECT_NE(a.find("no data"), std::string::npos);

  LogLogPlot flat;
  flat.series.push_back({"one point", "", "", false, true, {{1024, 1152}}});
  const std::string b = renderSvg(flat);
  EXPECT_TRUE(balancedTags(b, why)) << why;
  EXPECT_EQ(b.find("nan"), std::string::npos);
  EXPECT_EQ(b.find("inf"), std::string::npos);
}

TEST(SweepPlot, OneLinePerModelAndDashedBounds) {
  std::vector<SweepRow> rows;
  for (int k = 4; k <= 8; ++k) {
    const int64_t n = int64_t(1) << k;
    rows.push_back(builtRow("transformer", "transformer", n, 150 + 11 * k,
                            32.0 * (150 + 11 * k), {}));
    rows.push_back(
        builtRow("rnn", "rnn", n, 7 * n, 32.0 * 7 * n, 2.0 * double(n)));
  }
  rows.back().mismatches = 2; // rnn at N = 256
  SweepRow refused = rows.front();
  refused.model = "big";
  refused.status = "refused";
  refused.reason = "over the memory limit";
  refused.width = 0;
  rows.push_back(refused);

  const LogLogPlot plot = sweepPlot(rows, "specs/index_lookup.task");
  EXPECT_NE(plot.title.find("index_lookup"), std::string::npos);
  ASSERT_EQ(plot.series.size(), 4u); // transformer, rnn, big, rnn bound
  EXPECT_EQ(plot.series[0].label, "transformer: width \u00d7 32 bits");
  EXPECT_EQ(plot.series[1].label, "rnn: state bits");
  EXPECT_TRUE(plot.series[3].dashed);
  EXPECT_EQ(plot.series[3].color, plot.series[1].color);
  EXPECT_EQ(plot.series[3].label, "rnn: lower bound");
  EXPECT_EQ(plot.series[3].note, "state bits \u2265 N log\u2082|\u03a3|");
  // Growth over the sweep, 16x in N: the RNN's state grows 16x.
  EXPECT_NE(plot.series[1].note.find("\u00d716 from N = 16 to 256"),
            std::string::npos);
  EXPECT_EQ(plot.series[1].points.back().style, PlotPoint::Flagged);
  EXPECT_NE(plot.series[1].note.find("mismatches at N = 256"),
            std::string::npos);
  EXPECT_NE(plot.series[0].note.find("no lower bound applies"),
            std::string::npos);
  EXPECT_TRUE(plot.series[2].points.empty());
  EXPECT_NE(plot.series[2].note.find("refused at N = 16"), std::string::npos);

  const std::string svg = renderSvg(plot);
  std::string why;
  EXPECT_TRUE(balancedTags(svg, why)) << why;
  EXPECT_EQ(polylines(svg, "series").size(), 2u); // "big" has no point
  EXPECT_EQ(polylines(svg, "bound").size(), 1u);
  EXPECT_EQ(count(svg, "stroke=\"#d00000\""), 1); // the flagged point
}
