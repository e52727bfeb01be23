#include "spec/Vocabulary.h"

#include "tasks/TaskDefinition.h"

namespace handwire {

Vocabulary vocabularyOf(const TaskSpec &task) {
  return taskDefinition(task.kind).vocabulary(task);
}

std::string Vocabulary::tokenName(const TaskSpec &task, int64_t token) const {
  if (token < 0 || token >= tokenCount)
    return "<invalid " + std::to_string(token) + ">";
  return taskDefinition(task.kind).tokenName(task, *this, token);
}

std::string Vocabulary::className(const TaskSpec &task, int64_t cls) const {
  if (cls < 0 || cls >= classCount)
    return "<invalid " + std::to_string(cls) + ">";
  return taskDefinition(task.kind).className(task, cls);
}

} // namespace handwire
