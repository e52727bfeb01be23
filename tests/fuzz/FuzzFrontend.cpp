// libFuzzer target for the whole front end: parse, overrides, sema,
// construction selection and the memory estimate (nothing is allocated for
// weights). Any crash, sanitizer report, leak, hang or escaping exception is
// a bug: bad input must only ever produce diagnostics.
//
// Lines at the top of the input of the form "//! block.field=value" are also
// applied as -D overrides. They are comments to the parser, so every seed
// stays a plain .task file while the override parser gets fuzzed too.
#include "Pipeline.h"

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

using namespace handwire;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const std::string text(reinterpret_cast<const char *>(data), size);
  std::vector<std::string> overrides;
  for (size_t pos = 0; text.compare(pos, 4, "//! ") == 0;) {
    const size_t end = text.find('\n', pos);
    overrides.push_back(text.substr(
        pos + 4, end == std::string::npos ? std::string::npos : end - pos - 4));
    if (end == std::string::npos)
      break;
    pos = end + 1;
  }

  DiagnosticEngine diags;
  const std::optional<Spec> spec =
      loadSpecSource("fuzz.task", text, overrides, diags);
  if (spec)
    for (const ModelSpec &m : spec->models)
      planConstruction(*spec, m, CompileOptions{}, diags);
  // Rendering (source line + caret) reads the text at each location: make
  // sure every location the front end produced is a valid one.
  for (const Diagnostic &d : diags.diagnostics())
    (void)diags.render(d);
  return 0;
}
