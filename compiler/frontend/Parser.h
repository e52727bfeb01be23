// Parsing .task files into the AST. The only user of the ANTLR runtime.
// Syntax errors become located diagnostics; ANTLR never prints anything.
#pragma once

#include "frontend/AST.h"
#include "support/Diagnostics.h"

#include <optional>
#include <string>

namespace handwire {

// Files larger than this are refused before they are read.
constexpr int64_t kMaxSpecBytes = 1 << 20;

std::optional<ast::File> parseTaskFile(const std::string &path,
                                       DiagnosticEngine &diags);
std::optional<ast::File> parseTaskSource(const std::string &name,
                                         const std::string &text,
                                         DiagnosticEngine &diags);

// Applies "block.field=value" (block: task, eval, model = every model, or
// model.NAME) to the AST: replaces the field or adds it. The value is parsed
// with the same grammar, under the source name "<command line>".
bool applyOverride(ast::File &file, const std::string &assignment,
                   DiagnosticEngine &diags);

} // namespace handwire
