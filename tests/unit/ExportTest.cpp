// safetensors + JSON: round trips, determinism, and corrupt files refused
// with a message that names the file and the fault.
#include "TestBuild.h"
#include "TestFiles.h"
#include "TestSpecs.h"

#include "Pipeline.h"
#include "constructions/Construction.h"
#include "eval/Evaluate.h"
#include "export/ModelFile.h"
#include "export/Safetensors.h"
#include "reference/Evaluator.h"
#include "support/Parallel.h"
#include "tasks/Generators.h"
#include "tasks/TaskJson.h"
#include "tasks/TaskSemantics.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <unistd.h>
#include <vector>

namespace handwire {
namespace {

namespace fs = std::filesystem;
using testing::indexLookupSpec;

using testing::slurp;
using testing::tempDir;

// FNV-1a of a file, so that failures print a number, not megabytes.
uint64_t fileHash(const std::string &path) {
  uint64_t h = 1469598103934665603ULL;
  for (unsigned char c : slurp(path))
    h = (h ^ c) * 1099511628211ULL;
  return h;
}

using testing::build;

using Case = testing::ConstructionCase;
std::vector<Case> everyConstruction() { return testing::everyConstruction(16); }

TEST(Export, RoundTripCasesCoverEveryConstruction) {
  std::set<std::string> covered, registered;
  for (const Case &c : everyConstruction())
    covered.insert(build(c.spec, c.model).provenance.construction);
  for (const Construction *c : allConstructions())
    registered.insert(c->id());
  EXPECT_EQ(covered, registered);
}

class RoundTrip : public ::testing::TestWithParam<int> {};

// A model file holds everything needed to evaluate the model again: the
// task (with its parameters), the network and its certificate.
TEST_P(RoundTrip, ReadBackGivesTheSameNetworkAndDecisions) {
  const Case c = everyConstruction()[GetParam()];
  const Spec &spec = c.spec;
  Network net = build(spec, c.model);
  const std::string dir = tempDir("rt");
  ModelPaths paths = writeModel(spec.task, net, dir, "m");
  LoadedModel back = readModel(paths.config, int64_t(1) << 30);
  EXPECT_EQ(back.task.kind, spec.task.kind);
  // Every parameter of the task's definition (the alphabet where it has one).
  EXPECT_EQ(taskToJson(back.task), taskToJson(spec.task));
  EXPECT_EQ(back.task.maxLength, spec.task.maxLength);
  EXPECT_EQ(back.task.brackets, spec.task.brackets);
  EXPECT_EQ(back.task.depth, spec.task.depth);
  EXPECT_EQ(back.task.dimension, spec.task.dimension);
  EXPECT_EQ(back.task.labels, spec.task.labels);
  EXPECT_EQ(back.task.margin, spec.task.margin);
  EXPECT_EQ(back.net.width, net.width);
  EXPECT_EQ(back.net.certificate.certified, net.certificate.certified);
  EXPECT_EQ(back.net.provenance.construction, net.provenance.construction);
  if (net.certificate.code) {
    EXPECT_EQ(back.net.certificate.code->dim, net.certificate.code->dim);
    EXPECT_EQ(back.net.certificate.code->worstPairs,
              net.certificate.code->worstPairs);
  }
  // Inputs generated from the task read back, answered as the task says.
  ExampleGenerator gen(back.task, InputDistribution::Mixed, 3);
  Example ex;
  for (uint64_t i = 0; i < 200; ++i) {
    gen.generate(i, ex);
    auto a = referenceLogits<float>(net, ex.tokens.data(),
                                    int64_t(ex.tokens.size()));
    auto b = referenceLogits<float>(back.net, ex.tokens.data(),
                                    int64_t(ex.tokens.size()));
    ASSERT_EQ(a, b); // bit-identical weights give bit-identical logits
    Eigen::VectorXd l = b.cast<double>();
    ASSERT_EQ(decision(l.data(), l.size()), groundTruth(back.task, ex.tokens))
        << c.name << " input " << i;
  }
  // Writing the loaded model again gives the same bytes.
  ModelPaths again = writeModel(back.task, back.net, dir + "/again", "m");
  EXPECT_EQ(fileHash(paths.weights), fileHash(again.weights));
  EXPECT_EQ(fileHash(paths.config), fileHash(again.config));
}

INSTANTIATE_TEST_SUITE_P(
    Constructions, RoundTrip,
    ::testing::Range(0, static_cast<int>(everyConstruction().size())),
    [](const auto &info) { return everyConstruction()[info.param].name; });

// Same spec and seed: the same bytes, on every run and with any number of
// threads measuring the code (the config holds the code's certificate, whose
// worst pairs were once thread-dependent).
TEST(Export, SameSpecAndSeedGiveIdenticalFiles) {
  Spec spec = indexLookupSpec(300);
  spec.models[0].code = CodeFamily::Rademacher; // the seeded family
  const std::string dir = tempDir("det");
  ModelPaths a = writeModel(spec.task, build(spec, 0), dir + "/a", "m");
  ModelPaths b = writeModel(spec.task, build(spec, 0), dir + "/b", "m");
  EXPECT_EQ(fileHash(a.weights), fileHash(b.weights));
  EXPECT_EQ(fileHash(a.config), fileHash(b.config));
  for (unsigned threads : {1u, 2u, 5u}) {
    setWorkerThreads(threads);
    const std::string sub = dir + "/t" + std::to_string(threads);
    ModelPaths t = writeModel(spec.task, build(spec, 0), sub, "m");
    EXPECT_EQ(fileHash(a.weights), fileHash(t.weights)) << threads;
    EXPECT_EQ(fileHash(a.config), fileHash(t.config)) << threads;
  }
  setWorkerThreads(0);
  spec.models[0].seed = 8;
  ModelPaths c = writeModel(spec.task, build(spec, 0), dir + "/c", "m");
  EXPECT_NE(fileHash(a.weights), fileHash(c.weights));
}

TEST(Export, SafetensorsHeaderIsStandard) {
  const std::string dir = tempDir("st");
  const float data[] = {1, 2, 3, 4, 5, 6};
  writeSafetensors(dir + "/x.safetensors", {{"w", DType::F32, {2, 3}, data}},
                   {{"k", "v"}});
  const std::string bytes = slurp(dir + "/x.safetensors");
  uint64_t n = 0;
  for (int i = 0; i < 8; ++i)
    n |= uint64_t(static_cast<unsigned char>(bytes[i])) << (8 * i);
  EXPECT_EQ(n % 8, 0u);
  const std::string header = bytes.substr(8, n);
  EXPECT_NE(
      header.find(
          "\"w\":{\"data_offsets\":[0,24],\"dtype\":\"F32\",\"shape\":[2,3]}"),
      std::string::npos)
      << header;
  EXPECT_EQ(bytes.size(), 8 + n + 24);
  SafetensorsFile f = readSafetensors(dir + "/x.safetensors", 1 << 20);
  EXPECT_EQ(f.metadata.at("k"), "v");
  EXPECT_EQ(f.tensors.at("w").f32()[5], 6.0f);
}

// Each corruption must give a UserError whose text contains `expect`.
void expectRefused(const std::string &path, const std::string &expect) {
  try {
    readModel(path, int64_t(1) << 30);
    ADD_FAILURE() << "accepted a corrupt model: " << path;
  } catch (const UserError &e) {
    EXPECT_NE(std::string(e.what()).find(expect), std::string::npos)
        << e.what();
  }
}

TEST(Export, CorruptModelFilesAreRefusedWithTheirFault) {
  Spec spec = indexLookupSpec(16);
  const std::string dir = tempDir("bad");
  ModelPaths p = writeModel(spec.task, build(spec, 0), dir, "m");
  const std::string weights = slurp(p.weights), config = slurp(p.config);
  auto put = [](const std::string &path, const std::string &text) {
    std::ofstream(path, std::ios::binary | std::ios::trunc) << text;
  };

  put(p.weights, weights.substr(0, weights.size() - 100));
  expectRefused(p.config, "truncated");
  put(p.weights, weights.substr(0, 5));
  expectRefused(p.config, "shorter than its 8-byte header");
  put(p.weights, std::string(8, '\xff') + weights.substr(8));
  expectRefused(p.config, "header length");
  std::string garbled = weights;
  garbled[8] = '#'; // the header's opening brace
  put(p.weights, garbled);
  expectRefused(p.config, "not JSON");
  put(p.weights, weights);

  put(p.config, "{not json");
  expectRefused(p.config, "not valid JSON");
  put(p.config, "{\"format\": \"something-else\"}");
  expectRefused(p.config, "not a handwire model");
  // The first "width" is residual block S's: the map no longer tiles the
  // stream.
  std::string wrongWidth = config;
  const size_t w = wrongWidth.find("\"width\": ") + 9;
  wrongWidth.replace(w, wrongWidth.find_first_not_of("0123456789", w) - w, "7");
  put(p.config, wrongWidth);
  expectRefused(p.config, "inconsistent network: residual block 'K'");
  // The model's own width: the residual blocks no longer fit in it.
  std::string wrongModelWidth = config;
  const size_t mw = wrongModelWidth.rfind("\"width\": ") + 9;
  wrongModelWidth.replace(
      mw, wrongModelWidth.find_first_not_of("0123456789", mw) - mw, "7");
  put(p.config, wrongModelWidth);
  expectRefused(p.config,
                "field 'residual_blocks[2].offset' is 8, outside [0, 6]");
  std::string noWeights = config;
  noWeights.replace(noWeights.find("\"weights\": \"m.safetensors\""), 26,
                    "\"weights\": \"../etc/passwd\"");
  put(p.config, noWeights);
  expectRefused(p.config, "plain file name");
  std::string wrongKind = config;
  wrongKind.replace(wrongKind.find("\"index_lookup\""), 14, "\"sorting\"");
  put(p.config, wrongKind);
  expectRefused(p.config, "field 'task.kind' names an unknown task");
  // The task fixes the vocabulary: 4 symbols + 16 index tokens.
  std::string moreTokens = config;
  moreTokens.replace(moreTokens.find("\"token_count\": 20"), 17,
                     "\"token_count\": 21");
  put(p.config, moreTokens);
  expectRefused(
      p.config,
      "field 'vocabulary.token_count' is 21, but the task implies 20");
  fs::remove(p.config);
  expectRefused(p.config, "cannot open");
}

TEST(Export, UnwritableOutputIsAUserError) {
  Spec spec = indexLookupSpec(8);
  EXPECT_THROW(
      writeModel(spec.task, build(spec, 1), "/proc/handwire-cannot-write", "m"),
      UserError);
}

} // namespace
} // namespace handwire
