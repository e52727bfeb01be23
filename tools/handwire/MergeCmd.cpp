// handwire merge: join the shard files of a sweep (sweep --shard I/K) into
// the CSV, JSON, timings and SVG plot of the unsharded sweep, or the --json
// outputs of `eval --shard I/K` into the unsharded eval's JSON. The checks and
// the joins are in runtime/sweep/SweepShards and runtime/eval/EvalShards;
// this file parses options and prints.
#include "Commands.h"

#include "eval/EvalShards.h"
#include "support/Diagnostics.h"
#include "support/FileIO.h"
#include "sweep/SweepOutputs.h"
#include "sweep/SweepShards.h"

#include <filesystem>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <utility>

namespace handwire::cli {

namespace {
struct MergeOptions {
  std::vector<std::string> shardFiles;
  std::string prefix, csv, svg, png;
  bool json = false;
};

void printSummary(const MergedSweep &m, const SweepOutputPaths &out,
                  int64_t mismatches) {
  std::cout << "merged " << m.shards << " shard" << (m.shards == 1 ? "" : "s")
            << " (" << m.rows.size() << " points) of the sweep of " << m.input
            << ": wrote " << out.csv << ", " << out.json << ", " << out.timings
            << ", " << out.svg << (out.png.empty() ? "" : ", " + out.png)
            << "\n";
  if (mismatches)
    std::cout << "MISMATCHES FOUND (" << mismatches << ")\n";
}

// The shard files, each read once: eval shard outputs (eval --shard I/K
// --json) or sweep shard files; mixing them is an error.
struct ShardFiles {
  std::vector<EvalShardOutput> evals;
  std::vector<SweepShardFile> sweeps;
};

ShardFiles readShardFiles(const std::vector<std::string> &files) {
  ShardFiles in;
  std::vector<std::pair<std::string, std::string>> others; // path, text
  for (const std::string &path : files) {
    std::string text =
        readRegularFile(path, kMaxShardFileBytes, "a sweep or eval shard file");
    nlohmann::json doc = nlohmann::json::parse(text, nullptr, false);
    if (isEvalShardOutput(doc))
      in.evals.push_back({path, std::move(doc)});
    else
      others.emplace_back(path, std::move(text));
  }
  if (!in.evals.empty() && !others.empty())
    throw UserError(others.front().first +
                    " is not an eval shard output, but " +
                    in.evals.front().path +
                    " is: merge joins the shards of one sweep or of one eval");
  for (const auto &[path, text] : others)
    in.sweeps.push_back(parseSweepShard(text, path));
  return in;
}

// The unsharded eval's JSON on stdout; exit 3 if a backend mismatched.
int mergeEvals(const std::vector<EvalShardOutput> &shards,
               const MergeOptions &o) {
  if (!o.prefix.empty() || !o.csv.empty() || !o.svg.empty() || !o.png.empty())
    throw UserError("eval shards are merged into JSON on stdout: -o, --csv, "
                    "--svg and --png are for sweep shards");
  const nlohmann::json merged = mergeEvalShards(shards);
  std::cout << merged.dump(2) << "\n";
  bool failed = false;
  for (const auto &m : merged["models"]) {
    for (const auto &b : m["backends"])
      failed |= b.value("mismatches", int64_t{0}) > 0;
    failed |= m.value("disagreements", int64_t{0}) > 0;
  }
  return failed ? kExitMismatch : kExitOk;
}

int runMerge(const MergeOptions &o) {
  const ShardFiles files = readShardFiles(o.shardFiles);
  if (!files.evals.empty())
    return mergeEvals(files.evals, o);
  const MergedSweep merged = mergeSweepShards(files.sweeps);
  const std::string stem = std::filesystem::path(merged.input).stem().string();
  const SweepOutputPaths out = sweepOutputPaths(
      o.prefix.empty() ? "sweep_" + stem : o.prefix, o.csv, o.svg, o.png);
  checkSweepOutputs(out);
  writeSweepOutputs(out, merged.rows, merged.document(), merged.input);

  int64_t mismatches = 0, errors = 0;
  for (const SweepRow &r : merged.rows) {
    mismatches += r.mismatches;
    errors += r.status == "error";
  }
  if (o.json)
    std::cout << nlohmann::json{{"input", merged.input},
                                {"shards", merged.shards},
                                {"points", merged.rows.size()},
                                {"csv", out.csv},
                                {"json", out.json},
                                {"timings_csv", out.timings},
                                {"svg", out.svg},
                                {"rows", sweepRowsJson(merged.rows)}}
                     .dump(2)
              << "\n";
  else
    printSummary(merged, out, mismatches);
  if (errors)
    return kExitError; // as the unsharded sweep would
  return mismatches ? kExitMismatch : kExitOk;
}
} // namespace

void setupMerge(CLI::App &app) {
  auto o = std::make_shared<MergeOptions>();
  CLI::App *cmd = app.add_subcommand(
      "merge",
      "Join the shard files of a sweep (handwire sweep --shard I/K, one per "
      "shard) into the CSV, JSON, timings and SVG plot the unsharded sweep "
      "writes, or the outputs of `handwire eval --shard I/K --json` into the "
      "unsharded eval's JSON (on stdout); refuses shards of different specs "
      "or settings, missing, duplicated or corrupt shards (exit 0: exact, 3: "
      "mismatches, 1: error)");
  cmd->add_option("shards", o->shardFiles,
                  "the shard files, PREFIX.shard-I-of-K.json, or the eval "
                  "shards' --json outputs, in any order")
      ->required();
  cmd->add_option("-o,--output", o->prefix,
                  "output prefix: PREFIX.csv, PREFIX.json, "
                  "PREFIX.timings.csv, PREFIX.svg (default: sweep_<spec "
                  "name> in the current directory)");
  cmd->add_option("--csv", o->csv,
                  "CSV path (overrides -o; the JSON and timings go next to "
                  "it)");
  cmd->add_option("--svg", o->svg, "SVG path (overrides -o)");
  cmd->add_option("--png", o->png,
                  "also render the plot as PNG here (needs rsvg-convert, "
                  "Debian librsvg2-bin)");
  cmd->add_flag("--json", o->json, "machine-readable output on stdout");
  cmd->callback([o] {
    if (int rc = runMerge(*o))
      throw CLI::RuntimeError(rc);
  });
}

} // namespace handwire::cli
