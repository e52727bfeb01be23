#include "sweep/SweepShards.h"

#include "support/Diagnostics.h"

#include <cmath>
#include <limits>
#include <map>

namespace handwire {

namespace {
using json = nlohmann::json;

constexpr const char *kShardFormat = "handwire sweep shard";
constexpr int kShardVersion = 1;

// A double as JSON: finite numbers exactly (nlohmann writes the shortest
// text that reads back to the same double), others as "inf", "-inf", "nan".
json exactNumber(double v) {
  if (std::isfinite(v))
    return v;
  return std::isnan(v) ? "nan" : (v > 0 ? "inf" : "-inf");
}

json exactOptional(const std::optional<double> &v) {
  return v ? exactNumber(*v) : json(nullptr);
}

// The fields of one JSON object, read with errors that name `where` and
// the field.
class Fields {
public:
  Fields(const json &j, std::string where) : j_(j), where_(std::move(where)) {
    if (!j_.is_object())
      throw UserError(where_ + " is not a JSON object");
  }
  const json &at(const char *key) const {
    const auto it = j_.find(key);
    if (it == j_.end())
      throw UserError(where_ + ": no field '" + key + "'");
    return *it;
  }
  std::string text(const char *key) const {
    const json &v = at(key);
    if (!v.is_string())
      throw wrong(key, "a string");
    return v.get<std::string>();
  }
  int64_t integer(const char *key) const {
    const json &v = at(key);
    if (!v.is_number_integer())
      throw wrong(key, "an integer");
    return v.get<int64_t>();
  }
  bool flag(const char *key) const {
    const json &v = at(key);
    if (!v.is_boolean())
      throw wrong(key, "true or false");
    return v.get<bool>();
  }
  std::optional<double> optionalReal(const char *key) const {
    const json &v = at(key);
    if (v.is_null())
      return std::nullopt;
    if (v.is_number())
      return v.get<double>();
    const std::string s = v.is_string() ? v.get<std::string>() : "";
    constexpr double inf = std::numeric_limits<double>::infinity();
    if (s == "inf" || s == "-inf")
      return s == "inf" ? inf : -inf;
    if (s == "nan")
      return std::numeric_limits<double>::quiet_NaN();
    throw wrong(key, "a number");
  }
  std::optional<bool> optionalFlag(const char *key) const {
    if (at(key).is_null())
      return std::nullopt;
    return flag(key);
  }
  double real(const char *key) const {
    const std::optional<double> v = optionalReal(key);
    if (!v)
      throw wrong(key, "a number");
    return *v;
  }
  const json &array(const char *key) const {
    const json &v = at(key);
    if (!v.is_array())
      throw wrong(key, "an array");
    return v;
  }

private:
  UserError wrong(const char *key, const char *what) const {
    return UserError(where_ + ": field '" + key + "' is not " + what);
  }
  const json &j_;
  std::string where_;
};

std::string pointText(const std::string &model, int64_t n) {
  return model + " N=" + std::to_string(n);
}

// The first key whose value differs between two settings objects.
std::string firstDifference(const json &a, const json &b) {
  for (const auto &[key, value] : a.items())
    if (!b.contains(key) || b.at(key) != value)
      return "'" + key + "' (" + value.dump() + " against " +
             (b.contains(key) ? b.at(key).dump() : std::string("none")) + ")";
  for (const auto &[key, value] : b.items())
    if (!a.contains(key))
      return "'" + key + "'";
  return "";
}
} // namespace

nlohmann::json sweepSettingsJson(const SweepSettings &s) {
  return {{"overrides", s.overrides},
          {"lengths", s.lengths},
          {"models", s.models},
          {"samples", s.samples},
          {"seed", s.seed},
          {"inputs", s.inputs},
          {"memory_limit_bytes", s.memoryLimitBytes},
          {"allow_uncertified", s.allowUncertified},
          {"time_budget_seconds", s.timeBudgetSeconds},
          {"input_time_limit_seconds", s.inputTimeLimitSeconds}};
}

nlohmann::json sweepDocument(const std::string &input,
                             const nlohmann::json &settings,
                             const std::vector<SweepRow> &rows) {
  return {{"format", "handwire sweep"},
          {"input", input},
          {"settings", settings},
          {"rows", sweepRowsJson(rows)}};
}

nlohmann::json exactRowJson(const SweepRow &r) {
  return {{"task", r.task},
          {"model", r.model},
          {"architecture", r.architecture},
          {"layers", r.layers},
          {"heads", r.heads},
          {"N", r.n},
          {"status", r.status},
          {"reason", r.reason},
          {"width", r.width},
          {"code_dim", r.codeDim},
          {"parameters", r.parameters},
          {"precision_bits", r.precisionBits},
          {"size_measure", r.sizeMeasure},
          {"size_bits", r.sizeBits},
          {"plot_measure", r.plotMeasure},
          {"plot_bits", exactNumber(r.plotBits)},
          {"bound", r.bound},
          {"bound_bits", exactOptional(r.boundBits)},
          {"respects_bound",
           r.respectsBound ? json(*r.respectsBound) : json(nullptr)},
          {"backend", r.backend},
          {"threads", r.threads},
          {"samples", r.samples},
          {"adversarial", r.adversarial},
          {"mismatches", r.mismatches},
          {"min_margin", exactOptional(r.minMargin)},
          {"build_ms", exactNumber(r.buildMs)},
          {"jit_ms", exactNumber(r.jitMs)},
          {"eval_seconds", exactNumber(r.evalSeconds)},
          {"inputs_per_second", exactNumber(r.inputsPerSecond)},
          {"inputs_per_second_per_thread",
           exactNumber(r.inputsPerSecondPerThread)}};
}

SweepRow exactRowFrom(const nlohmann::json &j, const std::string &where) {
  return sweepRowFromColumns(Fields(j, where));
}

nlohmann::json sweepShardJson(const SweepSettings &settings,
                              const std::string &specText, const Shard &shard,
                              size_t points,
                              const std::vector<SweepRow> &rows) {
  json out = {{"format", kShardFormat},
              {"version", kShardVersion},
              {"shard", {{"index", shard.index}, {"count", shard.count}}},
              {"points", points},
              {"input", settings.input},
              {"spec_text", specText},
              {"settings", sweepSettingsJson(settings)},
              {"rows", json::array()}};
  const std::vector<size_t> mine = shardPoints(points, shard);
  HW_ASSERT(rows.size() == mine.size(), "a shard file holds all its points");
  for (size_t i = 0; i < rows.size(); ++i) {
    json row = exactRowJson(rows[i]);
    row["point"] = mine[i];
    out["rows"].push_back(std::move(row));
  }
  return out;
}

std::string sweepShardPath(const std::string &prefix, const Shard &shard) {
  return prefix + ".shard-" + std::to_string(shard.index) + "-of-" +
         std::to_string(shard.count) + ".json";
}

namespace {
// The point p of the canonical order, from the settings: lengths outer,
// models inner (sweepPoints).
std::string canonicalPoint(const json &settings, size_t p,
                           const std::string &where) {
  const Fields f(settings, where + ": settings");
  const json &lengths = f.array("lengths"), &models = f.array("models");
  if (models.empty() || p >= lengths.size() * models.size())
    throw UserError(where + ": corrupt: point " + std::to_string(p) +
                    " is outside the sweep's " +
                    std::to_string(lengths.size() * models.size()) + " points");
  try {
    return pointText(models.at(p % models.size()).get<std::string>(),
                     lengths.at(p / models.size()).get<int64_t>());
  } catch (const json::exception &) {
    throw UserError(where + ": corrupt: settings 'lengths' or 'models'");
  }
}

// The rows of shard file `f` are those of its points, complete.
void checkShardRows(SweepShardFile &f, const json &rows) {
  const std::vector<size_t> mine = shardPoints(f.points, f.shard);
  if (rows.size() != mine.size())
    throw UserError(f.path + ": corrupt: shard " + f.shard.text() + " of " +
                    std::to_string(f.points) + " points holds " +
                    std::to_string(rows.size()) + " rows, expected " +
                    std::to_string(mine.size()));
  for (size_t i = 0; i < rows.size(); ++i) {
    const std::string where = f.path + ": row " + std::to_string(i);
    SweepRow row = exactRowFrom(rows[i], where);
    const int64_t point = Fields(rows[i], where).integer("point");
    const std::string expected = canonicalPoint(f.settings, mine[i], f.path);
    if (point != static_cast<int64_t>(mine[i]) ||
        pointText(row.model, row.n) != expected)
      throw UserError(where + ": corrupt: it is point " +
                      std::to_string(point) + " (" +
                      pointText(row.model, row.n) + "), expected point " +
                      std::to_string(mine[i]) + " (" + expected + ")");
    if (row.status == "interrupted")
      throw UserError(f.path + ": point " + expected +
                      " was interrupted; run shard " + f.shard.text() +
                      " again");
    f.rows.push_back(std::move(row));
  }
}
} // namespace

SweepShardFile parseSweepShard(const std::string &text,
                               const std::string &path) {
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded())
    throw UserError(path + ": not a JSON document (a sweep shard file is "
                           "written by 'handwire sweep --shard I/K')");
  if (!j.is_object() || !j.contains("format") || j["format"] != kShardFormat)
    throw UserError(path + ": not a sweep shard file (no \"format\": \"" +
                    kShardFormat + "\")");
  const Fields f(j, path);
  if (f.integer("version") != kShardVersion)
    throw UserError(
        path + ": shard file version " + std::to_string(f.integer("version")) +
        "; this handwire reads version " + std::to_string(kShardVersion));
  SweepShardFile out;
  out.path = path;
  const Fields shard(f.at("shard"), path + ": shard");
  try {
    out.shard = parseShard(std::to_string(shard.integer("index")) + "/" +
                               std::to_string(shard.integer("count")),
                           "shard");
  } catch (const UserError &e) {
    throw UserError(path + ": corrupt: " + e.what());
  }
  const int64_t points = f.integer("points");
  if (points < 0)
    throw UserError(path + ": corrupt: 'points' is negative");
  out.points = static_cast<size_t>(points);
  out.input = f.text("input");
  out.specText = f.text("spec_text");
  out.settings = f.at("settings");
  Fields(out.settings, path + ": settings"); // an object
  checkShardRows(out, f.array("rows"));
  return out;
}

