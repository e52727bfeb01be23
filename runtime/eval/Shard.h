// --shard I/K: which fixed part of a run's work shard I of K does, so that
// K processes (on one machine or a cluster) together do exactly the work of
// one unsharded run. Eval shards split the generated inputs into contiguous
// blocks (every input is generated from its global index, so a block gives
// the same inputs wherever it runs); sweep shards take every K-th point.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace handwire {

struct Shard {
  int64_t index = 0, count = 1; // 0 <= index < count

  bool whole() const { return count == 1; }
  std::string text() const; // "2/4"
};

// Parses "I/K" (decimal, 0 <= I < K, K <= 1,000,000); throws UserError
// naming `option` and saying what is wrong ("5/4": index not below count).
Shard parseShard(const std::string &text,
                 const std::string &option = "--shard");

// The inputs of shard `s` of `total` inputs: [begin, end), contiguous
// blocks whose sizes differ by at most one, in shard order, covering
// [0, total) exactly once. A shard may be empty when total < count.
struct InputRange {
  int64_t begin = 0, end = 0;
  int64_t size() const { return end - begin; }
};
InputRange shardInputs(int64_t total, const Shard &s);

// The indices of shard `s`'s points among `total` points in canonical
// order: those with index % count == s.index (round robin, so that shards
// get a similar mix of small and large N).
std::vector<size_t> shardPoints(size_t total, const Shard &s);

} // namespace handwire
