// Human-readable and JSON renderings of a task and its models: what
// `handwire inspect` and `eval` print, shared by the CLI's subcommands and
// the Python module (Model.report()).
#pragma once

#include "analysis/SeparationCard.h"
#include "ir/Network.h"
#include "spec/TaskSpec.h"

#include <nlohmann/json.hpp>
#include <ostream>

namespace handwire {

void printTaskLine(std::ostream &os, const TaskSpec &task);
// One-line summary of a model: architecture, sizes.
void printModelLine(std::ostream &os, const Network &net);
// The certificate, indented.
void printCertificate(std::ostream &os, const Network &net);
// The separation card, indented.
void printSeparationCard(std::ostream &os, const SeparationCard &card);
// An RNN's state in stored bits (units x storage bits) and information bits
// (units x log2 of the values each takes), each against the bound.
void printStateTwoWays(std::ostream &os, const SeparationCard &card);
// Everything `handwire inspect` prints of one model: its line, residual map,
// tensor table (if `tensors`), certificate and separation card.
void printModelInspection(std::ostream &os, const Network &net,
                          const SeparationCard &card, bool tensors);

// The task's JSON form (tasks/TaskJson.h, as in model files) with what
// reports derive from it.
nlohmann::json taskJson(const TaskSpec &task);
// The certificate's JSON form (export/JsonForm.h, as in model files) with the
// verdict per storage precision.
nlohmann::json certificateJson(const Network &net);
nlohmann::json separationCardJson(const SeparationCard &card);

} // namespace handwire
