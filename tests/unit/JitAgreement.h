// The JIT against the double reference on random token sequences: the check
// the JIT tests share.
#pragma once

#include "jit/JitBackend.h"
#include "reference/Evaluator.h"
#include "support/Random.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

namespace handwire::testing {

// `trials` random inputs of random lengths (1 .. maxLength): every logit
// within tol (1 + |reference|).
inline void expectSameLogits(const Network &net, uint64_t seed, double tol,
                             int trials = 50) {
  JitBackend jit(net);
  SplitMix64 rng(seed);
  std::vector<int32_t> tokens;
  std::vector<double> got(static_cast<size_t>(net.classCount));
  for (int trial = 0; trial < trials; ++trial) {
    const int64_t n =
        1 + static_cast<int64_t>(rng.below(net.maxSequenceLength));
    tokens.resize(static_cast<size_t>(n));
    for (auto &t : tokens)
      t = static_cast<int32_t>(rng.below(net.tokenCount));
    Eigen::VectorXd want = referenceLogits<double>(net, tokens.data(), n);
    jit.logits(tokens.data(), n, got.data());
    for (int64_t c = 0; c < net.classCount; ++c)
      ASSERT_NEAR(got[c], want[c], tol * (1 + std::fabs(want[c])))
          << "length " << n;
  }
}

} // namespace handwire::testing
