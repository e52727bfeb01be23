#include "tasks/TaskJson.h"

#include "tasks/TaskDefinition.h"

#include <algorithm>
#include <set>
#include <sstream>

namespace handwire {

using nlohmann::json;

json taskToJson(const TaskSpec &task) {
  const TaskDefinition &def = taskDefinition(task.kind);
  json j = {{"kind", def.name()}};
  for (const TaskParameter &p : def.parameters()) {
    switch (p.type) {
    case TaskParameter::Type::Integer:
      j[p.name] = task.*p.integer;
      break;
    case TaskParameter::Type::Number:
      j[p.name] = task.*p.number;
      break;
    case TaskParameter::Type::SymbolList:
      j[p.name] = task.*p.symbols;
      break;
    case TaskParameter::Type::Choice:
      j[p.name] = task.*p.text;
      break;
    }
  }
  return j;
}

json taskReportJson(const TaskSpec &task) {
  json j = taskToJson(task);
  taskDefinition(task.kind).writeDerivedJson(task, j);
  return j;
}

namespace {
// A layout bound: a number when it is one, else the formula as written.
json numberOrFormula(const std::string &v) {
  const bool digits = !v.empty() && std::all_of(v.begin(), v.end(), [](char c) {
    return c >= '0' && c <= '9';
  });
  return digits ? json(std::stoll(v)) : json(v);
}
} // namespace

json vocabularyTokensJson(const TaskSpec &task) {
  const TaskDefinition &def = taskDefinition(task.kind);
  const Vocabulary voc = def.vocabulary(task);
  json out = json::array();
  for (const TokenGroup &g : def.tokenGroups(task, voc)) {
    if (!g.pattern.empty() && g.count > kMaxListedGroup) {
      json range = {{"first", g.first},
                    {"count", g.count},
                    {"role", g.role},
                    {"name", g.pattern}};
      for (const TokenField &f : g.fields) {
        json field = {{"from", f.from}, {"every", f.every}};
        if (f.modulo > 0)
          field["modulo"] = f.modulo;
        if (!f.names.empty())
          field["names"] = f.names;
        range[f.name] = field;
      }
      out.push_back(std::move(range));
      continue;
    }
    for (int64_t o = 0; o < g.count; ++o) {
      json t = {{"token", g.first + o},
                {"name", def.tokenName(task, voc, g.first + o)},
                {"role", g.role}};
      for (const TokenField &f : g.fields)
        t[f.name] = f.valueAt(o);
      out.push_back(std::move(t));
    }
  }
  return out;
}

json roleMeaningsJson(const TaskSpec &task) {
  json out = json::object();
  for (const auto &[role, meaning] :
       taskDefinition(task.kind).roleMeanings(task))
    out[role] = meaning;
  return out;
}

json inputLayoutJson(const TaskSpec &task) {
  const InputLayout l = taskDefinition(task.kind).inputLayout(task);
  json vars = json::object();
  for (const LayoutVariable &v : l.variables)
    vars[v.name] = {{"min", numberOrFormula(v.min)},
                    {"max", numberOrFormula(v.max)},
                    {"meaning", v.meaning}};
  json j = {{"pattern", l.pattern}, {"length", l.length},
            {"variables", vars},    {"description", l.description},
            {"answer", l.answer},   {"read_at", l.readAt}};
  if (l.features > 0)
    j["features"] = {{"per_position", l.features},
                     {"meaning", l.featureMeaning}};
  return j;
}

json classesJson(const TaskSpec &task) {
  const TaskDefinition &def = taskDefinition(task.kind);
  const int64_t classes = def.vocabulary(task).classCount;
  json out = json::array();
  for (int64_t c = 0; c < classes; ++c)
    out.push_back({{"class", c},
                   {"name", def.className(task, c)},
                   {"meaning", def.classMeaning(task, c)}});
  return out;
}

namespace {
void readParameter(const json &t, const JsonReader &r, const TaskParameter &p,
                   TaskSpec &task) {
  const std::string field = std::string("task.") + p.name;
  switch (p.type) {
  case TaskParameter::Type::Integer:
    task.*p.integer = r.integer(t, p.name, "task.", p.min, p.max);
    break;
  case TaskParameter::Type::Number: {
    const double v = r.number(t, p.name, "task.");
    if (!(v > p.above && v <= p.atMost)) {
      std::ostringstream range;
      range << "must be in (" << p.above << ", " << p.atMost << "]";
      r.fail(field, range.str());
    }
    task.*p.number = v;
    break;
  }
  case TaskParameter::Type::SymbolList: {
    const json &list = r.get(t, p.name, "task.");
    if (!list.is_array() || static_cast<int64_t>(list.size()) < p.min ||
        static_cast<int64_t>(list.size()) > p.max)
      r.fail(field, "must be a list of " + std::to_string(p.min) + " to " +
                        std::to_string(p.max) + " symbols");
    // As in a .task file (frontend/Sema.cpp): distinct symbols. A string
    // there cannot hold a control character, nor may one here.
    std::set<std::string> seen;
    for (size_t i = 0; i < list.size(); ++i) {
      const std::string at = field + "[" + std::to_string(i) + "]";
      std::string s = r.nameValue(list[i], at, /*mayBeEmpty=*/true);
      if (!seen.insert(s).second)
        r.fail(at, "repeats the symbol \"" + JsonReader::clipped(s) + "\"");
      (task.*p.symbols).push_back(std::move(s));
    }
    break;
  }
  case TaskParameter::Type::Choice: {
    // Absent in files written before the field existed: the default.
    if (!r.has(t, p.name))
      break;
    const std::string v = r.string(t, p.name, "task.");
    if (std::find(p.choices.begin(), p.choices.end(), v) == p.choices.end()) {
      std::string list;
      for (const std::string &c : p.choices)
        list += (list.empty() ? "" : ", ") + c;
      r.fail(field, "must be one of " + list + ", got \"" +
                        JsonReader::clipped(v) + "\"");
    }
    task.*p.text = v;
    break;
  }
  }
}
} // namespace

TaskSpec taskFromJson(const json &t, const JsonReader &r) {
  TaskSpec task;
  task.loc.file = r.path();
  if (!t.is_object())
    r.fail("task", "must be an object, got " + JsonReader::shown(t));
  const TaskDefinition *def =
      taskDefinitionByName(r.string(t, "kind", "task."));
  if (!def)
    r.fail("task.kind", "names an unknown task");
  task.kind = def->kind();
  const std::vector<TaskParameter> params = def->parameters();
  // Exactly the fields taskToJson writes: a misspelt field would otherwise
  // be ignored (Sema refuses unknown fields too).
  for (auto it = t.begin(); it != t.end(); ++it)
    if (it.key() != "kind" &&
        std::none_of(params.begin(), params.end(), [&](const TaskParameter &p) {
          return it.key() == p.name;
        }))
      r.fail("task." + it.key(),
             std::string("is not a field of the ") + def->name() + " task");
  for (const TaskParameter &p : params)
    readParameter(t, r, p, task);
  // The checks across fields that Sema makes (those that concern a model's
  // construction do not apply: the file holds the built network).
  def->checkSpec(task, {}, [&](const SourceLoc &, const std::string &what) {
    r.fail("task", what);
  });
  return task;
}

} // namespace handwire
