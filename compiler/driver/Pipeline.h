// The compiler pipeline, written once, in order:
//
//   .task --parse--> AST --sema--> Spec --select--> Construction
//         --construct--> Network --verify--> (certificate checked) Network
//
// Later stages (plan, LLVM emission, JIT) start from the verified Network.
#pragma once

#include "ir/Network.h"
#include "spec/TaskSpec.h"
#include "support/Diagnostics.h"

#include <optional>
#include <string>
#include <vector>

namespace handwire {

struct CompileOptions {
  // Emit a network even if its certificate does not hold (for experiments:
  // the eval report then shows what an uncertified model gets wrong).
  bool allowUncertified = false;
  // Refuse to build networks whose weights would need more memory than this.
  int64_t memoryLimitBytes = int64_t(8) << 30;
};

// Parse + sema, with "block.field=value" overrides applied before sema.
// Errors go to `diags` (with source lines); returns nullopt on error.
std::optional<Spec> loadSpec(const std::string &path,
                             const std::vector<std::string> &overrides,
                             DiagnosticEngine &diags);
// The same, for a spec already in memory; `name` is the file name in
// locations. (The fuzzer enters here.)
std::optional<Spec> loadSpecSource(const std::string &name,
                                   const std::string &text,
                                   const std::vector<std::string> &overrides,
                                   DiagnosticEngine &diags);

namespace ast {
struct File;
}
// Overrides and sema over a file already parsed: the sweep parses its spec
// once and analyses it at every N.
std::optional<Spec> analyzeSpecFile(ast::File file,
                                    const std::vector<std::string> &overrides,
                                    DiagnosticEngine &diags);

class Construction;

// The construction for one model of the spec (by task, architecture and
// layers), or nullptr with an error naming the ones that exist, the lower bound
// where one is the reason, and the cheapest model of another depth or
// architecture that fits in memoryLimitBytes.
const Construction *selectConstruction(
    const Spec &spec, const ModelSpec &model, DiagnosticEngine &diags,
    int64_t memoryLimitBytes = CompileOptions{}.memoryLimitBytes);

// selectConstruction, then the memory check: nullptr with an error if the
// weights would exceed options.memoryLimitBytes (with the cheapest model of
// another depth or architecture that fits, if any). Allocates nothing.
const Construction *planConstruction(const Spec &spec, const ModelSpec &model,
                                     const CompileOptions &options,
                                     DiagnosticEngine &diags);

// Select, construct, verify and certify the network of one model of the spec.
// Errors (no construction for this architecture, memory limit, refused
// certificate) go to `diags` at the field that caused them.
std::optional<Network> buildNetwork(const Spec &spec, const ModelSpec &model,
                                    const CompileOptions &options,
                                    DiagnosticEngine &diags);

} // namespace handwire
