// The ANTLR wall: generated headers and the runtime are included here only.
#include "frontend/Parser.h"
#include "support/FileIO.h"

#include "TaskLexer.h"
#include "TaskParser.h"
#include "antlr4-runtime.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

namespace handwire {

namespace ast {
const char *Value::kindName() const {
  switch (kind) {
  case Kind::Integer:
    return "an integer";
  case Kind::Float:
    return "a decimal number";
  case Kind::Identifier:
    return "a name";
  case Kind::String:
    return "a string";
  case Kind::List:
    return "a list";
  }
  return "a value";
}
} // namespace ast

namespace {

using handwire_grammar::TaskLexer;
using handwire_grammar::TaskParser;

constexpr int kMaxSyntaxErrors = 20;

// How a token is named in messages: its text for punctuation and words,
// its kind for literals and errors.
std::string describeToken(const antlr4::Token *t) {
  if (t->getType() == antlr4::Token::EOF)
    return "end of file";
  std::string text = t->getText();
  if (text.size() > 24)
    text = text.substr(0, 21) + "...";
  std::string shown;
  for (unsigned char c : text) {
    if (c < 0x20 || c >= 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02X", c);
      shown += buf;
    } else {
      shown += static_cast<char>(c);
    }
  }
  return "'" + shown + "'";
}

std::string describeExpected(const antlr4::misc::IntervalSet &set,
                             const antlr4::dfa::Vocabulary &voc) {
  std::vector<std::string> names;
  for (size_t t : set.toList()) {
    if (t == TaskLexer::INT || t == TaskLexer::POWER)
      names.push_back("a number");
    else if (t == TaskLexer::FLOAT)
      continue; // folded into "a number"
    else if (t == TaskLexer::ID)
      names.push_back("a name");
    else if (t == TaskLexer::STRING)
      names.push_back("a string");
    else if (t == antlr4::Token::EOF)
      names.push_back("end of file");
    else
      names.push_back(voc.getLiteralName(t));
  }
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());
  std::string out;
  for (size_t i = 0; i < names.size(); ++i)
    out += (i == 0 ? "" : i + 1 == names.size() ? " or " : ", ") + names[i];
  return out;
}

class ErrorListener : public antlr4::BaseErrorListener {
public:
  ErrorListener(std::string file, DiagnosticEngine &diags, int lineOffset = 0,
                int colOffset = 0)
      : file_(std::move(file)), diags_(diags), lineOffset_(lineOffset),
        colOffset_(colOffset) {}
  int errors() const { return errors_; }

  void syntaxError(antlr4::Recognizer *recognizer, antlr4::Token *tok,
                   size_t line, size_t col, const std::string &msg,
                   std::exception_ptr) override {
    // After an unterminated comment or string the rest is noise.
    if (++errors_ > kMaxSyntaxErrors || silenced_)
      return;
    if (tok && (tok->getType() == TaskLexer::UNTERMINATED_COMMENT ||
                tok->getType() == TaskLexer::UNTERMINATED_STRING))
      silenced_ = true;
    SourceLoc loc{file_, static_cast<int>(line) + lineOffset_,
                  static_cast<int>(col) + 1 + colOffset_};
    if (errors_ == kMaxSyntaxErrors) {
      diags_.error(loc, "too many syntax errors; stopping here");
      return;
    }
    diags_.error(loc, rewrite(recognizer, tok, msg));
  }

private:
  std::string rewrite(antlr4::Recognizer *recognizer, antlr4::Token *tok,
                      const std::string &msg) {
    if (!tok)
      return msg;
    switch (tok->getType()) {
    case TaskLexer::BAD_CHAR:
      return "unexpected character " + describeToken(tok);
    case TaskLexer::UNTERMINATED_COMMENT:
      return "unterminated comment: '/*' has no matching '*/'";
    case TaskLexer::UNTERMINATED_STRING:
      return "unterminated string: the closing '\"' is missing on this line";
    default:
      break;
    }
    auto *parser = dynamic_cast<antlr4::Parser *>(recognizer);
    if (msg.rfind("missing ", 0) == 0) {
      // ANTLR: "missing X at Y"
      const size_t at = msg.rfind(" at ");
      std::string what =
          msg.substr(8, at == std::string::npos ? std::string::npos : at - 8);
      if (what == "';'")
        return "expected ';' after the field's value, before " +
               describeToken(tok);
      std::string out = "expected " + what + " before " + describeToken(tok);
      // "model rnn {" read as a field named "model": the previous block is
      // open.
      if (parser && what == "'='") {
        const antlr4::Token *prev = parser->getTokenStream()->LT(-1);
        if (prev && (prev->getText() == "task" || prev->getText() == "model" ||
                     prev->getText() == "eval"))
          out += "; is a '}' missing before '" + prev->getText() + "'?";
      }
      return out;
    }
    std::string out = "unexpected " + describeToken(tok);
    if (parser) {
      const std::string expected = describeExpected(parser->getExpectedTokens(),
                                                    parser->getVocabulary());
      if (!expected.empty())
        out += "; expected " + expected;
    }
    return out;
  }

