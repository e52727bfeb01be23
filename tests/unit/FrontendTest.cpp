// Parser and sema on valid input: values, defaults, locations, overrides.
#include "frontend/Parser.h"
#include "frontend/Sema.h"

#include <gtest/gtest.h>

namespace handwire {
namespace {

const char *kExample = R"(// a comment
/* a block
   comment */
task index_lookup {
  alphabet   = [a, 7, "x y", ];   // trailing comma
  max_length = 2^10;
}
model transformer {
  layers = 1; code = rademacher; seed = 18446744073709551615;
  coherence = 0.25; margin = 5e-1; scale = 20; precision = f64;
}
model rnn { name = "small"; }
eval { samples = 123; seed = 0; inputs = adversarial; }
)";

std::optional<Spec> analyze(const std::string &text, DiagnosticEngine &diags,
                            const std::vector<std::string> &overrides = {}) {
  auto file = parseTaskSource("t.task", text, diags);
  if (!file)
    return std::nullopt;
  for (const auto &o : overrides)
    if (!applyOverride(*file, o, diags))
      return std::nullopt;
  return analyzeSpec(*file, diags);
}

std::string rendered(DiagnosticEngine &diags) {
  std::string s;
  for (const auto &d : diags.diagnostics())
    s += diags.render(d);
  return s;
}

TEST(Frontend, ParsesEveryValueFormAndKeepsLocations) {
  DiagnosticEngine diags;
  auto spec = analyze(kExample, diags);
  ASSERT_TRUE(spec) << rendered(diags);
  EXPECT_EQ(spec->task.kind, TaskKind::IndexLookup);
  EXPECT_EQ(spec->task.alphabet, (std::vector<std::string>{"a", "7", "x y"}));
  EXPECT_EQ(spec->task.maxLength, 1024);
  EXPECT_EQ(spec->task.loc.line, 4);
  EXPECT_EQ(spec->task.loc.col, 6);
  EXPECT_EQ(spec->task.fieldLoc("max_length").line, 6);
  EXPECT_EQ(spec->task.fieldLoc("max_length").col, 16);
  ASSERT_EQ(spec->models.size(), 2u);
  const ModelSpec &tf = spec->models[0];
  EXPECT_EQ(tf.name, "transformer");
  EXPECT_EQ(tf.seed, 18446744073709551615ULL);
  EXPECT_DOUBLE_EQ(tf.coherence, 0.25);
  EXPECT_DOUBLE_EQ(tf.margin, 0.5);
  ASSERT_TRUE(tf.scale);
  EXPECT_DOUBLE_EQ(*tf.scale, 20);
  EXPECT_EQ(tf.precision, Precision::F64);
  EXPECT_EQ(tf.fieldLoc("seed").line, 9);
  const ModelSpec &rnn = spec->models[1];
  EXPECT_EQ(rnn.name, "small");
  EXPECT_EQ(rnn.arch, Architecture::RNN);
  EXPECT_EQ(rnn.precision, Precision::F32); // default
  EXPECT_EQ(spec->eval.samples, 123);
  EXPECT_EQ(spec->eval.seed, 0u);
  EXPECT_EQ(spec->eval.inputs, InputDistribution::Adversarial);
}

TEST(Frontend, DefaultsApplyWhenFieldsAreAbsent) {
  DiagnosticEngine diags;
  auto spec =
      analyze("task bounded_dyck { max_length = 10; } model rnn {}", diags);
  ASSERT_TRUE(spec) << rendered(diags);
  EXPECT_EQ(spec->task.brackets, 2);
  EXPECT_EQ(spec->task.depth, 2);
  EXPECT_EQ(spec->eval.samples, 10000);
  EXPECT_EQ(spec->eval.inputs, InputDistribution::Mixed);
  EXPECT_FALSE(spec->eval.loc.valid());
}

TEST(Frontend, OverridesReplaceAddAndAreValidated) {
  DiagnosticEngine diags;
  auto spec = analyze(kExample, diags,
                      {"task.max_length=2^16", "model.small.precision=f64",
                       "model.transformer.seed=5", "eval.samples=7"});
  ASSERT_TRUE(spec) << rendered(diags);
  EXPECT_EQ(spec->task.maxLength, 65536);
  EXPECT_EQ(spec->task.fieldLoc("max_length").file, "<command line>");
  EXPECT_EQ(spec->models[1].precision, Precision::F64);
  EXPECT_EQ(spec->models[0].seed, 5u);
  EXPECT_EQ(spec->eval.samples, 7);

  for (const char *bad :
       {"task.max_length=1", "nonsense", "model.nope.seed=1",
        "model.small.coherence=0.2", "task.max_length=[1", "thing.x=1"}) {
    DiagnosticEngine d;
    EXPECT_FALSE(analyze(kExample, d, {bad})) << bad;
    EXPECT_TRUE(d.hasErrors()) << bad;
  }
  DiagnosticEngine d2;
  EXPECT_FALSE(analyze(kExample, d2, {"eval.samples=3", "model.seed=5"}));
  ASSERT_TRUE(d2.hasErrors()); // seed does not apply to the rnn model
  EXPECT_EQ(
      d2.render(d2.diagnostics()[0]),
      "<command line>:2:1: error: field 'seed' does not apply to an rnn model\n"
      "  model.seed=5\n"
      "  ^\n");
  DiagnosticEngine d;
  analyze(kExample, d, {"task.max_length=1"});
  ASSERT_TRUE(d.hasErrors());
  EXPECT_EQ(d.render(d.diagnostics()[0]),
            "<command line>:1:17: error: max_length must be at least 2, got 1\n"
            "  task.max_length=1\n"
            "                  ^\n");
}

TEST(Frontend, PowerAndHugeIntegersAreExactOrRefused) {
  DiagnosticEngine d1;
  auto ok =
      analyze("task string_equality { max_length = 2^26; } model rnn {}", d1);
  ASSERT_TRUE(ok) << rendered(d1);
  EXPECT_EQ(ok->task.maxLength, 1 << 26);
  for (const char *n :
       {"2^64", "2^27", "18446744073709551616", "-5", "0^0", "99^99"}) {
    DiagnosticEngine d;
    EXPECT_FALSE(analyze(std::string("task string_equality { max_length = ") +
                             n + "; } model rnn {}",
                         d))
        << n;
  }
}

TEST(Frontend, AlphabetOver65536SymbolsIsRefused) {
  std::string symbols;
  for (int i = 0; i <= 65536; ++i)
    symbols += "s" + std::to_string(i) + ",";
  DiagnosticEngine d;
  EXPECT_FALSE(analyze("task index_lookup { alphabet = [" + symbols +
                           "]; max_length = 4; } model rnn {}",
                       d));
  ASSERT_EQ(d.errorCount(), 1) << rendered(d);
  EXPECT_EQ(d.diagnostics()[0].message,
            "'alphabet' may have at most 65536 symbols, got 65537");
}

TEST(Frontend, AllFourTaskKindsAndTheirFields) {
  for (const char *text :
       {"task index_lookup { alphabet = [a, b]; max_length = 4; } model rnn {}",
        "task bounded_dyck { brackets = 3; depth = 4; max_length = 4; } model "
        "rnn {}",
        "task string_equality { max_length = 4; } model rnn {}",
        "task disjointness { max_length = 4; } model transformer { layers = 2; "
        "}"}) {
    DiagnosticEngine d;
    EXPECT_TRUE(analyze(text, d)) << text << "\n" << rendered(d);
  }
}

} // namespace
} // namespace handwire