namespace {
// `f` comes from the same sweep as `first`: spec, settings, shard count.
void checkSameSweep(const SweepShardFile &first, const SweepShardFile &f) {
  const std::string both = f.path + " and " + first.path;
  if (f.shard.count != first.shard.count)
    throw UserError(both + " are not shards of one split: " + f.path +
                    " is shard " + f.shard.text() + ", " + first.path +
                    " is shard " + first.shard.text());
  if (f.input != first.input)
    throw UserError(both + " are shards of different sweeps: spec '" + f.input +
                    "' against '" + first.input + "'");
  if (f.specText != first.specText)
    throw UserError(both +
                    " are shards of different sweeps: the texts of "
                    "their spec '" +
                    f.input + "' differ");
  if (f.settings != first.settings)
    throw UserError(both + " are shards of sweeps with different settings: " +
                    firstDifference(f.settings, first.settings));
  if (f.points != first.points)
    throw UserError(
        both + " are shards of different sweeps: " + std::to_string(f.points) +
        " points against " + std::to_string(first.points));
}
} // namespace

MergedSweep mergeSweepShards(const std::vector<SweepShardFile> &shards) {
  if (shards.empty())
    throw UserError("merge needs the shard files of a sweep");
  const SweepShardFile &first = shards.front();
  std::map<int64_t, const SweepShardFile *> byIndex;
  for (const SweepShardFile &f : shards) {
    checkSameSweep(first, f);
    const auto [it, fresh] = byIndex.emplace(f.shard.index, &f);
    if (!fresh)
      throw UserError(f.path + " and " + it->second->path +
                      " are the same shard, " + f.shard.text());
  }
  std::string missing;
  for (int64_t i = 0; i < first.shard.count; ++i)
    if (!byIndex.count(i))
      missing +=
          (missing.empty() ? "" : ", ") + Shard{i, first.shard.count}.text();
  if (!missing.empty())
    throw UserError(
        "missing shard" +
        std::string(missing.find(',') == std::string::npos ? "" : "s") + " " +
        missing + " of the sweep of '" + first.input +
        "' (given: " + std::to_string(shards.size()) + " of " +
        std::to_string(first.shard.count) + ")");
  MergedSweep out{first.input, first.settings, {}, shards.size()};
  const size_t k = static_cast<size_t>(first.shard.count);
  for (size_t p = 0; p < first.points; ++p)
    out.rows.push_back(byIndex.at(static_cast<int64_t>(p % k))->rows[p / k]);
  return out;
}

} // namespace handwire
