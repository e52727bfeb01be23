// Random networks shared by the unit tests, deterministic (SplitMix64): a seed
// names the same network in every test that draws it.
#pragma once

#include "ir/Network.h"
#include "support/Random.h"

#include <vector>

namespace handwire::testing {

// Uniform in [-a, a], deterministic.
inline Matrix randomMatrix(SplitMix64 &rng, int64_t r, int64_t c, float a) {
  Matrix m(r, c);
  for (int64_t i = 0; i < m.size(); ++i)
    m.data()[i] =
        a * (2.0f * static_cast<float>(rng.below(1 << 20)) / (1 << 20) - 1.0f);
  return m;
}

// The body of a random sparse Elman RNN: H = 30 units, 5 tokens, 3 classes,
// ~120 recurrent weights of +-0.3, ~40 input weights of 1, a small bias and
// a non-negative initial state. The read-out is left empty: callers draw it
// (and a read-out head, if any) from the same generator afterwards.
inline Network randomElmanBody(SplitMix64 &rng, int64_t maxLength) {
  Network net;
  net.arch = Architecture::RNN;
  net.tokenCount = 5;
  net.classCount = 3;
  net.maxSequenceLength = maxLength;
  net.width = 30;
  net.blocks = {{"h", 0, 30, ""}};
  ElmanBody e;
  std::vector<Eigen::Triplet<float, int32_t>> w, u;
  for (int i = 0; i < 120; ++i)
    w.emplace_back(rng.below(30), rng.below(30),
                   0.3f * (rng.below(2) ? 1 : -1));
  for (int i = 0; i < 40; ++i)
    u.emplace_back(rng.below(30), rng.below(5), 1.0f);
  e.recurrent.resize(30, 30);
  e.recurrent.setFromTriplets(w.begin(), w.end());
  e.input.resize(30, 5);
  e.input.setFromTriplets(u.begin(), u.end());
  e.bias = randomMatrix(rng, 30, 1, 0.2f);
  e.initial = randomMatrix(rng, 30, 1, 1).cwiseAbs();
  net.body = e;
  return net;
}

// A random Elman RNN with a plain read-out (inputs up to 60 tokens).
inline Network randomRnn(uint64_t seed) {
  SplitMix64 rng(seed);
  Network net = randomElmanBody(rng, 60);
  net.readout.weight = randomMatrix(rng, 3, 30, 1);
  net.readout.bias = randomMatrix(rng, 3, 1, 1);
  return net;
}

} // namespace handwire::testing
