// Nearest neighbour's points as continuous inputs (Embedding::feature): the
// model with its X block read from the inputs instead of the token table,
// shared by the JIT feature tests and the benchmark.
#pragma once

#include "ir/Network.h"

#include <vector>

namespace handwire::testing {

// feature is the identity from the F = d input numbers into X, and the
// point tokens' X entries are zeroed: on the inputs of pointsOf, the same
// residual stream as the original.
inline Network pointsAsFeatures(const Network &net) {
  const ResidualBlock *x = net.block("X");
  Network copy = net;
  auto &t = std::get<TransformerBody>(copy.body);
  Matrix feature = Matrix::Zero(net.width, x->width);
  feature.middleRows(x->offset, x->width).setIdentity();
  t.embed.feature = feature;
  t.embed.featureNorm = 1; // the points are unit vectors
  t.embed.token.dense().middleCols(x->offset, x->width).setZero();
  return copy;
}

// An input's continuous inputs: position i's point, the original token
// table's X entries of its token (zero at labels and <bos>).
inline std::vector<float> pointsOf(const Network &net,
                                   const std::vector<int32_t> &tokens) {
  const ResidualBlock *x = net.block("X");
  const Matrix &token = net.transformer().embed.token.dense();
  std::vector<float> f;
  f.reserve(tokens.size() * static_cast<size_t>(x->width));
  for (int32_t w : tokens)
    for (int64_t c = 0; c < x->width; ++c)
      f.push_back(token(w, x->offset + c));
  return f;
}

} // namespace handwire::testing
