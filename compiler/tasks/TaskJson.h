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

// Reads the form back, with the ranges of a .task file; throws UserError
// through `r` naming the field ("task.depth"). The task's location is the
// reader's file.
TaskSpec taskFromJson(const nlohmann::json &j, const JsonReader &r);

} // namespace handwire
