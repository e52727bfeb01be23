// User-facing diagnostics: "file:line:col: error: message", then the source
// line and a caret under the column, in the style of clang.
//
// User errors go through DiagnosticEngine and make the process exit non-zero.
// Broken internal invariants are bugs and use HW_ASSERT / InternalError.
#pragma once

#include "support/SourceLoc.h"

#include <map>
#include <ostream>
#include <stdexcept>
#include <string>
#include <vector>

namespace handwire {

enum class Severity { Error, Warning, Note };

struct Diagnostic {
  Severity severity;
  SourceLoc loc;
  std::string message;
};

class DiagnosticEngine {
public:
  // Source text per file, used to print the offending line under a message.
  void addSource(const std::string &file, std::string text);
  // The text registered for `file`, or nullptr.
  const std::string *source(const std::string &file) const;

  void error(const SourceLoc &loc, const std::string &msg);
  void warning(const SourceLoc &loc, const std::string &msg);
  void note(const SourceLoc &loc, const std::string &msg);
  // An error that refuses a valid request (a model that cannot be
  // certified): the command exits 2 if every error was one.
  void refusal(const SourceLoc &loc, const std::string &msg);
  int refusalCount() const { return refusals_; }

  int errorCount() const { return errors_; }
  bool hasErrors() const { return errors_ > 0; }
  const std::vector<Diagnostic> &diagnostics() const { return diags_; }

  // Prints every diagnostic recorded so far (in order) and forgets them. At
  // most kMaxOutputBytes are printed over the engine's life; the rest is
  // counted in one closing note, so a flood of errors stays readable.
  void flush(std::ostream &os);
  static constexpr size_t kMaxOutputBytes = 32 * 1024;
  // A message longer than this is clipped in the middle, saying how much.
  static constexpr size_t kMaxMessageBytes = 1000;
  // Renders one diagnostic with its source line and caret.
  std::string render(const Diagnostic &d) const;

private:
  void add(Severity s, const SourceLoc &loc, const std::string &msg);
  std::map<std::string, std::string> sources_;
  std::vector<Diagnostic> diags_;
  int errors_ = 0, refusals_ = 0;
  size_t printed_ = 0; // bytes flushed so far
};

// Thrown for user errors found outside the front end (bad model files,
// unwritable paths, refused certificates); the driver prints it and exits 1.
class UserError : public std::runtime_error {
public:
  explicit UserError(const std::string &msg, SourceLoc loc = {})
      : std::runtime_error(msg), loc_(std::move(loc)) {}
  const SourceLoc &loc() const { return loc_; }

private:
  SourceLoc loc_;
};

// A broken internal invariant: a bug in handwire, never the user's fault.
class InternalError : public std::logic_error {
public:
  using std::logic_error::logic_error;
};

[[noreturn]] void internalError(const char *file, int line,
                                const std::string &msg);

// `text` if it is at most `max` bytes; otherwise its start and end with
// "... (N bytes left out) ..." between, cut at UTF-8 character boundaries.
std::string clipMiddle(const std::string &text, size_t max);

// A byte count for messages: "1.47 KiB", "384 GiB" (3 significant digits).
std::string humanBytes(double bytes);
// A count for reports: 1234567 -> "1.23M", 12345 -> "12.3k", 123 -> "123".
std::string humanCount(double x);

} // namespace handwire

#define HW_ASSERT(cond, msg)                                                   \
  do {                                                                         \
    if (!(cond))                                                               \
      ::handwire::internalError(                                               \
          __FILE__, __LINE__,                                                  \
          std::string("assertion '" #cond "' failed: ") + (msg));              \
  } while (0)
