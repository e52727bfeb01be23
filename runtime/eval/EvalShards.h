// Joining the outputs of `eval --shard I/K --json` (one per shard) into the
// output the unsharded run prints. Shard I runs a contiguous block of the
// inputs, each generated from its own index (Shard.h), so the join is exact
// for everything counted: samples, adversarial inputs, mismatches and
// disagreements add up, margins and logit differences take their extreme, and
// the mismatch examples are the first `maxReported` by input index (and
// backend), as in one run. Timings (seconds, wall time, inputs per second) are
// sums over the shards (per-shard costs such as the JIT compile: shard 0's);
// they differ from run to run anyway.
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace handwire {

struct EvalShardOutput {
  std::string path; // for messages
  nlohmann::json doc;
};

// Whether `doc` is the --json output of `eval --shard` (it has a "shard"
// object and "models").
bool isEvalShardOutput(const nlohmann::json &doc);

// The unsharded run's output. Throws UserError naming the files when they are
// not the K shards of one run (different spec, task, seed, inputs or models;
// a shard missing or given twice; a cancelled shard) or a field is missing.
nlohmann::json mergeEvalShards(const std::vector<EvalShardOutput> &shards,
                               int maxReported = 5);

} // namespace handwire
