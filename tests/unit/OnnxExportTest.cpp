// ONNX export: every construction of every shipped spec gives a model the
// ONNX checker accepts (opset 13, strict shape and type inference), with the
// documented interface and op graph; RNNs export in O(non-zeros); sizes above
// the limit are refused with the size in the message. Decisions are compared
// with ONNX Runtime and PyTorch in tests/export/crosscheck.sh.
#include "Pipeline.h"
#include "export/Onnx.h"
#include "support/Diagnostics.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>
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
      // One inside the loop body, one per read-out head layer.
      EXPECT_EQ(s.ops.at("Relu"),
                1 + static_cast<int64_t>(net.elman().head.size()));
      EXPECT_EQ(s.ops.count("Softmax"), 0u);
    }
  }
}

// The same models with a batch axis: every input and output gains a leading
// `batch` dimension; the checker (strict inference) accepts them. Their
// decisions are compared with handwire's in tests/export/crosscheck.sh.
TEST_P(EveryConstruction, ExportsCheckedBatchedModels) {
  const Built b = buildSpec(GetParam(), 8);
  ASSERT_FALSE(b.nets.empty());
  OnnxOptions batched;
  batched.batch = true;
  for (const Network &net : b.nets) {
    SCOPED_TRACE(net.name);
    const std::string plain =
        onnxModelBytes(b.spec.task, net, int64_t(1) << 30);
    const std::string bytes =
        onnxModelBytes(b.spec.task, net, int64_t(1) << 30, batched);
    EXPECT_NE(bytes, plain);
    const OnnxSummary s = checkOnnxBytes(bytes, net.name);
    EXPECT_EQ(s.inputs, std::vector<std::string>{"tokens"});
    EXPECT_EQ(s.signatures.at("tokens"), "INT64[batch,length]");
    const std::string elem =
        net.precision == Precision::F64 ? "DOUBLE" : "FLOAT";
    EXPECT_EQ(s.signatures.at("logits"),
              elem + "[batch," + std::to_string(net.classCount) + "]");
    EXPECT_EQ(s.signatures.at("decision"), "INT64[batch]");
    EXPECT_EQ(s.metadata.count("handwire.batch"), 1u);
    EXPECT_EQ(checkOnnxBytes(plain, net.name).metadata.count("handwire.batch"),
              0u);
    // The same weights (the RNN's read-out transposed, as the Transformer's).
    EXPECT_GE(s.initializerBytes, onnxWeightBytes(net));
    EXPECT_LT(s.initializerBytes, onnxWeightBytes(net) + 128);
    if (!net.isTransformer()) {
      EXPECT_EQ(s.ops.at("Scan"), 1);
      EXPECT_EQ(s.ops.count("GatherElements"), 0u); // Gather(axis 1) instead
      EXPECT_EQ(s.ops.at("Expand"), 1);             // h_0 per sequence
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Specs, EveryConstruction,
                         ::testing::Values("index_lookup", "bounded_dyck",
                                           "string_equality", "disjointness",
                                           "nearest_neighbour",
                                           "associative_recall"));

TEST(OnnxExport, BatchedFeaturesInputHasTheBatchAxis) {
  const Built b = buildSpec("nearest_neighbour_sphere", 16);
  OnnxOptions batched;
  batched.batch = true;
  const Network &tf = b.nets.at(0);
  ASSERT_GT(tf.featureDim(), 0);
  const OnnxSummary s = checkOnnxBytes(
      onnxModelBytes(b.spec.task, tf, int64_t(1) << 30, batched), tf.name);
  EXPECT_EQ(s.inputs, (std::vector<std::string>{"tokens", "features"}));
  EXPECT_EQ(s.signatures.at("features"),
            "FLOAT[batch,length," + std::to_string(tf.featureDim()) + "]");
}

// A scratch directory, removed at the end of the test.
struct ScratchDir {
  fs::path path;
  explicit ScratchDir(const std::string &name)
      : path(fs::temp_directory_path() /
             (name + "." + std::to_string(::getpid()))) {
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~ScratchDir() { fs::remove_all(path); }
};

TEST(OnnxExportExternalData, WeightsGoNextToTheGraph) {
  const Built b = buildSpec("index_lookup", 64);
  const ScratchDir dir("handwire_onnx_external");
  OnnxOptions external;
  external.externalDataAbove = 0; // always
  for (const Network &net : b.nets) {
    SCOPED_TRACE(net.name);
    const std::string stem = "index_lookup." + net.name;
    ASSERT_TRUE(onnxUsesExternalData(net, external));
    const std::vector<std::string> paths = writeOnnx(
        b.spec.task, net, dir.path.string(), stem, int64_t(1) << 30, external);
    ASSERT_EQ(paths.size(), 2u);
    EXPECT_EQ(fs::path(paths[1]).filename().string(), stem + ".onnx.data");
    EXPECT_EQ(onnxFileNames(net, stem, external),
              (std::vector<std::string>{stem + ".onnx", stem + ".onnx.data"}));
    const OnnxSummary s = checkOnnxFile(paths[0]);
    EXPECT_EQ(s.externalFiles, std::vector<std::string>{stem + ".onnx.data"});
    // Every tensor of 1 KiB or more is outside; tensors start at multiples
    // of 4096, so the file is at most 4095 bytes per tensor longer.
    EXPECT_GT(s.externalBytes, onnxWeightBytes(net) / 2);
    const int64_t dataSize = int64_t(fs::file_size(paths[1]));
    EXPECT_GE(dataSize, s.externalBytes);
    EXPECT_LT(int64_t(fs::file_size(paths[0])),
              s.initializerBytes - s.externalBytes + 65536);
    // Same graph as the inline file: only where the bytes live differs.
    const OnnxSummary inlined = checkOnnxBytes(
        onnxModelBytes(b.spec.task, net, int64_t(1) << 30), stem);
    EXPECT_EQ(s.ops, inlined.ops);
    EXPECT_EQ(s.initializerBytes, inlined.initializerBytes);
    EXPECT_EQ(s.signatures, inlined.signatures);
  }
}

TEST(OnnxExportExternalData, AutomaticAboveTheThreshold) {
  const Built b = buildSpec("index_lookup", 64);
  const Network &tf = b.nets.at(0);
  OnnxOptions o;
  o.externalDataAbove = onnxWeightBytes(tf);
  EXPECT_FALSE(onnxUsesExternalData(tf, o));
  EXPECT_EQ(onnxFileNames(tf, "x", o), std::vector<std::string>{"x.onnx"});
  o.externalDataAbove = onnxWeightBytes(tf) - 1;
  EXPECT_TRUE(onnxUsesExternalData(tf, o));
  // By default: only what one protobuf cannot hold.
  EXPECT_FALSE(onnxUsesExternalData(tf, {}));
  EXPECT_EQ(OnnxOptions{}.externalDataAbove, kOnnxInlineLimit);
  // In memory there is no file to put them in.
  try {
    onnxModelBytes(b.spec.task, tf, int64_t(1) << 30, o);
    FAIL() << "expected a refusal";
  } catch (const UserError &e) {
    EXPECT_NE(std::string(e.what()).find("external data file"),
              std::string::npos)
        << e.what();
  }
}

TEST(OnnxExportExternalData, HeldOnceSoHalfTheInlineLimitSuffices) {
  const Built b = buildSpec("index_lookup", 64);
  const Network &tf = b.nets.at(0);
  const ScratchDir dir("handwire_onnx_external_limit");
  const int64_t need = onnxWeightBytes(tf);
  OnnxOptions external;
  external.externalDataAbove = 0;
  EXPECT_THROW(writeOnnx(b.spec.task, tf, dir.path.string(), "m", need), // 2x
               UserError);
  EXPECT_NO_THROW(
      writeOnnx(b.spec.task, tf, dir.path.string(), "m", need, external));
  try {
    writeOnnx(b.spec.task, tf, dir.path.string(), "m", need - 1, external);
    FAIL() << "expected a refusal";
  } catch (const UserError &e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find(std::to_string(need) + " bytes"), std::string::npos)
        << msg;
    EXPECT_NE(msg.find("--memory-limit"), std::string::npos) << msg;
  }
}

TEST(OnnxExportExternalData, DamagedDataFilesAreRefusedByName) {
  const Built b = buildSpec("index_lookup", 64);
  const Network &tf = b.nets.at(0);
  const ScratchDir dir("handwire_onnx_external_damaged");
  OnnxOptions external;
  external.externalDataAbove = 0;
  const std::vector<std::string> paths = writeOnnx(
      b.spec.task, tf, dir.path.string(), "m", int64_t(1) << 30, external);
  ASSERT_EQ(paths.size(), 2u);
  // The .onnx alone, in memory, cannot be checked: its weights are elsewhere.
  std::ifstream in(paths[0], std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(in)), {});
  EXPECT_THROW(checkOnnxBytes(bytes, "m.onnx"), UserError);
  // Truncated: the last tensor ends beyond the file.
  fs::resize_file(paths[1], fs::file_size(paths[1]) - 1);
  try {
    checkOnnxFile(paths[0]);
    FAIL() << "expected a refusal";
  } catch (const UserError &e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("m.onnx.data"), std::string::npos) << msg;
    EXPECT_NE(msg.find("truncated"), std::string::npos) << msg;
  }
  // Missing: the checker names the file it looked for.
  fs::remove(paths[1]);
  try {
    checkOnnxFile(paths[0]);
    FAIL() << "expected a refusal";
  } catch (const UserError &e) {
    EXPECT_NE(std::string(e.what()).find("m.onnx.data"), std::string::npos)
        << e.what();
  }
}

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
