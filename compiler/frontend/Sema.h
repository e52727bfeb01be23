// Meaning checks: AST -> Spec. Known blocks, task kinds, architectures and
// fields (with did-you-mean), value types and ranges, required fields,
// duplicates. Every error is located; all errors are reported (up to 20).
#pragma once

#include "frontend/AST.h"
#include "spec/TaskSpec.h"
#include "support/Diagnostics.h"

#include <optional>

namespace handwire {

std::optional<Spec> analyzeSpec(const ast::File &file, DiagnosticEngine &diags);

} // namespace handwire
