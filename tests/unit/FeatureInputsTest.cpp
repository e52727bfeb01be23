// Continuous inputs (Embedding::feature, F numbers per position) outside
// handwire: the ONNX graph's `features` input.
#include "RandomNetworks.h"
#include "TestFiles.h"
#include "TestSpecs.h"

#include "eval/EvalSettings.h"
#include "eval/Evaluate.h"
#include "export/ModelFile.h"
#include "export/Onnx.h"
#include "reference/Evaluator.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace handwire {
namespace {

using testing::randomMatrix;
using testing::randomTransformer;
using testing::slurp;
using testing::tempDir;

// A random Transformer (12 wide, 7 tokens, 3 classes) reading F numbers per
// position through a random (12, F) feature matrix.
Network withFeatures(Network net, int64_t F, uint64_t seed) {
  SplitMix64 rng(seed);
  auto &t = std::get<TransformerBody>(net.body);
  t.embed.feature = randomMatrix(rng, net.width, F, 1);
  t.embed.featureNorm = 2;
  return net;
}

// Token-only export of the same Transformer, for comparison.
OnnxSummary summaryOf(const Network &net) {
  const Spec spec = testing::indexLookupSpec(4, 3); // 7 tokens, 3 classes
  return checkOnnxBytes(onnxModelBytes(spec.task, net, int64_t(1) << 30),
                        net.name);
}

TEST(FeatureInputs, OnnxGraphTakesFeaturesOfLengthByF) {
  const Network plain = randomTransformer(5, 2, 2, true, false);
  const Network net = withFeatures(plain, 5, 11);
  // The checker (strict shape inference) accepts the graph, so the
  // MatMul(features [length, 5], embed.feature_T [5, 12]) shapes agree.
  const OnnxSummary s = summaryOf(net);
  EXPECT_EQ(s.inputs, (std::vector<std::string>{"tokens", "features"}));
  EXPECT_EQ(s.signatures.at("tokens"), "INT64[length]");
  // The same symbolic length as tokens: one row per position.
  EXPECT_EQ(s.signatures.at("features"), "FLOAT[length,5]");
  EXPECT_EQ(s.signatures.at("logits"), "FLOAT[3]");
  EXPECT_EQ(s.metadata.at("handwire.features"), "5");
  EXPECT_EQ(s.metadata.at("handwire.feature_norm"), "2");
  // One MatMul more than the token-only graph, and the (12, 5) matrix.
  const OnnxSummary p = summaryOf(plain);
  EXPECT_EQ(p.inputs, std::vector<std::string>{"tokens"});
  EXPECT_EQ(p.metadata.count("handwire.features"), 0u);
  EXPECT_EQ(s.ops.at("MatMul"), p.ops.at("MatMul") + 1);
  EXPECT_EQ(onnxWeightBytes(net), onnxWeightBytes(plain) + 4 * 12 * 5);
  EXPECT_EQ(s.initializerBytes, p.initializerBytes + 4 * 12 * 5);
}

TEST(FeatureInputs, F64GraphTakesFloat32FeaturesAndWidensThem) {
  Network net = withFeatures(randomTransformer(6, 1, 1, false, false), 3, 12);
  net.precision = Precision::F64;
  const OnnxSummary s = summaryOf(net);
  EXPECT_EQ(s.signatures.at("features"), "FLOAT[length,3]");
  EXPECT_EQ(s.signatures.at("logits"), "DOUBLE[3]");
  EXPECT_GE(s.ops.at("Cast"), 2); // the decision's, and the features'
}

} // namespace
} // namespace handwire
