// The files a sweep (or a merge of sweep shards) writes: the results CSV,
// the results JSON, the timings CSV, the SVG plot and, on request, a PNG
// of it; all or none.
#pragma once

#include "sweep/SweepTable.h"

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace handwire {

struct SweepOutputPaths {
  std::string csv, json, timings, svg, png; // empty: not written
};

// PREFIX.csv, PREFIX.json, PREFIX.timings.csv and PREFIX.svg; `csv` and
// `svg` (if not empty) replace one path; the JSON and the timings go next
// to the CSV (its path without ".csv", plus ".json" / ".timings.csv").
SweepOutputPaths sweepOutputPaths(const std::string &prefix,
                                  const std::string &csv,
                                  const std::string &svg,
                                  const std::string &png);

// Throws UserError ("cannot write 'PATH' ...") if one of the paths cannot
// be written: checked before the work starts.
void checkWritable(const std::vector<std::string> &paths);
void checkSweepOutputs(const SweepOutputPaths &out);

// Writes every non-empty path of `out`: the rows as CSV, `document` as
// JSON, the rows' timings, the plot of the rows (`source` names the spec in
// its subtitle), the PNG (rendered by rsvg-convert, Debian librsvg2-bin).
// Each file is staged in its directory and renamed into place once all are
// written; throws UserError (naming the path asked for) if one fails, and
// then leaves none of them.
void writeSweepOutputs(const SweepOutputPaths &out,
                       const std::vector<SweepRow> &rows,
                       const nlohmann::json &document,
                       const std::string &source);

// Writes `document` (jsonText) to `path`, staged and renamed into place;
// throws UserError if it cannot.
void writeJsonFile(const std::string &path, const nlohmann::json &document);

// The text of a JSON document as handwire writes it: 2-space indent, one
// trailing newline.
std::string jsonText(const nlohmann::json &document);

} // namespace handwire
