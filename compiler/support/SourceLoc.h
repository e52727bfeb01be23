// A position in a .task file. Every AST node and every validated spec field
// carries one, so that any later stage can point the user at the text that
// caused a problem.
#pragma once

#include <string>

namespace handwire {

struct SourceLoc {
  std::string file; // as given on the command line
  int line = 0;     // 1-based; 0 means "no location"
  int col = 0;      // 1-based column of the first character

  bool valid() const { return line > 0; }
  std::string str() const; // "file:line:col" (or just "file")
};

} // namespace handwire