  std::string file_;
  DiagnosticEngine &diags_;
  int lineOffset_ = 0;
  int colOffset_ = 0;
  int errors_ = 0;
  bool silenced_ = false;
};

// Exact integer value of INT ("-123") or POWER ("2^16") text.
void parseInteger(const std::string &text, ast::Value &v) {
  v.kind = ast::Value::Kind::Integer;
  std::string t = text;
  if (!t.empty() && t[0] == '-') {
    v.negative = true;
    t = t.substr(1);
  }
  auto digits = [&](const std::string &s, unsigned __int128 &out) {
    out = 0;
    for (char c : s) {
      out = out * 10 + static_cast<unsigned>(c - '0');
      if (out > ~uint64_t(0))
        return false;
    }
    return true;
  };
  unsigned __int128 value = 0;
  const size_t caret = t.find('^');
  if (caret == std::string::npos) {
    v.outOfRange = !digits(t, value);
  } else {
    unsigned __int128 base = 0, exp = 0;
    const bool ok =
        digits(t.substr(0, caret), base) && digits(t.substr(caret + 1), exp);
    value = 1;
    v.outOfRange = !ok;
    for (unsigned __int128 i = 0; ok && i < exp && !v.outOfRange; ++i) {
      value *= base;
      if (base <= 1)
        break; // 0^e and 1^e need no more steps
      v.outOfRange = value > ~uint64_t(0);
    }
    if (ok && exp == 0)
      value = 1;
  }
  if (v.negative && value > (unsigned __int128)(uint64_t(1) << 63))
    v.outOfRange = true;
  v.magnitude = v.outOfRange ? 0 : static_cast<uint64_t>(value);
  v.number = v.outOfRange
                 ? (v.negative ? -HUGE_VAL : HUGE_VAL)
                 : (v.negative ? -1.0 : 1.0) * static_cast<double>(v.magnitude);
}

class AstBuilder {
public:
  AstBuilder(std::string file, int colOffset, int lineOffset = 0)
      : file_(std::move(file)), colOffset_(colOffset), lineOffset_(lineOffset) {
  }

  SourceLoc loc(const antlr4::Token *t) const {
    return {file_, static_cast<int>(t->getLine()) + lineOffset_,
            static_cast<int>(t->getCharPositionInLine()) + 1 + colOffset_};
  }

  ast::Value scalar(TaskParser::ScalarContext *ctx) {
    ast::Value v;
    const antlr4::Token *t = ctx->getStart();
    v.loc = loc(t);
    v.text = t->getText();
    switch (t->getType()) {
    case TaskLexer::INT:
    case TaskLexer::POWER:
      parseInteger(v.text, v);
      break;
    case TaskLexer::FLOAT:
      v.kind = ast::Value::Kind::Float;
      v.number = std::strtod(v.text.c_str(), nullptr);
      break;
    case TaskLexer::STRING: {
      v.kind = ast::Value::Kind::String;
      std::string s;
      for (size_t i = 1; i + 1 < v.text.size(); ++i) {
        if (v.text[i] == '\\' && i + 2 < v.text.size())
          ++i;
        s += v.text[i];
      }
      v.text = s;
      break;
    }
    default:
      v.kind = ast::Value::Kind::Identifier;
    }
    return v;
  }

  ast::Value value(TaskParser::ValueContext *ctx) {
    if (ctx->scalar())
      return scalar(ctx->scalar());
    ast::Value v;
    v.kind = ast::Value::Kind::List;
    v.loc = loc(ctx->getStart());
    v.text = "[...]";
    for (auto *s : ctx->list()->scalar())
      v.items.push_back(scalar(s));
    return v;
  }

