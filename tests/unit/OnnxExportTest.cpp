// ONNX export: every construction of every shipped spec gives a model the
// ONNX checker accepts (opset 13, strict shape and type inference), with the
// documented interface and op graph; RNNs export in O(non-zeros); sizes above
// the limit are refused with the size in the message. Decisions are compared
// with ONNX Runtime and PyTorch in tests/export/crosscheck.sh.
#include "Pipeline.h"
#include "export/Onnx.h"
#include "support/Diagnostics.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

namespace handwire {
namespace {

namespace fs = std::filesystem;

struct Built {
  Spec spec;
  std::vector<Network> nets;
};

Built buildSpec(const std::string &name, int64_t N) {
  DiagnosticEngine diags;
  const std::string path =
      (fs::path(HANDWIRE_SOURCE_DIR) / "specs" / (name + ".task")).string();
  auto spec = loadSpec(path, {"task.max_length=" + std::to_string(N)}, diags);
  EXPECT_TRUE(spec) << path;
  Built b{*spec, {}};
  for (const ModelSpec &m : spec->models) {
    auto net = buildNetwork(*spec, m, {}, diags);
    EXPECT_TRUE(net) << name << " " << m.name;
    if (net)
      b.nets.push_back(std::move(*net));
  }
  return b;
}

class EveryConstruction : public ::testing::TestWithParam<const char *> {};

TEST_P(EveryConstruction, ExportsCheckedOpset13Models) {
  const Built b = buildSpec(GetParam(), 8);
  ASSERT_FALSE(b.nets.empty());
  for (const Network &net : b.nets) {
    SCOPED_TRACE(net.name);
    const std::string bytes =
        onnxModelBytes(b.spec.task, net, int64_t(1) << 30);
    const OnnxSummary s = checkOnnxBytes(bytes, net.name);
    EXPECT_EQ(s.opset, kOnnxOpset);
    EXPECT_EQ(s.irVersion, 7);
    EXPECT_EQ(s.inputs, std::vector<std::string>{"tokens"});
    EXPECT_EQ(s.outputs, (std::vector<std::string>{"logits", "decision"}));
    EXPECT_EQ(s.metadata.at("handwire.construction"),
              net.provenance.construction);
    // Initializers: the weights plus a few scalar constants.
    EXPECT_GE(s.initializerBytes, onnxWeightBytes(net));
    EXPECT_LT(s.initializerBytes, onnxWeightBytes(net) + 64);
    if (net.isTransformer()) {
      int64_t heads = 0;
      for (const auto &l : net.transformer().layers)
        heads += static_cast<int64_t>(l.heads.size());
      EXPECT_EQ(s.ops.at("Softmax"), heads);
      EXPECT_EQ(s.ops.count("Scan"), 0u);
      // Only layers below the last need the causal mask.
      EXPECT_EQ(s.ops.count("Range"),
                net.transformer().computingLayers().size() > 1 ? 1u : 0u);
    } else {
      EXPECT_EQ(s.ops.at("Scan"), 1);
      EXPECT_EQ(s.ops.at("Relu"), 1); // inside the loop body
      EXPECT_EQ(s.ops.count("Softmax"), 0u);
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Specs, EveryConstruction,
                         ::testing::Values("index_lookup", "bounded_dyck",
                                           "string_equality", "disjointness"));

TEST(OnnxExport, RnnIsExportedInNonZerosNotHiddenSquared) {
  const Built b = buildSpec("index_lookup", 4096);
  const Network &rnn = b.nets.at(1);
  ASSERT_FALSE(rnn.isTransformer());
  const int64_t H = rnn.width; // 5N
  const int64_t dense = 4 * H * H;
  const int64_t bytes = onnxWeightBytes(rnn);
  EXPECT_LT(bytes, dense / 500) << "H = " << H;
  EXPECT_NO_THROW(checkOnnxBytes(
      onnxModelBytes(b.spec.task, rnn, int64_t(1) << 30), "rnn"));
}

TEST(OnnxExport, RefusesAboveTheLimitNamingTheSize) {
  const Built b = buildSpec("index_lookup", 64);
  const Network &tf = b.nets.at(0);
  const int64_t need = onnxWeightBytes(tf);
  try {
    onnxModelBytes(b.spec.task, tf, 2 * need - 1); // held twice
    FAIL() << "expected a refusal";
  } catch (const UserError &e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("model 'transformer'"), std::string::npos) << msg;
    EXPECT_NE(msg.find(std::to_string(need) + " bytes"), std::string::npos)
        << msg;
    EXPECT_NE(msg.find("--memory-limit"), std::string::npos) << msg;
  }
  EXPECT_NO_THROW(onnxModelBytes(b.spec.task, tf, 2 * need));
}

TEST(OnnxExport, SameNetworkSameBytes) {
  const Built b = buildSpec("string_equality", 8);
  for (const Network &net : b.nets)
    EXPECT_EQ(onnxModelBytes(b.spec.task, net, int64_t(1) << 30),
              onnxModelBytes(b.spec.task, net, int64_t(1) << 30));
}

TEST(OnnxExport, CorruptFilesAreRefusedByName) {
  try {
    checkOnnxBytes("not a protobuf \x01\x02", "bad.onnx");
    FAIL() << "expected a refusal";
  } catch (const UserError &e) {
    EXPECT_NE(std::string(e.what()).find("bad.onnx"), std::string::npos);
  }
  // Truncated: a valid model cut in half no longer parses or checks.
  const Built b = buildSpec("bounded_dyck", 8);
  const std::string bytes =
      onnxModelBytes(b.spec.task, b.nets.at(0), int64_t(1) << 30);
  EXPECT_THROW(checkOnnxBytes(bytes.substr(0, bytes.size() / 2), "half.onnx"),
               UserError);
  EXPECT_THROW(checkOnnxFile("/nonexistent/model.onnx"), UserError);
}

} // namespace
} // namespace handwire
