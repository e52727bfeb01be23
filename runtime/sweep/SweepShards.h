// Sweeps split across processes or machines: `sweep --shard I/K` runs every
// K-th point of the sweep's canonical point order (every model at every
// length, length by length) and writes a shard file; `merge` checks that
// its shard files are the K shards of one sweep (same spec text, same
// settings, each shard once, each complete, not corrupt) and joins them
// into the rows of the unsharded sweep, which the usual writers turn into
// the same CSV, JSON and plot, byte for byte (docs/sweep.md).
#pragma once

#include "eval/Shard.h"
#include "sweep/SweepTable.h"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace handwire {

// Everything that decides a sweep's rows, resolved (the spec's seed and
// input distribution where the command line gave none). Threads and
// parallelism are not here: they change timings, not rows.
struct SweepSettings {
  std::string input; // the spec's path as given (it titles the plot)
  std::vector<std::string> overrides;
  std::vector<int64_t> lengths;    // sorted
  std::vector<std::string> models; // selected, in the spec's order
  int64_t samples = 0;
  uint64_t seed = 0;
  std::string inputs; // uniform | adversarial | mixed
  int64_t memoryLimitBytes = 0;
  bool allowUncertified = false;
  double timeBudgetSeconds = 0, inputTimeLimitSeconds = 0;
};

nlohmann::json sweepSettingsJson(const SweepSettings &s);

// The sweep's JSON document (PREFIX.json): format, input, settings, and the
// rows as sweepRowsJson writes them.
nlohmann::json sweepDocument(const std::string &input,
                             const nlohmann::json &settings,
                             const std::vector<SweepRow> &rows);

// A row with every field, doubles exact (they round-trip through JSON), so
// that a merge rebuilds the very rows the unsharded sweep had; and back.
nlohmann::json exactRowJson(const SweepRow &row);
// Throws UserError naming `where` and the field.
SweepRow exactRowFrom(const nlohmann::json &j, const std::string &where);

// The shard file of shard `shard` of a sweep of `points` points: the spec's
// text (a merge refuses shards of different specs), the settings, and the
// rows of the points shardPoints() gives it, in order.
nlohmann::json sweepShardJson(const SweepSettings &settings,
                              const std::string &specText, const Shard &shard,
                              size_t points, const std::vector<SweepRow> &rows);

// PREFIX.shard-I-of-K.json
std::string sweepShardPath(const std::string &prefix, const Shard &shard);

struct SweepShardFile {
  std::string path;
  Shard shard;
  size_t points = 0; // of the whole sweep
  std::string input, specText;
  nlohmann::json settings;
  std::vector<SweepRow> rows; // of shardPoints(points, shard), in order
};

// Parses a shard file's text; throws UserError naming `path` if it is not
// one, or is corrupt (a missing or mistyped field, rows that are not its
// points, an interrupted point).
SweepShardFile parseSweepShard(const std::string &text,
                               const std::string &path);
// The largest shard file `merge` reads (sweep shards and eval outputs).
inline constexpr int64_t kMaxShardFileBytes = int64_t(256) << 20;

struct MergedSweep {
  std::string input;
  nlohmann::json settings;
  std::vector<SweepRow> rows; // every point, in canonical order
  size_t shards = 0;
  nlohmann::json document() const {
    return sweepDocument(input, settings, rows);
  }
};

// Joins the K shards of one sweep; throws UserError naming the file(s) if
// they differ in spec or settings, if a shard is given twice or missing.
MergedSweep mergeSweepShards(const std::vector<SweepShardFile> &shards);

} // namespace handwire