  ast::File file(TaskParser::FileContext *ctx, const std::string &path) {
    ast::File f;
    f.path = path;
    for (auto *b : ctx->block()) {
      ast::Block block;
      block.kind = b->kind->getText();
      block.loc = loc(b->kind);
      if (b->head) {
        block.head = b->head->getText();
        block.headLoc = loc(b->head);
      }
      for (auto *fc : b->field()) {
        if (!fc->name || !fc->value())
          continue; // a syntax error was reported for it
        block.fields.push_back(
            {fc->name->getText(), loc(fc->name), value(fc->value())});
      }
      f.blocks.push_back(std::move(block));
    }
    return f;
  }

private:
  std::string file_;
  int colOffset_;
  int lineOffset_;
};

struct Parse {
  antlr4::ANTLRInputStream input;
  TaskLexer lexer;
  antlr4::CommonTokenStream tokens;
  TaskParser parser;
  ErrorListener listener;

  Parse(const std::string &name, const std::string &text,
        DiagnosticEngine &diags, int colOffset = 0, int lineOffset = 0)
      : input(text), lexer(&input), tokens(&lexer), parser(&tokens),
        listener(name, diags, lineOffset, colOffset) {
    input.name = name;
    lexer.removeErrorListeners();
    lexer.addErrorListener(&listener);
    parser.removeErrorListeners();
    parser.addErrorListener(&listener);
  }
};

// Offset of the first byte that is not part of valid UTF-8, or npos. Strict
// RFC 3629: the second byte's range rules out overlong forms, UTF-16
// surrogates and code points above U+10FFFF. The ANTLR runtime throws
// std::range_error on any of them, so we must catch them all first and report
// them with a location.
size_t firstInvalidUtf8(const std::string &s) {
  size_t i = 0;
  while (i < s.size()) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t len = 0;
    unsigned char lo = 0x80, hi = 0xBF; // allowed range of the second byte
    if (c >= 0xC2 && c <= 0xDF) {
      len = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
      len = 3;
      lo = c == 0xE0 ? 0xA0 : lo; // overlong
      hi = c == 0xED ? 0x9F : hi; // surrogates
    } else if (c >= 0xF0 && c <= 0xF4) {
      len = 4;
      lo = c == 0xF0 ? 0x90 : lo; // overlong
      hi = c == 0xF4 ? 0x8F : hi; // above U+10FFFF
    } else {
      return i; // continuation byte, overlong C0/C1, or F5..FF
    }
    if (i + len > s.size())
      return i;
    const unsigned char c1 = static_cast<unsigned char>(s[i + 1]);
    if (c1 < lo || c1 > hi)
      return i;
    for (size_t k = 2; k < len; ++k)
      if ((static_cast<unsigned char>(s[i + k]) >> 6) != 2)
        return i;
    i += len;
  }
  return std::string::npos;
}

SourceLoc locationOfOffset(const std::string &name, const std::string &text,
                           size_t offset) {
  int line = 1, col = 1;
  for (size_t i = 0; i < offset; ++i) {
    if (text[i] == '\n') {
      ++line;
      col = 1;
    } else {
      ++col;
    }
  }
  return {name, line, col};
}

// Overrides are the lines of one virtual source, "<command line>", so each
// error shows its own override under it. Returns the assignment's line.
int addOverrideLine(DiagnosticEngine &diags, const std::string &where,
                    const std::string &assignment) {
  const std::string *previous = diags.source(where);
  if (!previous) {
    diags.addSource(where, assignment);
    return 1;
  }
  const int line = 2 + static_cast<int>(std::count(previous->begin(),
                                                   previous->end(), '\n'));
  diags.addSource(where, *previous + "\n" + assignment);
  return line;
}

// What "block.field=value" names: blocks of one kind (task, eval, model),
// optionally only the model named modelName, and a field of them.
struct OverrideTarget {
  std::string path; // block.field
  std::string blockKind, modelName, field;
  size_t eq = 0; // where '=' is in the assignment
};

std::optional<OverrideTarget> overrideTarget(const std::string &assignment,
                                             const SourceLoc &at,
                                             DiagnosticEngine &diags) {
  const size_t eq = assignment.find('=');
  const size_t dot = assignment.find('.');
  if (eq == std::string::npos || dot == std::string::npos || dot > eq) {
    diags.error(at, "override '" + assignment +
                        "' must look like block.field=value (e.g. "
                        "task.max_length=2^16, model.rnn.precision=f64)");
    return std::nullopt;
  }
  OverrideTarget t;
  t.eq = eq;
  t.path = assignment.substr(0, eq);
  const size_t lastDot = t.path.rfind('.');
  const std::string blockPath = t.path.substr(0, lastDot);
  t.field = t.path.substr(lastDot + 1);
  t.blockKind = blockPath;
  if (blockPath.rfind("model.", 0) == 0) {
    t.blockKind = "model";
    t.modelName = blockPath.substr(6);
  }
  if (t.blockKind != "task" && t.blockKind != "eval" &&
      t.blockKind != "model") {
    diags.error(at, "unknown block '" + blockPath +
                        "' in override; use task, eval, model or model.NAME");
    return std::nullopt;
  }
  return t;
}

