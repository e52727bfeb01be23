// Inputs found by the front-end fuzzer (tests/fuzz, scripts/fuzz.sh), each of
// which once crashed or tripped a sanitizer. Each must now get a located,
// specific error through the same entry points the fuzzer uses.
#include "Pipeline.h"
#include "TestScale.h"
#include "codes/LinearCode.h"
#include "codes/NearOrthogonalCode.h"

#include <gtest/gtest.h>

namespace handwire {
namespace {

// The first error of the front end (parse, sema, selection, memory check) on
// `text`, rendered as "line:col: message"; "" if there is none.
std::string firstError(const std::string &text) {
  DiagnosticEngine diags;
  std::optional<Spec> spec = loadSpecSource("f.task", text, {}, diags);
  if (spec)
    for (const ModelSpec &m : spec->models)
      planConstruction(*spec, m, CompileOptions{}, diags);
  for (const Diagnostic &d : diags.diagnostics())
    if (d.severity == Severity::Error)
      return std::to_string(d.loc.line) + ":" + std::to_string(d.loc.col) +
             ": " + d.message;
  return "";
}

// The ANTLR runtime threw std::range_error (uncaught: abort) on UTF-8 that
// the old check let through: lead bytes F5..F7, code points above U+10FFFF,
// surrogates, overlong 3- and 4-byte forms.
TEST(FuzzRegression, InvalidUtf8IsReportedNotThrown) {
  const struct {
    const char *bytes, *shown;
  } cases[] = {{"\xF6\x9A\x89\x95", "0xF6"}, {"\xF4\x90\x80\x80", "0xF4"},
               {"\xED\xA0\x80", "0xED"},     {"\xE0\x80\xAF", "0xE0"},
               {"\xF0\x80\x80\xAF", "0xF0"}, {"\xC0\xAF", "0xC0"},
               {"\xE2\x82", "0xE2"}};
  for (const auto &c : cases) {
    const std::string text = "task index_lookup {\n  alphabet = [a, " +
                             std::string(c.bytes) +
                             "];\n  max_length = 8;\n}\nmodel rnn {}\n";
    EXPECT_EQ(firstError(text),
              std::string("2:18: the file is not UTF-8 text: byte ") + c.shown +
                  " cannot start or continue a character here");
  }
  // Valid multi-byte text at the edges of the ranges is still accepted.
  EXPECT_EQ(firstError("// \xEF\xBF\xBF \xF4\x8F\xBF\xBF \xED\x9F\xBF "
                       "\xF0\x90\x80\x80 \xC2\x80\n"
                       "task index_lookup { alphabet = [a, b]; max_length = "
                       "8; }\nmodel rnn {}\n"),
            "");
}

// The fuzzer's 10 s limit caught the memory estimate certifying K(10) (for
// 200,001 codewords) under the sanitizers. Planning now takes Kerdock's width
// from the theorem (2^m dimensions at coherence 2^(-m/2)); only the build
// certifies. The estimate still sees K(10): 1024 dimensions, about 3.3 GB of
// weights, within the default limit.
TEST(FuzzRegression, KerdockEstimateDoesNotCertify) {
  const std::string text = "task index_lookup {\n  alphabet = [a, b];\n"
                           "  max_length = 200000;\n}\nmodel transformer {\n"
                           "  code = kerdock;\n  coherence = 0.5;\n}\n";
  EXPECT_EQ(firstError(text), "");
  CodeRequest r;
  r.family = CodeFamily::Kerdock;
  r.count = 200001;
  r.coherence = 0.5;
  r.sided = Sidedness::OneSided;
  EXPECT_EQ(plannedCodeWidth(r), 1024);
}

// The fuzzer's 10 s limit caught the memory estimate of a nearest-neighbour
// Transformer at N = 2^23 (the cheapest alternative to a refused RNN)
// certifying a dual-BCH span of 2^25 codewords under the sanitizers. Beyond
// 2^24 codewords, `auto` estimates now take dual-BCH members by the Weil
// bound. The member the bound picks must still certify: no estimate may be
// narrower than what is built (~1 s; skipped under the sanitizers, where it
// is the very cost the estimate avoids).
TEST(FuzzRegression, LargeAutoEstimateUsesTheWeilBound) {
  const std::string text =
      "task nearest_neighbour {\n  max_length = 8388608;\n  dimension = 16;\n"
      "  labels = 4;\n}\nmodel rnn {}\n";
  EXPECT_NE(firstError(text).find("above the limit"), std::string::npos)
      << firstError(text);
  for (double mu : {0.25, 0.125}) {
    CodeRequest r;
    r.family = CodeFamily::Auto;
    r.count = (int64_t(1) << 24) + 1; // K = 25: the bound's side
    r.coherence = mu;
    r.sided = Sidedness::TwoSided;
    const int64_t width = plannedCodeWidth(r);
    int m = 0;
    while ((int64_t(1) << m) < width)
      ++m;
    ASSERT_EQ(int64_t(1) << m, width) << mu; // a dual-BCH length
    if (handwire::testing::kSanitized)
      continue;
    const int t = (25 + m - 1) / m;
    const SpanCertificate c = certifySpan(dualBchCode(m, t), 25);
    ASSERT_TRUE(c.complete);
    EXPECT_LE(std::max(c.maxBias, -c.minBias),
              static_cast<int64_t>(mu * double(width)))
        << mu << ": the Weil bound picked a member that does not certify";
  }
}

} // namespace
} // namespace handwire
