// Continuous inputs (Embedding::feature, F numbers per position) outside
// handwire: the ONNX graph's `features` input, the decision file's binary
// sidecar (FILE.features, read back here by an independent parser of the
// layout docs/export.md gives), and ONNX Runtime and PyTorch replaying a
// random Transformer with features from that sidecar.
#include "RandomNetworks.h"
#include "TestFiles.h"
#include "TestSpecs.h"

#include "eval/EvalSettings.h"
#include "eval/Evaluate.h"
#include "export/ModelFile.h"
#include "export/Onnx.h"
#include "reference/Evaluator.h"
#include "support/Diagnostics.h"

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

// length x F features: about half the rows a random vector (of norm <= 2),
// the others zero, as in nearest neighbour, where only points carry one.
std::vector<float> randomFeatures(SplitMix64 &rng, int64_t length, int64_t F) {
  std::vector<float> f(static_cast<size_t>(length * F), 0.0f);
  for (int64_t i = 0; i < length; ++i)
    if (rng.below(2)) {
      const Matrix row = randomMatrix(rng, 1, F, 2.0f / std::sqrt(float(F)));
      std::copy(row.data(), row.data() + F, f.begin() + i * F);
    }
  return f;
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

// --- replay in ONNX Runtime and PyTorch ---

// Two random Transformers with features (F = 3 and F = 5, so that replaying
// the second skips the first's records with the first's F), exported, and
// the double reference's decisions on 150 inputs each, written as `eval
// --write-decisions` writes them.
struct Replay {
  std::string dir, decisions;
  std::vector<std::string> names, onnx, configs;
};

Replay exportForReplay(const std::string &name) {
  const Spec spec = testing::indexLookupSpec(4, 3); // 7 tokens, 3 classes
  Replay x;
  x.dir = tempDir(name);
  x.decisions = x.dir + "/decisions.txt";
  const std::vector<Network> nets = {
      withFeatures(randomTransformer(21, 2, 2, true, false), 3, 1),
      withFeatures(randomTransformer(22, 1, 2, false, false), 5, 2)};
  std::ofstream text(x.decisions);
  std::ofstream bin(x.decisions + kDecisionFeaturesSuffix, std::ios::binary);
  text << kDecisionFileHeader
       << decisionFeaturesComment("decisions.txt.features",
                                  {{"three", 3}, {"five", 5}});
  for (size_t m = 0; m < nets.size(); ++m) {
    Network net = nets[m];
    net.name = m == 0 ? "three" : "five";
    x.names.push_back(net.name);
    x.onnx.push_back(writeOnnx(spec.task, net, x.dir, net.name, 1 << 30)[0]);
    x.configs.push_back(writeModel(spec.task, net, x.dir, net.name).config);
    SplitMix64 rng(40 + m);
    std::vector<DecisionRecord> records(150);
    int changed = 0; // decisions the features change
    for (DecisionRecord &r : records) {
      r.tokens.resize(1 + rng.below(net.maxSequenceLength));
      for (int32_t &t : r.tokens)
        t = static_cast<int32_t>(rng.below(net.tokenCount));
      const int64_t M = static_cast<int64_t>(r.tokens.size());
      r.features = randomFeatures(rng, M, net.featureDim());
      const Eigen::VectorXd l =
          referenceLogits<double>(net, r.tokens.data(), M, r.features.data());
      const Eigen::VectorXd l0 =
          referenceLogits<double>(net, r.tokens.data(), M);
      r.decision = r.expected = decision(l.data(), l.size());
      changed += r.decision != decision(l0.data(), l0.size());
    }
    // Replaying checks the features only if they matter.
    EXPECT_GT(changed, 15) << net.name;
    writeDecisionLines(text, net.name, records);
    writeDecisionFeatures(bin, records, net.featureDim());
  }
  return x;
}

// handwire's own reader (bench/compare's JIT side) gets back exactly what
// was written: tokens, answers and features, one model's records among
// another's with a different F; a damaged file is an error naming it.
TEST(FeatureInputs, DecisionRecordsReadBackExactly) {
  const std::string dir = tempDir("features-read"),
                    path = dir + "/decisions.txt";
  SplitMix64 rng(77);
  std::vector<std::vector<DecisionRecord>> written(2);
  const int64_t dims[2] = {3, 5};
  {
    std::ofstream text(path);
    std::ofstream bin(path + kDecisionFeaturesSuffix, std::ios::binary);
    text << kDecisionFileHeader
         << decisionFeaturesComment("decisions.txt.features",
                                    {{"three", 3}, {"five", 5}});
    for (int round = 0; round < 2; ++round) // interleaved: three five three
      for (int m = 0; m < 2 - round; ++m) {
        std::vector<DecisionRecord> records(20);
        for (DecisionRecord &r : records) {
          r.tokens.resize(1 + rng.below(9));
          for (int32_t &t : r.tokens)
            t = static_cast<int32_t>(rng.below(7));
          r.features = randomFeatures(
              rng, static_cast<int64_t>(r.tokens.size()), dims[m]);
          r.decision = static_cast<int64_t>(rng.below(3));
          r.expected = static_cast<int64_t>(rng.below(3));
        }
        writeDecisionLines(text, m == 0 ? "three" : "five", records);
        writeDecisionFeatures(bin, records, dims[m]);
        written[m].insert(written[m].end(), records.begin(), records.end());
      }
  }
  for (int m = 0; m < 2; ++m) {
    const auto read = readDecisionRecords(path, m == 0 ? "three" : "five");
    ASSERT_EQ(read.size(), written[m].size());
    for (size_t i = 0; i < read.size(); ++i) {
      EXPECT_EQ(read[i].tokens, written[m][i].tokens);
      EXPECT_EQ(read[i].decision, written[m][i].decision);
      EXPECT_EQ(read[i].expected, written[m][i].expected);
      // randomFeatures leaves some rows zero: those come back as zeros.
      EXPECT_EQ(read[i].features, written[m][i].features) << i;
    }
  }
  auto errorOf = [&](const std::string &model) {
    try {
      readDecisionRecords(path, model);
    } catch (const UserError &e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(errorOf("seven").find("no inputs for model 'seven'"),
            std::string::npos);
  std::filesystem::resize_file(
      path + kDecisionFeaturesSuffix,
      std::filesystem::file_size(path + kDecisionFeaturesSuffix) - 8);
  EXPECT_NE(errorOf("three").find("truncated"), std::string::npos)
      << errorOf("three");
  std::ofstream(path, std::ios::app) << "three 1 x 2 3\n";
  EXPECT_NE(errorOf("three").find("decisions.txt:63: expected MODEL"),
            std::string::npos)
      << errorOf("three");
}

TEST(FeatureInputs, OnnxRuntimeMakesTheReferenceDecisions) {
  const std::string src = HANDWIRE_SOURCE_DIR;
  std::string out;
  if (!testing::haveOnnxRuntime())
    GTEST_SKIP() << "node or onnxruntime-node is missing (scripts/setup.sh)";
  const Replay x = exportForReplay("features-ort");
  const std::string replay = "node '" + src + "/tests/onnx/replay.js' ";
  for (size_t i = 0; i < x.onnx.size(); ++i) {
    const int rc = testing::runCommand(replay + "'" + x.onnx[i] + "' '" +
                                           x.decisions + "' " + x.names[i],
                                       out);
    EXPECT_EQ(rc, 0) << out;
    EXPECT_NE(out.find("150 inputs, 150 same decisions"), std::string::npos)
        << out;
  }
  // A truncated sidecar is an error, not a silent zero.
  const std::string sidecar = x.decisions + kDecisionFeaturesSuffix;
  std::filesystem::resize_file(sidecar,
                               std::filesystem::file_size(sidecar) - 8);
  EXPECT_EQ(testing::runCommand(
                replay + "'" + x.onnx[1] + "' '" + x.decisions + "' five", out),
            2)
      << out;
  EXPECT_NE(out.find("truncated"), std::string::npos) << out;
}

TEST(FeatureInputs, TorchMakesTheReferenceDecisions) {
  const std::string src = HANDWIRE_SOURCE_DIR;
  std::string out;
  if (testing::runCommand("/usr/bin/python3 -c 'import torch'", out) != 0)
    GTEST_SKIP() << "python3-torch is missing (scripts/setup.sh)";
  const Replay x = exportForReplay("features-torch");
  std::string cmd = "/usr/bin/python3 '" + src +
                    "/tests/export/torch_forward.py' '" + x.decisions + "'";
  for (const std::string &c : x.configs)
    cmd += " '" + c + "'";
  const int rc = testing::runCommand(cmd, out);
  EXPECT_EQ(rc, 0) << out;
  for (const std::string &name : x.names)
    EXPECT_NE(out.find(name + ": 150 inputs, 150 same decisions"),
              std::string::npos)
        << out;
}

} // namespace
} // namespace handwire