// The value after '=', parsed with the same grammar, its locations at its
// place on the override's line (col: the column of '=').
std::optional<ast::Value> parseOverrideValue(const std::string &valueText,
                                             const std::string &where, int line,
                                             int col, DiagnosticEngine &diags) {
  if (firstInvalidUtf8(valueText) != std::string::npos) {
    diags.error({where, line, col + 1},
                "the override's value is not UTF-8 text");
    return std::nullopt;
  }
  Parse p(where, valueText, diags, col, line - 1);
  TaskParser::ValueOnlyContext *tree = p.parser.valueOnly();
  if (p.listener.errors() > 0)
    return std::nullopt;
  return AstBuilder(where, col, line - 1).value(tree->value());
}

// A model's name: its `name` field, else its architecture.
std::string blockName(const ast::Block &b) {
  for (const auto &f : b.fields)
    if (f.name == "name")
      return f.value.text;
  return b.head;
}

// Replaces or adds the field in every block the target names; false if the
// file has no such block.
bool setFieldInBlocks(ast::File &file, const OverrideTarget &t,
                      const ast::Value &value, const SourceLoc &at) {
  bool applied = false;
  for (ast::Block &b : file.blocks) {
    if (b.kind != t.blockKind ||
        (!t.modelName.empty() && blockName(b) != t.modelName))
      continue;
    bool replaced = false;
    for (ast::Field &f : b.fields)
      if (f.name == t.field) {
        f.value = value;
        f.loc = at;
        replaced = true;
      }
    if (!replaced)
      b.fields.push_back({t.field, at, value});
    applied = true;
  }
  return applied;
}

} // namespace

std::optional<ast::File> parseTaskSource(const std::string &name,
                                         const std::string &text,
                                         DiagnosticEngine &diags) {
  diags.addSource(name, text);
  if (text.find_first_not_of(" \t\r\n") == std::string::npos) {
    diags.error({name, 1, 1},
                "the file is empty; a spec needs a task block and at "
                "least one model block");
    return std::nullopt;
  }
  if (const size_t bad = firstInvalidUtf8(text); bad != std::string::npos) {
    char byte[8];
    std::snprintf(byte, sizeof byte, "0x%02X",
                  static_cast<unsigned char>(text[bad]));
    diags.error(locationOfOffset(name, text, bad),
                std::string("the file is not UTF-8 text: byte ") + byte +
                    " cannot start or continue a character here");
    return std::nullopt;
  }
  Parse p(name, text, diags);
  TaskParser::FileContext *tree = p.parser.file();
  if (p.listener.errors() > 0)
    return std::nullopt;
  return AstBuilder(name, 0).file(tree, name);
}

std::optional<ast::File> parseTaskFile(const std::string &path,
                                       DiagnosticEngine &diags) {
  std::string text, error;
  if (!readRegularFile(path, kMaxSpecBytes, "a spec", text, error)) {
    diags.error({path, 0, 0}, error);
    return std::nullopt;
  }
  return parseTaskSource(path, text, diags);
}

bool applyOverride(ast::File &file, const std::string &assignment,
                   DiagnosticEngine &diags) {
  const std::string where = "<command line>";
  const int line = addOverrideLine(diags, where, assignment);
  const SourceLoc at{where, line, 1};
  const std::optional<OverrideTarget> target =
      overrideTarget(assignment, at, diags);
  if (!target)
    return false;
  const std::optional<ast::Value> value =
      parseOverrideValue(assignment.substr(target->eq + 1), where, line,
                         static_cast<int>(target->eq) + 1, diags);
  if (!value)
    return false;

  bool applied = setFieldInBlocks(file, *target, *value, at);
  if (!applied && target->blockKind == "eval") {
    ast::Block b;
    b.kind = "eval";
    b.loc = at;
    b.fields.push_back({target->field, at, *value});
    file.blocks.push_back(std::move(b));
    applied = true;
  }
  if (!applied) {
    diags.error(at, "override '" + target->path + "': the spec has no " +
                        (target->modelName.empty()
                             ? target->blockKind + " block"
                             : "model named '" + target->modelName + "'"));
    return false;
  }
  return true;
}

} // namespace handwire
