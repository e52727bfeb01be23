// Continuous inputs (Embedding::feature, F numbers per position) outside
// handwire: the ONNX graph's `features` input and the decision file's binary
// sidecar (FILE.features, read back here by an independent parser of the
// layout docs/export.md gives).
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

// --- the decision file's sidecar ---

uint32_t u32At(const std::string &b, size_t at) {
  uint32_t v = 0;
  for (int k = 0; k < 4; ++k)
    v |= uint32_t(static_cast<unsigned char>(b.at(at + k))) << (8 * k);
  return v;
}

// The sidecar as docs/export.md defines it, parsed independently of the
// writer: per record, uint32 count, then count x (uint32 position, F
// float32), little-endian. Returns each record's dense length x F features.
std::vector<std::vector<float>>
parseSidecar(const std::string &b, const std::vector<int64_t> &lengths,
             const std::vector<int64_t> &dims, std::vector<uint32_t> &counts) {
  std::vector<std::vector<float>> out;
  size_t at = 0;
  for (size_t r = 0; r < lengths.size(); ++r) {
    const int64_t F = dims[r];
    std::vector<float> f(static_cast<size_t>(lengths[r] * F), 0.0f);
    const uint32_t count = u32At(b, at);
    counts.push_back(count);
    at += 4;
    for (uint32_t k = 0; k < count; ++k) {
      const uint32_t pos = u32At(b, at);
      at += 4;
      EXPECT_LT(int64_t(pos), lengths[r]);
      for (int64_t j = 0; j < F; ++j, at += 4) {
        const uint32_t bits = u32At(b, at);
        std::memcpy(&f[static_cast<size_t>(pos * F + j)], &bits, 4);
      }
    }
    out.push_back(std::move(f));
  }
  EXPECT_EQ(at, b.size()) << "bytes after the last record";
  return out;
}

TEST(DecisionFeatures, SidecarRoundTrip) {
  // Model "a" (F = 3): a record with two non-zero rows (one of them -0 and
  // a tiny value, which is not zero), an all-zero one and one with no
  // features at all; model "b" (F = 0): token-only records.
  std::vector<DecisionRecord> a(3), b(2);
  a[0].tokens = {1, 2, 3, 4};
  a[0].features = {0, 0, 0, 1.5f, -2, 0.25f, 0, 0, 0, -0.0f, 1e-30f, 0};
  a[1].tokens = {5, 6};
  a[1].features.assign(6, 0.0f);
  a[2].tokens = {7};
  b[0].tokens = {1};
  b[1].tokens = {2, 3};
  std::ostringstream bin;
  writeDecisionFeatures(bin, a, 3);
  writeDecisionFeatures(bin, b, 0);
  const std::string bytes = bin.str();
  // a[0]: its count and 2 rows of (position, 3 floats); then four counts 0.
  ASSERT_EQ(bytes.size(), 4 + 2 * (4 + 12) + 4 * 4u);
  // Little-endian on any host: count 2, position 1, 1.5f = 0x3fc00000.
  EXPECT_EQ(bytes.substr(0, 12),
            std::string("\x02\0\0\0\x01\0\0\0\0\0\xc0\x3f", 12));
  std::vector<uint32_t> counts;
  const auto back =
      parseSidecar(bytes, {4, 2, 1, 1, 2}, {3, 3, 3, 0, 0}, counts);
  EXPECT_EQ(counts, (std::vector<uint32_t>{2, 0, 0, 0, 0}));
  // Every value comes back bit for bit, -0 included (its row is listed:
  // 1e-30 is not zero); rows not listed are zero.
  ASSERT_EQ(back[0].size(), a[0].features.size());
  EXPECT_EQ(std::memcmp(back[0].data(), a[0].features.data(),
                        a[0].features.size() * sizeof(float)),
            0);
  EXPECT_EQ(back[1], a[1].features);
  EXPECT_EQ(back[2], std::vector<float>(3, 0.0f));

  const std::string comment = decisionFeaturesComment(
      "my decisions.txt.features", {{"a", 3}, {"b", 0}});
  EXPECT_EQ(comment.rfind("# features: F a=3 b=0; ", 0), 0u) << comment;
  EXPECT_NE(comment.find("uint32 count, then count x (uint32 position, F "
                         "float32), little-endian"),
            std::string::npos)
      << comment;
  // The name ends the line: it may hold spaces.
  const std::string tail = "; sidecar: my decisions.txt.features\n";
  ASSERT_GT(comment.size(), tail.size());
  EXPECT_EQ(comment.substr(comment.size() - tail.size()), tail);
}

} // namespace
} // namespace handwire
