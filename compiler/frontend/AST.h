// The syntax tree of a .task file: plain data, every node located. The parser
// builds it; command-line overrides edit it; Sema gives it meaning.
#pragma once

#include "support/SourceLoc.h"

#include <cstdint>
#include <string>
#include <vector>

namespace handwire::ast {

struct Value {
  enum class Kind { Integer, Float, Identifier, String, List };
  Kind kind = Kind::Identifier;
  SourceLoc loc;
  std::string text; // as written (strings: without quotes, unescaped)
  // Integer: exact value if it fits in [-2^63, 2^64); otherwise outOfRange.
  bool negative = false;
  uint64_t magnitude = 0;
  bool outOfRange = false;
  double number = 0;        // Integer and Float
  std::vector<Value> items; // List

  const char *kindName() const; // "an integer", "a list", ...
};

struct Field {
  std::string name;
  SourceLoc loc; // of the name
  Value value;
};

struct Block {
  std::string kind; // "task", "model", "eval", or what was written
  SourceLoc loc;
  std::string head; // task kind or architecture; empty for eval
  SourceLoc headLoc;
  std::vector<Field> fields;
};

struct File {
  std::string path;
  std::vector<Block> blocks;
};

} // namespace handwire::ast
