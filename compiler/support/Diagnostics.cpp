#include "support/Diagnostics.h"

#include <cstdint>
#include <sstream>

namespace handwire {

std::string SourceLoc::str() const {
  std::ostringstream os;
  os << file;
  if (line > 0)
    os << ':' << line << ':' << col;
  return os.str();
}

void DiagnosticEngine::addSource(const std::string &file, std::string text) {
  sources_[file] = std::move(text);
}

void DiagnosticEngine::add(Severity s, const SourceLoc &loc,
                           const std::string &msg) {
  diags_.push_back({s, loc, msg});
  if (s == Severity::Error)
    ++errors_;
}

const std::string *DiagnosticEngine::source(const std::string &file) const {
  auto it = sources_.find(file);
  return it == sources_.end() ? nullptr : &it->second;
}

void DiagnosticEngine::error(const SourceLoc &loc, const std::string &msg) {
  add(Severity::Error, loc, msg);
}
void DiagnosticEngine::warning(const SourceLoc &loc, const std::string &msg) {
  add(Severity::Warning, loc, msg);
}
void DiagnosticEngine::note(const SourceLoc &loc, const std::string &msg) {
  add(Severity::Note, loc, msg);
}
void DiagnosticEngine::refusal(const SourceLoc &loc, const std::string &msg) {
  add(Severity::Error, loc, msg);
  ++refusals_;
}

std::string clipMiddle(const std::string &text, size_t max) {
  if (text.size() <= max)
    return text;
  const auto continuation = [&](size_t i) {
    return i < text.size() &&
           (static_cast<unsigned char>(text[i]) & 0xC0) == 0x80;
  };
  size_t head = max / 2, tail = text.size() - max / 2;
  while (head > 0 && continuation(head))
    --head;
  while (continuation(tail))
    ++tail;
  return text.substr(0, head) + " ... (" + std::to_string(tail - head) +
         " bytes left out) ... " + text.substr(tail);
}

namespace {
// Line `line` (1-based) of `text`, without its newline; empty if absent.
std::string sourceLine(const std::string &text, int line) {
  size_t start = 0;
  for (int l = 1; l < line; ++l) {
    start = text.find('\n', start);
    if (start == std::string::npos)
      return {};
    ++start;
  }
  size_t end = text.find('\n', start);
  std::string s = text.substr(
      start, end == std::string::npos ? std::string::npos : end - start);
  if (!s.empty() && s.back() == '\r')
    s.pop_back();
  return s;
}
} // namespace

std::string DiagnosticEngine::render(const Diagnostic &d) const {
  static const char *kNames[] = {"error", "warning", "note"};
  std::ostringstream os;
  os << clipMiddle(d.loc.str(), 300) << ": "
     << kNames[static_cast<int>(d.severity)] << ": "
     << clipMiddle(d.message, kMaxMessageBytes) << '\n';
  auto it = sources_.find(d.loc.file);
  if (d.loc.valid() && it != sources_.end()) {
    std::string text = sourceLine(it->second, d.loc.line);
    // Very long or binary lines are clipped so a message stays readable.
    constexpr size_t kMaxShown = 160;
    size_t col = d.loc.col > 0 ? static_cast<size_t>(d.loc.col - 1) : 0;
    size_t first = col > kMaxShown / 2 ? col - kMaxShown / 2 : 0;
    std::string shown = text.substr(std::min(first, text.size()), kMaxShown);
    // Control bytes, and any non-ASCII byte on a line that is not valid
    // UTF-8, are shown as '?' so the terminal shows what the caret means.
    bool utf8 = true;
    for (size_t i = 0; i < shown.size() && utf8;) {
      const unsigned char c = static_cast<unsigned char>(shown[i]);
      const size_t len = c < 0x80         ? 1
                         : (c >> 5) == 6  ? 2
                         : (c >> 4) == 14 ? 3
                         : (c >> 3) == 30 ? 4
                                          : 0;
      utf8 = len > 0 && i + len <= shown.size();
      for (size_t k = 1; utf8 && k < len; ++k)
        utf8 = (static_cast<unsigned char>(shown[i + k]) >> 6) == 2;
      i += len ? len : 1;
    }
    for (char &c : shown)
      if ((static_cast<unsigned char>(c) < 0x20 && c != '\t') ||
          (!utf8 && static_cast<unsigned char>(c) >= 0x80))
        c = '?';
    os << "  " << shown << '\n' << "  ";
    for (size_t i = first; i < col && i - first < shown.size(); ++i)
      os << (shown[i - first] == '\t' ? '\t' : ' ');
    os << "^\n";
  }
  return os.str();
}

void DiagnosticEngine::flush(std::ostream &os) {
  // Once the cap is reached the closing note is printed and printed_ is set
  // past it for good: later flushes (one per model) drop silently instead of
  // repeating the note.
  constexpr size_t kClosed = SIZE_MAX / 2;
  size_t dropped = 0, droppedBytes = 0;
  for (const auto &d : diags_) {
    const std::string text = render(d);
    if (printed_ >= kClosed || printed_ + text.size() > kMaxOutputBytes) {
      ++dropped;
      droppedBytes += text.size();
      continue;
    }
    printed_ += text.size();
    os << text;
  }
  if (dropped > 0 && printed_ < kClosed) {
    os << "note: " << dropped << " more diagnostic" << (dropped == 1 ? "" : "s")
       << " (" << droppedBytes
       << " bytes) not shown, nor any that follow: at most "
       << kMaxOutputBytes / 1024 << " KiB of diagnostics are printed\n";
    printed_ = kClosed;
  }
  diags_.clear();
}

void internalError(const char *file, int line, const std::string &msg) {
  std::ostringstream os;
  os << "internal error (a bug in handwire) at " << file << ':' << line << ": "
     << msg;
  throw InternalError(os.str());
}

std::string humanCount(double x) {
  std::ostringstream os;
  os.precision(3);
  if (x >= 1e9)
    os << x / 1e9 << "G";
  else if (x >= 1e6)
    os << x / 1e6 << "M";
  else if (x >= 1e4)
    os << x / 1e3 << "k";
  else if (x >= 100)
    os << static_cast<int64_t>(x + 0.5);
  else
    os << x;
  return os.str();
}

std::string humanBytes(double b) {
  std::ostringstream os;
  os.precision(3);
  if (b >= (1 << 30))
    os << b / (1 << 30) << " GiB";
  else if (b >= (1 << 20))
    os << b / (1 << 20) << " MiB";
  else
    os << b / 1024 << " KiB";
  return os.str();
}

} // namespace handwire
