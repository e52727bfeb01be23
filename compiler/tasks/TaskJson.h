// The JSON form of a task: {"kind": NAME, "max_length": N, and the other
// parameters of its definition}. The one serializer of task parameters: model
// files (export/ModelFile.cpp) and the CLI's reports (tools/handwire) both
// write it, and model files are read back through it.
#pragma once

#include "spec/JsonReader.h"
#include "spec/TaskSpec.h"

#include <nlohmann/json.hpp>

namespace handwire {

nlohmann::json taskToJson(const TaskSpec &task);

// taskToJson and the quantities reports derive from the parameters (e.g.
// nearest neighbour's Hamming margin).
nlohmann::json taskReportJson(const TaskSpec &task);

// The task's self-description for model files (docs/export.md, "Vocabulary,
// input layout and classes"), all derived from the task:
//   vocabularyTokensJson: one entry per token {"token", "name", "role", and
//     its fields}, or per long patterned group a range {"first", "count",
//     "role", "name": pattern, each field {"from", "every"[, "modulo",
//     "names"]}};
//   roleMeaningsJson: {role: sentence};
//   inputLayoutJson: pattern, length, variables, description, answer,
//     read_at (and features where inputs are continuous);
//   classesJson: [{"class", "name", "meaning"}].
nlohmann::json vocabularyTokensJson(const TaskSpec &task);
nlohmann::json roleMeaningsJson(const TaskSpec &task);
nlohmann::json inputLayoutJson(const TaskSpec &task);
nlohmann::json classesJson(const TaskSpec &task);
// Groups longer than this with a name pattern are written as ranges.
constexpr int64_t kMaxListedGroup = 256;

// Reads the form back, with the ranges of a .task file; throws UserError
// through `r` naming the field ("task.depth"). The task's location is the
// reader's file.
TaskSpec taskFromJson(const nlohmann::json &j, const JsonReader &r);

} // namespace handwire
