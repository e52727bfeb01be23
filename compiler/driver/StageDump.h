// Stable text forms of the stages' results, for `handwire compile --emit
// STAGE` and its golden tests (tests/golden/emit). Each names what the stage
// decided and nothing that varies between runs or machines.
#pragma once

#include "ir/Network.h"
#include "spec/TaskSpec.h"

#include <string>

namespace handwire {

namespace ast {
struct File;
}
struct ForwardPlan;

std::string dumpAst(const ast::File &file);  // blocks and fields, located
std::string dumpSpec(const Spec &spec);      // every field with its value
std::string dumpNetwork(const Network &net); // shapes, blocks, weight digest
std::string dumpPlan(const ForwardPlan &plan);

} // namespace handwire
