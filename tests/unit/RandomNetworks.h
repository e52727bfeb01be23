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

// A random Transformer (7 tokens, 3 classes, width 12, inputs up to 40).
inline Network randomTransformer(uint64_t seed, int layers, int heads, bool mlp,
                                 bool zeroQuery) {
  SplitMix64 rng(seed);
  Network net;
  net.tokenCount = 7;
  net.classCount = 3;
  net.maxSequenceLength = 40;
  net.width = 12;
  net.blocks = {{"x", 0, 12, ""}};
  TransformerBody t;
  t.embed.token = randomMatrix(rng, 7, 12, 1);
  t.embed.position = randomMatrix(rng, 40, 12, 1);
  for (int l = 0; l < layers; ++l) {
    TransformerLayer layer;
    for (int h = 0; h < heads; ++h) {
      AttentionHead hd;
      hd.query = zeroQuery && h == 0 ? Matrix::Zero(3, 12)
                                     : randomMatrix(rng, 3, 12, 1);
      hd.key = randomMatrix(rng, 3, 12, 1);
      hd.value = randomMatrix(rng, 4, 12, 1);
      hd.output = randomMatrix(rng, 12, 4, 0.5f);
      // A block-sparse projection, as the constructions use.
      hd.key.dense().leftCols(5).setZero();
      layer.heads.push_back(hd);
    }
    if (mlp) {
      MLP m;
      m.in = randomMatrix(rng, 9, 12, 0.5f);
      m.inBias = randomMatrix(rng, 9, 1, 0.5f);
      m.out = randomMatrix(rng, 12, 9, 0.5f);
      m.outBias = randomMatrix(rng, 12, 1, 0.5f);
      layer.mlp = m;
    }
    t.layers.push_back(layer);
  }
  net.body = t;
  net.readout.weight = randomMatrix(rng, 3, 12, 1);
  net.readout.bias = randomMatrix(rng, 3, 1, 1);
  return net;
}

// The network with its Transformer matrices stored sparse (CSR), about a
// third of their entries dropped to zero first so that the patterns are
// irregular; every third matrix stays dense (the storages mix in one model).
inline Network sparsified(Network net, uint64_t seed) {
  SplitMix64 rng(seed);
  int count = 0;
  forEachTransformerMatrix(net, [&](WeightMatrix &w) {
    Matrix m = w.dense();
    for (int64_t i = 0; i < m.size(); ++i)
      if (rng.below(3) == 0)
        m.data()[i] = 0;
    if (count++ % 3 == 2)
      w = WeightMatrix(std::move(m));
    else
      w = WeightMatrix(SparseMatrix(m.sparseView(0.0f, 0.0f)));
  });
  return net;
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
