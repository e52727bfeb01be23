// The JIT against the reference on random inputs: the checks the JIT tests
// share, in fp32 (against the double reference) and in 16 bits (against the
// emulated pass).
#pragma once

#include "eval/Evaluate.h"
#include "jit/JitBackend.h"
#include "reference/Evaluator.h"
#include "support/Random.h"

#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <string>
#include <vector>

namespace handwire::testing {

// A trial's continuous inputs for n positions (n F floats), drawn from the
// trial's generator after its tokens; none, if empty (token-only inputs).
using FeatureDraw = std::function<std::vector<float>(SplitMix64 &, int64_t)>;

// A random input: a length in 1 .. maxLength, tokens, and features (if any).
struct RandomInput {
  int64_t n = 0;
  std::vector<int32_t> tokens;
  std::vector<float> features;
  const float *featureData() const {
    return features.empty() ? nullptr : features.data();
  }
};
inline RandomInput randomInput(SplitMix64 &rng, const Network &net,
                               const FeatureDraw &draw) {
  RandomInput in;
  in.n = 1 + static_cast<int64_t>(rng.below(net.maxSequenceLength));
  in.tokens.resize(static_cast<size_t>(in.n));
  for (auto &t : in.tokens)
    t = static_cast<int32_t>(rng.below(net.tokenCount));
  if (draw)
    in.features = draw(rng, in.n);
  return in;
}

// `trials` random inputs: every logit within tol (1 + |reference|).
inline void expectSameLogits(const Network &net, uint64_t seed, double tol,
                             int trials = 50, const FeatureDraw &draw = {}) {
  JitBackend jit(net);
  SplitMix64 rng(seed);
  std::vector<double> got(static_cast<size_t>(net.classCount));
  for (int trial = 0; trial < trials; ++trial) {
    const RandomInput in = randomInput(rng, net, draw);
    const Eigen::VectorXd want =
        referenceLogits<double>(net, in.tokens.data(), in.n, in.featureData());
    jit.logits(in.tokens.data(), in.n, in.featureData(), got.data());
    for (int64_t c = 0; c < net.classCount; ++c)
      ASSERT_NEAR(got[c], want[c], tol * (1 + std::fabs(want[c])))
          << "length " << in.n;
  }
}

// The JIT's 16-bit pass and the emulated one on `trials` random inputs:
// decisions equal, logits within lowPrecisionLogitTolerance.
inline void expectSameAsEmulated(const Network &net, StorageFormat f,
                                 uint64_t seed, int trials = 40,
                                 const FeatureDraw &draw = {}) {
  JitBackend jit(net, f);
  LowPrecisionBackend ref(net, f);
  EXPECT_EQ(jit.name(), std::string("jit-") + storageFormatName(f));
  SplitMix64 rng(seed);
  std::vector<double> got(static_cast<size_t>(net.classCount)),
      want(static_cast<size_t>(net.classCount));
  for (int trial = 0; trial < trials; ++trial) {
    const RandomInput in = randomInput(rng, net, draw);
    jit.logits(in.tokens.data(), in.n, in.featureData(), got.data());
    ref.logits(in.tokens.data(), in.n, in.featureData(), want.data());
    double scale = 0;
    for (double w : want)
      scale = std::max(scale, std::fabs(w));
    const double tol = lowPrecisionLogitTolerance(net, f, scale);
    ASSERT_EQ(decision(got.data(), net.classCount),
              decision(want.data(), net.classCount))
        << "length " << in.n;
    for (int64_t c = 0; c < net.classCount; ++c)
      ASSERT_NEAR(got[c], want[c], tol) << "length " << in.n << ", class " << c;
  }
}

} // namespace handwire::testing
