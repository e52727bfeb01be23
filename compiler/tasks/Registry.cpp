// The list of task definitions: with the TaskKind enum, the only place that
// names every task.
#include "tasks/TaskDefinition.h"

#include "support/Diagnostics.h"

namespace handwire {

// Defined in their own files.
const TaskDefinition &associativeRecallTask();
const TaskDefinition &boundedDyckTask();
const TaskDefinition &disjointnessTask();
const TaskDefinition &indexLookupTask();
const TaskDefinition &nearestNeighbourTask();
const TaskDefinition &stringEqualityTask();

const std::vector<const TaskDefinition *> &allTaskDefinitions() {
  // keep-sorted by name
  static const std::vector<const TaskDefinition *> all = {
      &associativeRecallTask(), &boundedDyckTask(),      &disjointnessTask(),
      &indexLookupTask(),       &nearestNeighbourTask(), &stringEqualityTask(),
  };
  return all;
}

const TaskDefinition &taskDefinition(TaskKind kind) {
  for (const TaskDefinition *d : allTaskDefinitions())
    if (d->kind() == kind)
      return *d;
  throw InternalError("no task definition for task kind " +
                      std::to_string(static_cast<int>(kind)));
}

const TaskDefinition *taskDefinitionByName(const std::string &name) {
  for (const TaskDefinition *d : allTaskDefinitions())
    if (name == d->name())
      return d;
  return nullptr;
}

} // namespace handwire
