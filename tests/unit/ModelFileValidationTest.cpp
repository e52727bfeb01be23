// Corrupt model files, one corruption at a time: each must be refused with a
// UserError naming the file and the field (JSON path) or tensor at fault,
// before any value reaches code that would index with it. Issue #20, class 1;
// the CLI-level cases are tests/hostile/model_files, the fuzzer
// tests/fuzz/FuzzModelFile.cpp.
#include "TestFiles.h"
#include "TestSpecs.h"

#include "Pipeline.h"
#include "eval/Evaluate.h"
#include "export/ModelFile.h"
#include "export/Safetensors.h"
#include "support/Diagnostics.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cstring>
#include <functional>
#include <sstream>
#include <string>

namespace handwire {
namespace {

using nlohmann::json;
using testing::indexLookupSpec;
using testing::slurp;
using testing::tempDir;

// A real model's two files, in memory.
struct ModelText {
  std::string config, weights;
};

ModelText compiled(int model) {
  const Spec spec = indexLookupSpec(16);
  DiagnosticEngine diags;
  std::optional<Network> net =
      buildNetwork(spec, spec.models[model], {}, diags);
  EXPECT_TRUE(net);
  const std::string dir = tempDir("validate" + std::to_string(model));
  const ModelPaths p = writeModel(spec.task, *net, dir, "m");
  return {slurp(p.config), slurp(p.weights)};
}

const ModelText &transformer() {
  static const ModelText m = compiled(0);
  return m;
}
const ModelText &rnn() {
  static const ModelText m = compiled(1);
  return m;
}

LoadedModel load(const ModelText &m) {
  return readModelText(m.config, "dir/m.json", [&](const std::string &path) {
    std::istringstream in(m.weights);
    return readSafetensors(in, static_cast<int64_t>(m.weights.size()), path);
  });
}

// The error reading `m` gives, or "accepted".
std::string refusal(const ModelText &m) {
  try {
    load(m);
  } catch (const UserError &e) {
    return e.what();
  }
  return "accepted";
}

// The model with its config changed by `edit`.
ModelText withConfig(const ModelText &base,
                     const std::function<void(json &)> &edit,
                     const std::string &infinity = "") {
  json j = json::parse(base.config);
  edit(j);
  std::string text = j.dump(1);
  // JSON cannot spell infinity: 1e999 is what a writer might print.
  if (!infinity.empty())
    text.replace(text.find(infinity), infinity.size(), "1e999");
  return {text, base.weights};
}

// The safetensors header and data of a weights file.
struct Weights {
  json header;
  std::string data;
};
Weights parseWeights(const std::string &bytes) {
  uint64_t n = 0;
  for (int i = 0; i < 8; ++i)
    n |= uint64_t(static_cast<unsigned char>(bytes[i])) << (8 * i);
  return {json::parse(bytes.substr(8, n)), bytes.substr(8 + n)};
}
std::string weightsBytes(const std::string &headerText,
                         const std::string &data) {
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i)
    out[i] = static_cast<char>(uint64_t(headerText.size()) >> (8 * i));
  return out + headerText + data;
}
ModelText withWeights(const ModelText &base,
                      const std::function<void(Weights &)> &edit) {
  Weights w = parseWeights(base.weights);
  edit(w);
  return {base.config, weightsBytes(w.header.dump(), w.data)};
}

// Expects the refusal to name the file (config or weights) and contain
// `expect` (the field and what is wrong with it).
void expectRefusal(const ModelText &m, const std::string &file,
                   const std::string &expect) {
  const std::string why = refusal(m);
  EXPECT_NE(why.find("'dir/" + file + "'"), std::string::npos) << why;
  EXPECT_NE(why.find(expect), std::string::npos) << why;
}

TEST(ModelFileValidation, UncorruptedModelsLoad) {
  EXPECT_EQ(refusal(transformer()), "accepted");
  EXPECT_EQ(refusal(rnn()), "accepted");
  // The transformer's code certificate has worst pairs: the cases below
  // corrupt real ones.
  const json j = json::parse(transformer().config);
  ASSERT_GE(j["certificate"]["code"]["worst_pairs"].size(), 2u);
  EXPECT_EQ(j["certificate"]["code"]["count"], 16); // a codeword per symbol
}

// The code's lower limit and the bound's name survive a round trip; files
// written before the name existed still load, naming no bound.
TEST(ModelFileValidation, LowerLimitBoundIsOptional) {
  const LoadedModel fresh = load(transformer());
  const CodeCertificate &k = *fresh.net.certificate.code;
  EXPECT_GT(k.lowerLimitDim, 0);
  EXPECT_LE(k.lowerLimitDim, k.dim);
  EXPECT_FALSE(k.lowerLimitBound.empty());
  const ModelText old = withConfig(transformer(), [](json &j) {
    j["certificate"]["code"].erase("lower_limit_bound");
  });
  const LoadedModel loaded = load(old);
  const CodeCertificate &o = *loaded.net.certificate.code;
  EXPECT_EQ(o.lowerLimitBound, "");
  EXPECT_EQ(o.lowerLimitDim, k.lowerLimitDim);
  expectRefusal(withConfig(transformer(),
                           [](json &j) {
                             j["certificate"]["code"]["lower_limit_bound"] = 3;
                           }),
                "m.json", "field 'certificate.code.lower_limit_bound'");
}

// The known crash: eval aimed adversarial inputs at codeword -3 (heap
// corruption, exit 134). Every id must name one of `count` codewords.
TEST(ModelFileValidation, WorstPairIndicesMustNameCodewords) {
  auto pair = [](json first, json second) {
    return withConfig(transformer(), [&](json &j) {
      j["certificate"]["code"]["worst_pairs"][1] = {first, second};
    });
  };
  expectRefusal(pair(-3, 4), "m.json",
                "field 'certificate.code.worst_pairs[1][0]' is -3, outside "
                "[0, 15]");
  expectRefusal(pair(4, 16), "m.json",
                "field 'certificate.code.worst_pairs[1][1]' is 16, outside "
                "[0, 15]");
  expectRefusal(pair(4, std::numeric_limits<uint64_t>::max()), "m.json",
                "field 'certificate.code.worst_pairs[1][1]' is "
                "18446744073709551615, outside [0, 15]");
  expectRefusal(pair(5, 5), "m.json",
                "field 'certificate.code.worst_pairs[1]' pairs codeword 5 "
                "with itself");
  expectRefusal(pair("1", 2), "m.json",
                "field 'certificate.code.worst_pairs[1][0]' must be an "
                "integer, got \"1\"");
  expectRefusal(withConfig(transformer(),
                           [](json &j) {
                             j["certificate"]["code"]["worst_pairs"][0] = {1};
                           }),
                "m.json",
                "field 'certificate.code.worst_pairs[0]' must be a pair");
  // With a count of 2, a worst pair naming codeword 2 or more is refused.
  expectRefusal(
      withConfig(transformer(),
                 [](json &j) { j["certificate"]["code"]["count"] = 2; }),
      "m.json", "outside [0, 1]");
}

// The same rules as Sema applies to a .task file's alphabet.
TEST(ModelFileValidation, AlphabetFollowsTheSpecRules) {
  expectRefusal(withConfig(transformer(),
                           [](json &j) {
                             j["task"]["alphabet"] = {"a", "b", "a", "d"};
                           }),
                "m.json", "field 'task.alphabet[2]' repeats the symbol \"a\"");
  expectRefusal(withConfig(transformer(),
                           [](json &j) {
                             j["task"]["alphabet"][1] = std::string("b\0", 2);
                           }),
                "m.json",
                "field 'task.alphabet[1]' holds a control character (byte 0)");
  expectRefusal(
      withConfig(transformer(), [](json &j) { j["task"]["alphabet"][3] = 4; }),
      "m.json", "field 'task.alphabet[3]' must be a string, got 4");
}

TEST(ModelFileValidation, TaskFieldsHaveTheSpecRanges) {
  expectRefusal(
      withConfig(transformer(), [](json &j) { j["task"]["max_length"] = 0; }),
      "m.json", "field 'task.max_length' is 0, outside [2, ");
  expectRefusal(withConfig(transformer(),
                           [](json &j) {
                             j["task"]["max_length"] = -(int64_t(1) << 62);
                           }),
                "m.json", "field 'task.max_length' is -4611686018427387904");
  expectRefusal(
      withConfig(transformer(), [](json &j) { j["task"]["depth"] = 2; }),
      "m.json", "field 'task.depth' is not a field of the index_lookup task");
  expectRefusal(withConfig(transformer(), [](json &j) { j["task"] = "x"; }),
                "m.json", "field 'task' must be an object");
}

TEST(ModelFileValidation, NumbersMustBeFiniteAndInRange) {
  // JSON cannot spell infinity, and the parser refuses 1e999 (the reader
  // still checks that every number is finite).
  expectRefusal(
      withConfig(
          transformer(),
          [](json &j) { j["certificate"]["logit_tolerance"] = 7.2512345; },
          "7.2512345"),
      "m.json", "number overflow parsing '1e999'");
  expectRefusal(
      withConfig(transformer(),
                 [](json &j) { j["certificate"]["logit_tolerance"] = -1e-3; }),
      "m.json", "field 'certificate.logit_tolerance' is -0.001");
  expectRefusal(
      withConfig(transformer(),
                 [](json &j) { j["certificate"]["heads"][0]["gap"] = -1; }),
      "m.json", "field 'certificate.heads[0].gap' is -1, outside");
  expectRefusal(
      withConfig(transformer(),
                 [](json &j) { j["certificate"]["code"]["coherence"] = 1.5; }),
      "m.json", "field 'certificate.code.coherence' is 1.5");
  expectRefusal(withConfig(transformer(),
                           [](json &j) {
                             j["vocabulary"]["token_count"] =
                                 std::numeric_limits<uint64_t>::max();
                           }),
                "m.json",
                "field 'vocabulary.token_count' is 18446744073709551615");
  expectRefusal(
      withConfig(transformer(),
                 [](json &j) { j["certificate"]["code"]["seed"] = -1; }),
      "m.json", "field 'certificate.code.seed' must be an integer");
}

// Values of the wrong type were read with nlohmann's value() / get(), whose
// exceptions escaped as an abort (exit 134).
TEST(ModelFileValidation, WrongTypesNameTheField) {
  const std::pair<std::function<void(json &)>, std::string> cases[] = {
      {[](json &j) { j["certificate"]["certified"] = "yes"; },
       "field 'certificate.certified' must be true or false, got \"yes\""},
      {[](json &j) { j["certificate"] = 0; },
       "field 'certificate' must be an object, got 0"},
      {[](json &j) { j["certificate"]["argument"] = nullptr; },
       "field 'certificate.argument' must be a string, got null"},
      {[](json &j) { j["certificate"]["failures"] = {1}; },
       "field 'certificate.failures[0]' must be a string, got 1"},
      {[](json &j) { j["certificate"]["heads"] = json::object(); },
       "field 'certificate.heads' must be a list, got an object"},
      {[](json &j) { j["residual_blocks"][1]["meaning"] = 5; },
       "field 'residual_blocks[1].meaning' must be a string, got 5"},
      {[](json &j) { j["provenance"]["source"] = nullptr; },
       "field 'provenance.source' must be a string, got null"},
      {[](json &j) { j["layers"][0]["mlp"] = 1; },
       "field 'layers[0].mlp' must be true or false, got 1"},
      {[](json &j) { j["layers"][0] = 3; },
       "field 'layers[0]' must be an object, got 3"},
      {[](json &j) { j["certificate"]["code"]["alternatives"][0] = "x"; },
       "field 'certificate.code.alternatives[0]' must be an object"},
      {[](json &j) { j["certificate"]["code"]["requirement"] = "both"; },
       "field 'certificate.code.requirement' must be \"two-sided\" or"},
  };
  for (const auto &[edit, expect] : cases)
    expectRefusal(withConfig(transformer(), edit), "m.json", expect);
}

TEST(ModelFileValidation, NamesHaveNoControlCharacters) {
  expectRefusal(
      withConfig(transformer(), [](json &j) { j["name"] = "\x1b[2Jevil"; }),
      "m.json", "field 'name' holds a control character (byte 27)");
  expectRefusal(
      withConfig(transformer(),
                 [](json &j) { j["residual_blocks"][0]["name"] = ""; }),
      "m.json", "field 'residual_blocks[0].name' must not be empty");
  // The weights file name: a NUL would cut the path the OS sees.
  expectRefusal(withConfig(transformer(),
                           [](json &j) {
                             j["weights"] = std::string("m.safetensors\0x", 15);
                           }),
                "m.json", "field 'weights' holds a control character (byte 0)");
  expectRefusal(
      withConfig(transformer(),
                 [](json &j) { j["weights"] = std::string(5000, 'x'); }),
      "m.json", "field 'weights' is 5000 bytes long");
}

TEST(ModelFileValidation, BlocksAndLayersFitTheDeclaredWidth) {
  expectRefusal(
      withConfig(transformer(),
                 [](json &j) { j["residual_blocks"][2]["offset"] = -1; }),
      "m.json", "field 'residual_blocks[2].offset' is -1, outside");
  expectRefusal(
      withConfig(transformer(), [](json &j) { j["layers"] = json::array(); }),
      "m.json", "field 'layers' has 0 entries, outside [1, 64]");
  expectRefusal(
      withConfig(transformer(), [](json &j) { j["layers"][0]["heads"] = 65; }),
      "m.json", "field 'layers[0].heads' is 65, outside [0, 64]");
}

// --- the weights file ---

TEST(ModelFileValidation, TensorNamesArePrintableAndUnique) {
  expectRefusal(withWeights(transformer(),
                            [](Weights &w) {
                              json e = w.header["readout.bias"];
                              w.header.erase("readout.bias");
                              w.header[std::string("readout.bias\0", 13)] = e;
                            }),
                "m.safetensors",
                "tensor 'readout.bias\\x00': a tensor name must be 1 to 256 "
                "printable characters");
  // The same name twice: nlohmann would keep the second entry only.
  ModelText twice = transformer();
  Weights w = parseWeights(twice.weights);
  std::string header = w.header.dump();
  header.insert(header.size() - 1,
                ",\"readout.bias\":" + w.header["readout.bias"].dump());
  twice.weights = weightsBytes(header, w.data);
  expectRefusal(twice, "m.safetensors",
                "tensor 'readout.bias' appears twice in the header");
}

TEST(ModelFileValidation, TensorsMatchTheConfig) {
  // An extra tensor: the config lost a layer, or the weights are another
  // model's.
  expectRefusal(
      withWeights(transformer(),
                  [](Weights &w) {
                    json e = w.header["readout.bias"];
                    e["data_offsets"] = {w.data.size(), w.data.size() + 16};
                    w.data.append(16, '\0');
                    w.header["layers.1.mlp.in_bias"] = e;
                  }),
      "m.safetensors",
      "tensor 'layers.1.mlp.in_bias' is not part of the model");
  expectRefusal(withWeights(transformer(),
                            [](Weights &w) {
                              w.header["readout.weight"]["dtype"] = "I32";
                            }),
                "m.safetensors",
                "tensor 'readout.weight' has dtype I32, expected F32");
  expectRefusal(withWeights(transformer(),
                            [](Weights &w) {
                              w.header["readout.weight"]["dtype"] = {1, 2};
                            }),
                "m.safetensors",
                "tensor 'readout.weight': unsupported dtype of JSON type "
                "array");
}

TEST(ModelFileValidation, OffsetsAndShapesStayInsideTheData) {
  expectRefusal(
      withWeights(transformer(),
                  [](Weights &w) {
                    auto &o = w.header["readout.bias"]["data_offsets"];
                    o = {o[0].get<uint64_t>() + 4, o[1].get<uint64_t>() + 4};
                  }),
      "m.safetensors", "two tensors overlap");
  expectRefusal(
      withWeights(transformer(),
                  [](Weights &w) { w.header["readout.bias"]["shape"] = {-4}; }),
      "m.safetensors",
      "tensor 'readout.bias': shape entries must be non-negative");
  expectRefusal(
      withWeights(transformer(),
                  [](Weights &w) { w.data.resize(w.data.size() - 4); }),
      "m.safetensors", "truncated file?");
}

// [2^24, 2^40] elements: the count wrapped around to 0 in 64 bits, which
// matched data_offsets [0, 0] (the check must divide, not multiply).
TEST(ModelFileValidation, ShapeProductCannotWrapAround) {
  const std::string header = "{\"t\":{\"dtype\":\"F32\",\"shape\":[16777216,"
                             "1099511627776],\"data_offsets\":[0,0]}}";
  const std::string bytes =
      weightsBytes(header, std::string(size_t(1) << 24, '\0'));
  std::istringstream in(bytes);
  try {
    readSafetensors(in, static_cast<int64_t>(bytes.size()), "w.safetensors");
    ADD_FAILURE() << "accepted a shape of 2^64 elements";
  } catch (const UserError &e) {
    EXPECT_NE(std::string(e.what()).find(
                  "tensor 't': shape is larger than the file's data"),
              std::string::npos)
        << e.what();
  }
}

TEST(ModelFileValidation, SparseIndicesAndValuesAreChecked) {
  // CSR column ids index the hidden state.
  auto pokeInt = [](const std::string &tensor, int32_t value) {
    return withWeights(rnn(), [&](Weights &w) {
      const uint64_t at = w.header[tensor]["data_offsets"][0];
      std::memcpy(&w.data[at], &value, 4);
    });
  };
  expectRefusal(
      pokeInt("rnn.recurrent.columns", -1), "m.safetensors",
      "sparse tensor 'rnn.recurrent' has a column index out of range");
  expectRefusal(pokeInt("rnn.input.row_offsets", 5), "m.safetensors",
                "sparse tensor 'rnn.input' row_offsets must start at 0");
  // Found by the fuzzer: a row ending far past the values, with a later
  // offset back in range, had its columns read before the decrease was seen
  // (heap-buffer-overflow).
  expectRefusal(
      withWeights(rnn(),
                  [](Weights &w) {
                    const uint64_t at =
                        w.header["rnn.input.row_offsets"]["data_offsets"][0]
                            .get<uint64_t>() +
                        4;
                    const int32_t past = 100000;
                    std::memcpy(&w.data[at], &past, 4);
                  }),
      "m.safetensors",
      "sparse tensor 'rnn.input' row_offsets must not decrease");
  // A NaN weight reaches no forward pass.
  const std::string why = refusal(withWeights(rnn(), [](Weights &w) {
    const uint64_t at = w.header["rnn.bias"]["data_offsets"][0];
    const float nan = std::numeric_limits<float>::quiet_NaN();
    std::memcpy(&w.data[at], &nan, 4);
  }));
  EXPECT_NE(why.find("rnn.bias has a non-finite entry"), std::string::npos)
      << why;
}

// Whatever loads is safe to evaluate: the adversarial hints derived from the
// certificate stay inside the sequence.
TEST(ModelFileValidation, LoadedHintsAreInRange) {
  const LoadedModel m = load(transformer());
  const AdversarialHints h = adversarialHints(m.net);
  ASSERT_FALSE(h.coherentPositions.empty());
  for (const auto &[a, b] : h.coherentPositions) {
    EXPECT_GE(a, 1);
    EXPECT_GE(b, 1);
    EXPECT_LE(a, m.net.certificate.code->count);
    EXPECT_LE(b, m.net.certificate.code->count);
  }
}

} // namespace
} // namespace handwire
