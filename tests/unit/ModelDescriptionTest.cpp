// A model file explains itself (issue #21): for every shipped spec, the
// config's vocabulary names every token as Vocabulary::tokenName does (ranges
// expanded), its roles are documented, its classes are className's, and its
// input layout is there; the reader accepts files with these sections or
// without them (older files), and refuses a wrong one naming the field.
#include "Pipeline.h"
#include "export/ModelFile.h"
#include "export/Safetensors.h"
#include "spec/Vocabulary.h"
#include "support/Diagnostics.h"
#include "tasks/TaskDefinition.h"
#include "tasks/TaskJson.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <unistd.h>
#include <vector>

namespace handwire {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// Every shipped spec, with max_length overridden when N > 0.
std::vector<Spec> shippedSpecs(int64_t N = 0) {
  std::vector<Spec> specs;
  std::vector<fs::path> paths;
  for (const auto &e :
       fs::directory_iterator(fs::path(HANDWIRE_SOURCE_DIR) / "specs"))
    if (e.path().extension() == ".task")
      paths.push_back(e.path());
  std::sort(paths.begin(), paths.end());
  for (const fs::path &p : paths) {
    DiagnosticEngine diags;
    std::vector<std::string> overrides;
    if (N > 0)
      overrides.push_back("task.max_length=" + std::to_string(N));
    auto spec = loadSpec(p.string(), overrides, diags);
    EXPECT_TRUE(spec) << p;
    if (spec)
      specs.push_back(std::move(*spec));
  }
  EXPECT_GE(specs.size(), 8u); // specs/ holds eight
  return specs;
}

// The value of a range's field at offset o, as docs/export.md defines it.
std::string fieldText(const json &f, int64_t o) {
  const int64_t q = o / f.at("every").get<int64_t>();
  const int64_t m = f.value("modulo", int64_t(0));
  const int64_t v = f.at("from").get<int64_t>() + (m > 0 ? q % m : q);
  if (f.contains("names"))
    return f.at("names").at(static_cast<size_t>(v)).get<std::string>();
  return std::to_string(v);
}

// A range's name pattern with every {field} replaced at offset o.
std::string expandPattern(const json &range, int64_t o) {
  const std::string pattern = range.at("name").get<std::string>();
  std::string out;
  for (size_t i = 0; i < pattern.size(); ++i) {
    if (pattern[i] != '{') {
      out += pattern[i];
      continue;
    }
    const size_t close = pattern.find('}', i);
    EXPECT_NE(close, std::string::npos) << pattern;
    out += fieldText(range.at(pattern.substr(i + 1, close - i - 1)), o);
    i = close;
  }
  return out;
}

struct Expanded {
  std::vector<std::string> names, roles;
};

// vocabulary.tokens, token by token; checks the entries are in token order
// with no gap.
Expanded expandTokens(const json &tokens) {
  Expanded e;
  for (const json &entry : tokens) {
    const int64_t next = static_cast<int64_t>(e.names.size());
    if (entry.contains("token")) {
      EXPECT_EQ(entry.at("token").get<int64_t>(), next);
      e.names.push_back(entry.at("name"));
      e.roles.push_back(entry.at("role"));
      continue;
    }
    EXPECT_EQ(entry.at("first").get<int64_t>(), next);
    const int64_t count = entry.at("count");
    EXPECT_GT(count, kMaxListedGroup) << "short groups are listed";
    for (int64_t o = 0; o < count; ++o) {
      e.names.push_back(expandPattern(entry, o));
      e.roles.push_back(entry.at("role"));
    }
  }
  return e;
}

// The config's description agrees with the task's vocabulary.
void expectDescribes(const TaskSpec &task, const json &cfg) {
  const Vocabulary voc = vocabularyOf(task);
  const json &v = cfg.at("vocabulary");
  const Expanded e = expandTokens(v.at("tokens"));
  ASSERT_EQ(static_cast<int64_t>(e.names.size()), voc.tokenCount);
  for (int64_t t = 0; t < voc.tokenCount; ++t) {
    ASSERT_EQ(e.names[t], voc.tokenName(task, t)) << "token " << t;
    // Every role is explained once.
    ASSERT_TRUE(v.at("roles").contains(e.roles[t])) << e.roles[t];
  }
  const json &classes = cfg.at("classes");
  ASSERT_EQ(static_cast<int64_t>(classes.size()), voc.classCount);
  for (int64_t c = 0; c < voc.classCount; ++c) {
    EXPECT_EQ(classes[c].at("class").get<int64_t>(), c);
    EXPECT_EQ(classes[c].at("name").get<std::string>(), voc.className(task, c));
    EXPECT_FALSE(classes[c].at("meaning").get<std::string>().empty());
  }
  const json &layout = cfg.at("input_layout");
  for (const char *field :
       {"pattern", "length", "description", "answer", "read_at"})
    EXPECT_FALSE(layout.at(field).get<std::string>().empty()) << field;
  EXPECT_TRUE(layout.at("variables").contains("n"));
  // Continuous inputs are declared where the task has them.
  const int64_t F = taskDefinition(task.kind).featureDim(task);
  EXPECT_EQ(layout.contains("features"), F > 0);
  if (F > 0) {
    EXPECT_EQ(layout.at("features").at("per_position").get<int64_t>(), F);
  }
}

// Every model of every shipped spec at N = 16, through the model file.
TEST(ModelDescription, EveryShippedModelNamesEveryTokenAndClass) {
  for (const Spec &spec : shippedSpecs(16)) {
    for (const ModelSpec &m : spec.models) {
      SCOPED_TRACE(spec.file + " " + m.name);
      DiagnosticEngine diags;
      auto net = buildNetwork(spec, m, {}, diags);
      ASSERT_TRUE(net);
      const json cfg =
          json::parse(modelConfigJson(spec.task, *net, "m.safetensors"));
      expectDescribes(spec.task, cfg);
    }
  }
}

// At the shipped sizes and at N = 2^20 the description is what a model file
// would carry (the same functions), and stays small: long groups are ranges.
TEST(ModelDescription, LargeVocabulariesAreRanges) {
  for (int64_t N : {int64_t(0), int64_t(1) << 20}) {
    for (const Spec &spec : shippedSpecs(N)) {
      SCOPED_TRACE(spec.file + " N = " + std::to_string(spec.task.maxLength));
      const json cfg = {{"vocabulary",
                         {{"tokens", vocabularyTokensJson(spec.task)},
                          {"roles", roleMeaningsJson(spec.task)}}},
                        {"classes", classesJson(spec.task)},
                        {"input_layout", inputLayoutJson(spec.task)}};
      expectDescribes(spec.task, cfg);
      // Only the alphabet or the cube's points (at most 2^16 each) are
      // listed one by one in any shipped spec; IDX_p never is.
      EXPECT_LE(cfg["vocabulary"]["tokens"].size(), 70000u);
      if (spec.task.kind == TaskKind::IndexLookup && N > 0) {
        const json &last = cfg["vocabulary"]["tokens"].back();
        EXPECT_EQ(last.at("count").get<int64_t>(), N);
        EXPECT_EQ(last.at("name"), "IDX_{p}");
        EXPECT_EQ(last.at("p").at("from"), 1);
      }
    }
  }
}

// The index-lookup model at N = 16, both files in memory.
struct ModelText {
  std::string config, weights;
};
ModelText indexLookupModel() {
  DiagnosticEngine diags;
  const std::string path =
      (fs::path(HANDWIRE_SOURCE_DIR) / "specs" / "index_lookup.task").string();
  auto spec = loadSpec(path, {"task.max_length=16"}, diags);
  EXPECT_TRUE(spec);
  auto net = buildNetwork(*spec, spec->models[0], {}, diags);
  EXPECT_TRUE(net);
  const std::string dir = (fs::temp_directory_path() /
                           ("handwire-describe-" + std::to_string(::getpid())))
                              .string();
  const ModelPaths p = writeModel(spec->task, *net, dir, "m");
  auto slurp = [](const std::string &f) {
    std::ifstream in(f, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  };
  ModelText m{slurp(p.config), slurp(p.weights)};
  fs::remove_all(dir);
  return m;
}

// The error reading the model with its config edited, or "accepted".
std::string readEdited(const ModelText &m,
                       const std::function<void(json &)> &edit) {
  json j = json::parse(m.config);
  edit(j);
  try {
    readModelText(j.dump(1), "dir/m.json", [&](const std::string &path) {
      std::istringstream in(m.weights);
      return readSafetensors(in, static_cast<int64_t>(m.weights.size()), path);
    });
  } catch (const UserError &e) {
    return e.what();
  }
  return "accepted";
}

TEST(ModelDescription, ReaderAcceptsOldFilesAndRefusesWrongSections) {
  const ModelText m = indexLookupModel();
  EXPECT_EQ(readEdited(m, [](json &) {}), "accepted");
  // Files written before the sections existed.
  EXPECT_EQ(readEdited(m,
                       [](json &j) {
                         j["vocabulary"].erase("tokens");
                         j["vocabulary"].erase("roles");
                         j.erase("input_layout");
                         j.erase("classes");
                       }),
            "accepted");
  auto refusedAt = [&](const std::function<void(json &)> &edit,
                       const std::string &field) {
    const std::string why = readEdited(m, edit);
    EXPECT_NE(why.find("field '" + field + "'"), std::string::npos) << why;
    EXPECT_NE(why.find("dir/m.json"), std::string::npos) << why;
  };
  refusedAt([](json &j) { j["vocabulary"]["tokens"][1]["name"] = "c"; },
            "vocabulary.tokens[1].name");
  refusedAt([](json &j) { j["vocabulary"]["tokens"][5]["p"] = 3; },
            "vocabulary.tokens[5].p");
  refusedAt([](json &j) { j["vocabulary"]["tokens"].erase(0); },
            "vocabulary.tokens[0].class"); // keys compare in sorted order
  refusedAt([](json &j) { j["vocabulary"]["roles"]["index"] = "?"; },
            "vocabulary.roles.index");
  refusedAt([](json &j) { j["classes"][2]["name"] = "a"; }, "classes[2].name");
  refusedAt([](json &j) { j["classes"].push_back(1); }, "classes");
  refusedAt([](json &j) { j["input_layout"]["pattern"] = "s_1 IDX_p"; },
            "input_layout.pattern");
  refusedAt([](json &j) { j["input_layout"]["extra"] = 1; },
            "input_layout.extra");
  refusedAt([](json &j) { j["input_layout"]["variables"]["n"]["max"] = 17; },
            "input_layout.variables.n.max");
}

} // namespace
} // namespace handwire
