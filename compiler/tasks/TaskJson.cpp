#include "tasks/TaskJson.h"

#include "tasks/TaskDefinition.h"

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
    for (const auto &s : list) {
      if (!s.is_string())
        r.fail(field, "must hold strings");
      (task.*p.symbols).push_back(s.get<std::string>());
    }
    break;
  }
  }
}
} // namespace

TaskSpec taskFromJson(const json &t, const JsonReader &r) {
  TaskSpec task;
  task.loc.file = r.path();
  const TaskDefinition *def =
      taskDefinitionByName(r.string(t, "kind", "task."));
  if (!def)
    r.fail("task.kind", "names an unknown task");
  task.kind = def->kind();
  for (const TaskParameter &p : def->parameters())
    readParameter(t, r, p, task);
  return task;
}

} // namespace handwire
