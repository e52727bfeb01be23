// Every task definition through the TaskDefinition interface: the registry,
// the parameter table as the front end and the JSON form use it, the
// vocabulary, the generators against the semantics, and the lower bounds.
// Shipped specs (specs/*.task) supply the tasks, so a new spec is covered.
#include "frontend/Parser.h"
#include "frontend/Sema.h"
#include "tasks/Generators.h"
#include "tasks/TaskDefinition.h"
#include "tasks/TaskJson.h"
#include "tasks/TaskSemantics.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <set>

namespace handwire {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

std::string rendered(const DiagnosticEngine &diags) {
  std::string s;
  for (const auto &d : diags.diagnostics())
    s += diags.render(d);
  return s;
}

std::optional<Spec> analyze(const std::string &name, const std::string &text,
                            DiagnosticEngine &diags,
                            const std::vector<std::string> &overrides = {}) {
  auto file = parseTaskSource(name, text, diags);
  if (!file)
    return std::nullopt;
  for (const auto &o : overrides)
    if (!applyOverride(*file, o, diags))
      return std::nullopt;
  return analyzeSpec(*file, diags);
}

// The task of every shipped spec, with max_length overridden if maxLength > 0.
std::vector<TaskSpec> shippedTasks(int64_t maxLength = 0) {
  std::vector<TaskSpec> tasks;
  for (const auto &e :
       fs::directory_iterator(fs::path(HANDWIRE_SOURCE_DIR) / "specs")) {
    if (e.path().extension() != ".task")
      continue;
    DiagnosticEngine diags;
    auto file = parseTaskFile(e.path().string(), diags);
    EXPECT_TRUE(file) << rendered(diags);
    if (!file)
      continue;
    if (maxLength > 0) {
      EXPECT_TRUE(applyOverride(
          *file, "task.max_length=" + std::to_string(maxLength), diags));
    }
    auto spec = analyzeSpec(*file, diags);
    EXPECT_TRUE(spec) << e.path() << "\n" << rendered(diags);
    if (spec)
      tasks.push_back(spec->task);
  }
  EXPECT_GE(tasks.size(), 6u); // specs/ holds six
  return tasks;
}

TEST(TaskRegistry, IsSortedByNameAndKeyedByKindAndName) {
  const auto &all = allTaskDefinitions();
  ASSERT_GE(all.size(), 5u);
  std::set<TaskKind> kinds;
  for (size_t i = 0; i < all.size(); ++i) {
    if (i > 0) {
      EXPECT_LT(std::string(all[i - 1]->name()), std::string(all[i]->name()));
    }
    EXPECT_TRUE(kinds.insert(all[i]->kind()).second) << all[i]->name();
    EXPECT_EQ(&taskDefinition(all[i]->kind()), all[i]);
    EXPECT_EQ(taskDefinitionByName(all[i]->name()), all[i]);
    EXPECT_STREQ(taskKindName(all[i]->kind()), all[i]->name());
  }
  EXPECT_EQ(taskDefinitionByName("sorting"), nullptr);
  EXPECT_FALSE(taskKindByName("sorting"));
}

TEST(TaskParameters, AreSortedTypedAndIncludeMaxLength) {
  for (const TaskDefinition *def : allTaskDefinitions()) {
    SCOPED_TRACE(def->name());
    const std::vector<TaskParameter> params = def->parameters();
    bool maxLength = false;
    for (size_t i = 0; i < params.size(); ++i) {
      const TaskParameter &p = params[i];
      if (i > 0) {
        EXPECT_LT(std::string(params[i - 1].name), std::string(p.name));
      }
      maxLength |= std::string(p.name) == "max_length";
      EXPECT_EQ(p.required, std::string(p.defaultValue).empty()) << p.name;
      EXPECT_FALSE(std::string(p.meaning).empty()) << p.name;
      switch (p.type) {
      case TaskParameter::Type::Integer:
        EXPECT_TRUE(p.integer && p.min <= p.max) << p.name;
        break;
      case TaskParameter::Type::Number:
        EXPECT_TRUE(p.number && p.above < p.atMost) << p.name;
        break;
      case TaskParameter::Type::SymbolList:
        EXPECT_TRUE(p.symbols && 1 <= p.min && p.min <= p.max) << p.name;
        break;
      case TaskParameter::Type::Choice:
        // The default is a choice, and TaskSpec's initial value.
        ASSERT_TRUE(p.text && !p.choices.empty()) << p.name;
        EXPECT_EQ(TaskSpec{}.*p.text, p.defaultValue) << p.name;
        EXPECT_NE(std::find(p.choices.begin(), p.choices.end(),
                            std::string(p.defaultValue)),
                  p.choices.end());
        break;
      }
      // A numeric default is the value TaskSpec starts with.
      if (p.type == TaskParameter::Type::Integer && !p.required &&
          std::isdigit(static_cast<unsigned char>(p.defaultValue[0]))) {
        EXPECT_EQ(TaskSpec{}.*p.integer, std::stoll(p.defaultValue)) << p.name;
      }
    }
    EXPECT_TRUE(maxLength);
  }
}

// Ranges that code relies on: nearest neighbour's generators flip up to 16
// coordinates in a fixed array and use one token per cube point; the pair-unit
// Dyck check counts k^m states exactly in 128 bits only up to 16^17.
TEST(TaskParameters, RangesKeepTheLimitsTheCodeAssumes) {
  auto param = [](TaskKind kind, const std::string &name) {
    for (const TaskParameter &p : taskDefinition(kind).parameters())
      if (p.name == name)
        return p;
    ADD_FAILURE() << "no parameter " << name;
    return TaskParameter{};
  };
  // Cube points are tokens (checkSpec keeps d <= 16 there); sphere points are
  // continuous inputs.
  EXPECT_LE(param(TaskKind::NearestNeighbour, "dimension").max, 1024);
  EXPECT_LE(param(TaskKind::BoundedDyck, "brackets").max, 16);
  EXPECT_LE(param(TaskKind::BoundedDyck, "depth").max, 16);
  for (const TaskDefinition *def : allTaskDefinitions())
    EXPECT_EQ(param(def->kind(), "max_length").max, kMaxTaskLength);
}

// A valid value of a parameter, as .task text.
std::string validValue(const TaskParameter &p) {
  switch (p.type) {
  case TaskParameter::Type::Integer:
    return std::to_string(p.min);
  case TaskParameter::Type::Number:
    return "1e-3";
  case TaskParameter::Type::SymbolList: {
    std::string list = "[";
    for (int64_t i = 0; i < p.min; ++i)
      list += (i ? ", s" : "s") + std::to_string(i);
    return list + "]";
  }
  case TaskParameter::Type::Choice:
    return p.defaultValue;
  }
  return "";
}

// A spec of the task with every required parameter valid, and `name` set to
// `value` on line 2 (or left out if value is empty).
std::string specWith(const TaskDefinition &def, const std::string &name,
                     const std::string &value) {
  std::string text = std::string("task ") + def.name() + " {\n";
  if (!value.empty())
    text += "  " + name + " = " + value + ";\n";
  for (const TaskParameter &p : def.parameters())
    if (p.required && p.name != name)
      text += std::string("  ") + p.name + " = " + validValue(p) + ";\n";
  return text + "}\nmodel rnn {}\n";
}

TEST(TaskParameters, ValidValuesAreAcceptedAndStored) {
  for (const TaskDefinition *def : allTaskDefinitions()) {
    DiagnosticEngine diags;
    auto spec = analyze("t.task", specWith(*def, "", ""), diags);
    ASSERT_TRUE(spec) << def->name() << "\n" << rendered(diags);
    EXPECT_EQ(spec->task.kind, def->kind());
    for (const TaskParameter &p : def->parameters())
      if (p.required && p.type == TaskParameter::Type::Integer) {
        EXPECT_EQ(spec->task.*p.integer, p.min) << p.name;
      }
  }
}

// Each value out of its documented range is one error, located at the value
// (line 2, column 5 + the name and " = "), naming the parameter.
TEST(TaskParameters, OutOfRangeValuesAreLocatedErrors) {
  for (const TaskDefinition *def : allTaskDefinitions()) {
    for (const TaskParameter &p : def->parameters()) {
      std::vector<std::string> bad;
      if (p.type == TaskParameter::Type::Integer)
        bad = {std::to_string(p.min - 1), std::to_string(p.max + 1)};
      else if (p.type == TaskParameter::Type::Number)
        bad = {"0", "-1", "1e9"};
      else if (p.type == TaskParameter::Type::Choice)
        bad = {"nothing_of_the_kind", "7"};
      else
        bad = {"[a]", "7"};
      for (const std::string &value : bad) {
        SCOPED_TRACE(std::string(def->name()) + "." + p.name + " = " + value);
        DiagnosticEngine diags;
        EXPECT_FALSE(analyze("t.task", specWith(*def, p.name, value), diags));
        ASSERT_EQ(diags.errorCount(), 1) << rendered(diags);
        const Diagnostic &d = diags.diagnostics()[0];
        EXPECT_EQ(d.loc.line, 2);
        EXPECT_EQ(d.loc.col,
                  static_cast<int>(3 + std::string(p.name).size() + 3));
        EXPECT_NE(d.message.find(p.name), std::string::npos) << d.message;
      }
    }
  }
}

TEST(TaskParameters, MissingRequiredFieldsAreNamedAtTheTaskKind) {
  for (const TaskDefinition *def : allTaskDefinitions())
    for (const TaskParameter &p : def->parameters()) {
      if (!p.required)
        continue;
      DiagnosticEngine diags;
      EXPECT_FALSE(analyze("t.task", specWith(*def, p.name, ""), diags));
      ASSERT_EQ(diags.errorCount(), 1) << rendered(diags);
      const Diagnostic &d = diags.diagnostics()[0];
      EXPECT_EQ(d.loc.line, 1);
      EXPECT_EQ(d.loc.col, 6); // the kind after "task "
      EXPECT_EQ(d.message, std::string("the ") + def->name() +
                               " task needs a '" + p.name + "' field");
    }
}

TEST(TaskParameters, FieldsOfAnotherTaskAreRefusedWithTheList) {
  DiagnosticEngine diags;
  EXPECT_FALSE(analyze(
      "t.task",
      "task string_equality { max_length = 4; depth = 2; } model rnn {}",
      diags));
  ASSERT_EQ(diags.errorCount(), 1);
  EXPECT_EQ(diags.diagnostics()[0].message,
            "unknown field 'depth' in the string_equality task; expected one "
            "of: max_length");
}

TEST(TaskJson, RoundTripsEveryShippedTask) {
  for (const TaskSpec &task : shippedTasks()) {
    const json j = taskToJson(task);
    SCOPED_TRACE(j.dump());
    EXPECT_EQ(j["kind"], taskKindName(task.kind));
    const TaskSpec back = taskFromJson(j, JsonReader("m.json"));
    EXPECT_EQ(back.kind, task.kind);
    EXPECT_EQ(back.loc.file, "m.json");
    EXPECT_EQ(taskToJson(back), j);
    // Exactly the definition's parameters, and the kind.
    EXPECT_EQ(j.size(), taskDefinition(task.kind).parameters().size() + 1);
  }
}

TEST(TaskJson, ReportsAddDerivedQuantitiesOnly) {
  for (const TaskSpec &task : shippedTasks()) {
    const json model = taskToJson(task), report = taskReportJson(task);
    for (const auto &[key, value] : model.items())
      EXPECT_EQ(report.at(key), value) << key;
    if (task.kind == TaskKind::NearestNeighbour) {
      if (!task.onSphere()) {
        EXPECT_EQ(report.at("hamming_margin"), task.hammingMargin());
      }
    }
  }
}

TEST(TaskJson, BadValuesNameTheField) {
  auto refusal = [](json j) {
    try {
      taskFromJson(j, JsonReader("m.json"));
    } catch (const UserError &e) {
      return std::string(e.what());
    }
    return std::string("accepted");
  };
  EXPECT_EQ(refusal({{"kind", "bounded_dyck"}, {"max_length", 8}}),
            "'m.json': field 'task.brackets' is missing");
  EXPECT_EQ(refusal({{"kind", "bounded_dyck"},
                     {"brackets", 17},
                     {"depth", 2},
                     {"max_length", 8}}),
            "'m.json': field 'task.brackets' is 17, outside [1, 16]");
  EXPECT_EQ(refusal({{"kind", "nearest_neighbour"},
                     {"dimension", 4},
                     {"labels", 2},
                     {"margin", 2.5},
                     {"max_length", 8}}),
            "'m.json': field 'task.margin' must be in (0, 2]");
  EXPECT_EQ(
      refusal(
          {{"kind", "index_lookup"}, {"alphabet", {"a"}}, {"max_length", 8}}),
      "'m.json': field 'task.alphabet' must be a list of 2 to 65536 "
      "symbols");
  EXPECT_EQ(refusal({{"kind", "sorting"}}),
            "'m.json': field 'task.kind' names an unknown task");
  EXPECT_EQ(refusal({{"kind", "disjointness"}, {"max_length", 8}}), "accepted");
}

TEST(TaskVocabulary, NamesEveryTokenAndClassOnce) {
  for (const TaskSpec &task : shippedTasks(64)) {
    const Vocabulary voc = vocabularyOf(task);
    SCOPED_TRACE(taskKindName(task.kind));
    ASSERT_GT(voc.tokenCount, 0);
    ASSERT_GE(voc.classCount, 2);
    std::set<std::string> tokens, classes;
    for (int64_t t = 0; t < voc.tokenCount; ++t)
      EXPECT_TRUE(tokens.insert(voc.tokenName(task, t)).second)
          << voc.tokenName(task, t);
    for (int64_t c = 0; c < voc.classCount; ++c)
      EXPECT_TRUE(classes.insert(voc.className(task, c)).second);
    EXPECT_EQ(voc.tokenName(task, voc.tokenCount),
              "<invalid " + std::to_string(voc.tokenCount) + ">");
    EXPECT_EQ(voc.className(task, -1), "<invalid -1>");
    // Tokens with a role are real tokens.
    for (int64_t role : {voc.endToken, voc.beginToken})
      EXPECT_LT(role, voc.tokenCount);
  }
}

// Generated inputs of every shipped task, in both distributions, are valid,
// labelled with their ground truth, and fit the vocabulary.
TEST(TaskGenerators, OutputsAreValidUnderTheSemantics) {
  for (const TaskSpec &task : shippedTasks(33)) {
    const Vocabulary voc = vocabularyOf(task);
    for (InputDistribution dist :
         {InputDistribution::Uniform, InputDistribution::Adversarial}) {
      SCOPED_TRACE(std::string(taskKindName(task.kind)) + " " +
                   inputDistributionName(dist));
      ExampleGenerator gen(task, dist, 3);
      std::set<int64_t> labels;
      Example ex;
      for (uint64_t i = 0; i < 400; ++i) {
        gen.generate(i, ex);
        // Continuous inputs exactly where the task has them.
        ASSERT_EQ(ex.features.size(),
                  ex.tokens.size() *
                      static_cast<size_t>(
                          taskDefinition(task.kind).featureDim(task)));
        ASSERT_EQ(checkInput(task, ex.tokens, ex.features), "");
        ASSERT_EQ(ex.label, groundTruth(task, ex.tokens, ex.features));
        if (ex.features.empty()) {
          ASSERT_EQ(checkInput(task, ex.tokens), "");
        }
        ASSERT_LE(static_cast<int64_t>(ex.tokens.size()),
                  voc.maxSequenceLength);
        for (int32_t t : ex.tokens)
          ASSERT_TRUE(t >= 0 && t < voc.tokenCount) << t;
        ASSERT_TRUE(ex.label >= 0 && ex.label < voc.classCount);
        labels.insert(ex.label);
      }
      EXPECT_GE(labels.size(), 2u); // both classes (or several symbols)
    }
  }
}

TEST(TaskLowerBounds, RefusalsStateTheBoundTheyApply) {
  for (const TaskSpec &task : shippedTasks(1000)) {
    const TaskDefinition &def = taskDefinition(task.kind);
    SCOPED_TRACE(def.name());
    // Every task has an RNN lower bound (the one-way communication ones).
    const LowerBound rnn = def.lowerBound(task, Architecture::RNN, 1);
    ASSERT_TRUE(rnn.bits);
    EXPECT_GT(*rnn.bits, 0);
    EXPECT_NE(rnn.formula, "none");
    for (int64_t layers : {1, 2}) {
      const LowerBound b =
          def.lowerBound(task, Architecture::Transformer, layers);
      EXPECT_FALSE(b.note.empty());
      EXPECT_EQ(b.formula == "none", !b.bits);
      if (!b.refusal.empty()) {
        ASSERT_TRUE(b.bits);
        EXPECT_NE(b.refusal.find(
                      std::to_string(static_cast<int64_t>(std::ceil(*b.bits)))),
                  std::string::npos)
            << b.refusal;
      }
    }
  }
}

TEST(TaskDescription, StartsWithN) {
  for (const TaskSpec &task : shippedTasks(64))
    EXPECT_EQ(taskDefinition(task.kind).describe(task).rfind("N = 64", 0), 0u)
        << taskKindName(task.kind);
}

} // namespace
} // namespace handwire
