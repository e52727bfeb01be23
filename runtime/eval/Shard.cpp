#include "eval/Shard.h"

#include "support/Diagnostics.h"

#include <charconv>

namespace handwire {

namespace {
constexpr int64_t kMaxShards = 1000000;

// A decimal integer filling all of `s` (no sign, no spaces), or -1.
int64_t decimal(const std::string &s) {
  int64_t v = -1;
  const char *end = s.data() + s.size();
  const auto [ptr, ec] = std::from_chars(s.data(), end, v);
  if (s.empty() || s[0] == '+' || s[0] == '-' || ec != std::errc() ||
      ptr != end)
    return -1;
  return v;
}
} // namespace

std::string Shard::text() const {
  return std::to_string(index) + "/" + std::to_string(count);
}

Shard parseShard(const std::string &text, const std::string &option) {
  const std::string what = option + " '" + text + "'";
  const size_t slash = text.find('/');
  if (slash == std::string::npos)
    throw UserError(what + " is not I/K (shard I of K, 0 <= I < K, e.g. 2/4)");
  const int64_t i = decimal(text.substr(0, slash));
  const int64_t k = decimal(text.substr(slash + 1));
  if (i < 0 || k < 0)
    throw UserError(what + ": I and K must be non-negative integers (shard I "
                           "of K, 0 <= I < K, e.g. 2/4)");
  if (k == 0 || k > kMaxShards)
    throw UserError(what + ": K (the number of shards) must be 1.." +
                    std::to_string(kMaxShards));
  if (i >= k)
    throw UserError(what + ": shard index " + std::to_string(i) +
                    " is not below the shard count " + std::to_string(k) +
                    " (shards are numbered 0.." + std::to_string(k - 1) + ")");
  return {i, k};
}

InputRange shardInputs(int64_t total, const Shard &s) {
  // floor(total * i / k) without overflow: total < 2^41, k <= 10^6.
  const auto bound = [&](int64_t i) {
    return static_cast<int64_t>(static_cast<__int128>(total) * i / s.count);
  };
  return {bound(s.index), bound(s.index + 1)};
}

std::vector<size_t> shardPoints(size_t total, const Shard &s) {
  std::vector<size_t> out;
  for (size_t p = static_cast<size_t>(s.index); p < total;
       p += static_cast<size_t>(s.count))
    out.push_back(p);
  return out;
}

} // namespace handwire
