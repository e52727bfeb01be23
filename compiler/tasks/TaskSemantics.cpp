#include "tasks/TaskSemantics.h"

#include "support/Diagnostics.h"
#include "tasks/TaskDefinition.h"

namespace handwire {

std::string checkInput(const TaskSpec &task,
                       const std::vector<int32_t> &tokens) {
  return taskDefinition(task.kind).checkInput(task, tokens);
}

int64_t groundTruth(const TaskSpec &task, const std::vector<int32_t> &tokens) {
  const TaskDefinition &def = taskDefinition(task.kind);
  HW_ASSERT(def.checkInput(task, tokens).empty(),
            "ground truth of a malformed input");
  return def.groundTruth(task, tokens);
}

std::string checkInput(const TaskSpec &task, const std::vector<int32_t> &tokens,
                       const std::vector<float> &features) {
  return taskDefinition(task.kind).checkInputWithFeatures(task, tokens,
                                                          features);
}

int64_t groundTruth(const TaskSpec &task, const std::vector<int32_t> &tokens,
                    const std::vector<float> &features) {
  const TaskDefinition &def = taskDefinition(task.kind);
  HW_ASSERT(def.checkInputWithFeatures(task, tokens, features).empty(),
            "ground truth of a malformed input");
  return def.groundTruthWithFeatures(task, tokens, features);
}

} // namespace handwire
