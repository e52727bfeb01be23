// Deterministic, platform-independent pseudo-random numbers. handwire never
// uses std:: distributions, whose outputs differ between standard libraries:
// the same seed must give byte-identical weights and inputs everywhere.
#pragma once

#include <cstdint>

namespace handwire {

// SplitMix64 (Steele, Lea, Flood 2014): a 64-bit state, full period, and a
// good mixer, so nearby seeds (seed, index) give independent streams.
class SplitMix64 {
public:
  explicit SplitMix64(uint64_t seed) : state_(seed) {}
  uint64_t next() {
    uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  // Uniform in [0, n) for n >= 1 (Lemire's multiply-shift; bias < n / 2^64).
  uint64_t below(uint64_t n) {
    return static_cast<uint64_t>((static_cast<unsigned __int128>(next()) * n) >>
                                 64);
  }

private:
  uint64_t state_;
};

// A seed for stream `index` derived from `seed`, independent across indices.
inline uint64_t streamSeed(uint64_t seed, uint64_t index) {
  SplitMix64 mix(seed ^ (index * 0xd1b54a32d192ed03ULL));
  mix.next();
  return mix.next();
}

} // namespace handwire
