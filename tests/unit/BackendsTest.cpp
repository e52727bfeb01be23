// The backend choice (runtime/backends/Backends.h) shared by `eval` and
// `sweep`: which forward passes run an f32, f64, f16 and bf16 network under
// each choice and precision override, the JIT's refusal as an error, the
// per-model report (ModelEval.h), and the eval settings from spec and
// command line (eval/EvalSettings.h).
#include "TestSpecs.h"

#include "Pipeline.h"
#include "backends/ModelEval.h"
#include "eval/EvalSettings.h"
#include "jit/JitBackend.h"

#include <gtest/gtest.h>

#include <sstream>

namespace handwire {
namespace {

using handwire::testing::indexLookupSpec;

std::string messages(const DiagnosticEngine &diags) {
  std::string text;
  for (const Diagnostic &d : diags.diagnostics())
    text += d.message + "\n";
  return text;
}

// The index-lookup Transformer at N = 16, stored in `precision`.
Network indexLookupNet(Precision precision) {
  Spec spec = indexLookupSpec(16);
  spec.models[0].precision = precision;
  DiagnosticEngine diags;
  std::optional<Network> net =
      buildNetwork(spec, spec.models[0], CompileOptions{}, diags);
  EXPECT_TRUE(net.has_value()) << messages(diags);
  return std::move(*net);
}

std::vector<std::string> namesOf(const ForwardBackends &b) {
  std::vector<std::string> names;
  for (const Backend *x : b.list())
    names.push_back(x->name());
  return names;
}

using Names = std::vector<std::string>;

TEST(Backends, AutoRunsTheJitExceptForF64) {
  const Network f32 = indexLookupNet(Precision::F32);
  const ForwardBackends a = chooseBackends(f32, BackendChoice::Auto);
  ASSERT_TRUE(a.ok()) << a.error;
  EXPECT_EQ(namesOf(a), Names{"jit"});
  EXPECT_EQ(static_cast<const Backend *>(a.jit), a.owned.front().get());
  ASSERT_TRUE(a.jitTimes.has_value());
  EXPECT_GT(a.jitTimes->totalMs, 0);
  EXPECT_FALSE(a.format.has_value());

  const Network f64 = indexLookupNet(Precision::F64);
  const ForwardBackends r = chooseBackends(f64, BackendChoice::Auto);
  ASSERT_TRUE(r.ok()) << r.error;
  EXPECT_EQ(namesOf(r), Names{"reference-f64"});
  EXPECT_EQ(r.jit, nullptr);
  EXPECT_FALSE(r.jitTimes.has_value());
}

TEST(Backends, SixteenBitNetworksRunNativelyInTheJit) {
  for (auto [p, name, format] :
       {std::tuple{Precision::F16, "jit-f16", StorageFormat::F16},
        std::tuple{Precision::BF16, "jit-bf16", StorageFormat::BF16}}) {
    const Network net = indexLookupNet(p);
    const ForwardBackends b = chooseBackends(net, BackendChoice::Auto);
    ASSERT_TRUE(b.ok()) << b.error;
    EXPECT_EQ(namesOf(b), Names{name});
    EXPECT_EQ(b.format, format);
  }
}

TEST(Backends, BothRunsTheJitThenTheReferenceInTheSamePrecision) {
  const Network f32 = indexLookupNet(Precision::F32);
  EXPECT_EQ(namesOf(chooseBackends(f32, BackendChoice::Both)),
            (Names{"jit", "reference-f32"}));
  EXPECT_EQ(namesOf(chooseBackends(f32, BackendChoice::Reference)),
            Names{"reference-f32"});
  const Network bf16 = indexLookupNet(Precision::BF16);
  EXPECT_EQ(namesOf(chooseBackends(bf16, BackendChoice::Both)),
            (Names{"jit-bf16", "reference-bf16"}));
  // An explicit jit for an f64 network runs it in f32 (as eval always has).
  const Network f64 = indexLookupNet(Precision::F64);
  EXPECT_EQ(namesOf(chooseBackends(f64, BackendChoice::Jit)), Names{"jit"});
}

TEST(Backends, PrecisionOverrideReplacesTheNetworks) {
  const Network f32 = indexLookupNet(Precision::F32);
  EXPECT_EQ(namesOf(chooseBackends(f32, BackendChoice::Both, Precision::F16)),
            (Names{"jit-f16", "reference-f16"}));
  EXPECT_EQ(namesOf(chooseBackends(f32, BackendChoice::Auto, Precision::F64)),
            Names{"reference-f64"});
  const Network bf16 = indexLookupNet(Precision::BF16);
  const ForwardBackends b =
      chooseBackends(bf16, BackendChoice::Auto, Precision::F32);
  EXPECT_EQ(namesOf(b), Names{"jit"});
  EXPECT_FALSE(b.format.has_value());
}

// A sparse one-layer model whose 16-bit JIT plan would be dense and far too
// large: an error naming the way out, nothing to run; the reference runs.
TEST(Backends, JitRefusalIsAnError) {
  DiagnosticEngine diags;
  std::optional<Spec> spec =
      loadSpec(std::string(HANDWIRE_SOURCE_DIR) + "/specs/string_equality.task",
               {"task.max_length=65536"}, diags);
  ASSERT_TRUE(spec.has_value());
  const ModelSpec *oneLayer = nullptr;
  for (const ModelSpec &m : spec->models)
    if (m.name == "one_layer")
      oneLayer = &m;
  ASSERT_NE(oneLayer, nullptr);
  std::optional<Network> net =
      buildNetwork(*spec, *oneLayer, CompileOptions{}, diags);
  ASSERT_TRUE(net.has_value());
  const ForwardBackends b =
      chooseBackends(*net, BackendChoice::Both, Precision::BF16);
  EXPECT_FALSE(b.ok());
  EXPECT_NE(b.error.find("--backend reference"), std::string::npos) << b.error;
  EXPECT_TRUE(b.owned.empty());
  EXPECT_EQ(
      namesOf(chooseBackends(*net, BackendChoice::Reference, Precision::BF16)),
      Names{"reference-bf16"});
}

TEST(Backends, ChoiceNames) {
  for (BackendChoice c : {BackendChoice::Auto, BackendChoice::Jit,
                          BackendChoice::Reference, BackendChoice::Both})
    EXPECT_EQ(backendChoiceByName(backendChoiceName(c)), c);
  EXPECT_FALSE(backendChoiceByName("gpu").has_value());
  EXPECT_FALSE(backendChoiceByName("").has_value());
}

TEST(ModelEval, ComparedBackendsAgreeOnACorrectModel) {
  const Network net = indexLookupNet(Precision::F32);
  const TaskSpec task = indexLookupSpec(16).task;
  EvalOptions eo;
  eo.samples = 200;
  eo.threads = 1;
  const ForwardBackends both = chooseBackends(net, BackendChoice::Both);
  const ModelEvalReport rep = evaluateModel(task, net, both, eo);
  ASSERT_EQ(rep.backends.size(), 2u);
  EXPECT_TRUE(rep.compared);
  EXPECT_TRUE(rep.agree);
  EXPECT_EQ(rep.failures(), 0);
  EXPECT_EQ(rep.logitTolerance, net.certificate.logitTolerance);
  EXPECT_EQ(rep.backends[0].accuracy, 1.0);
  EXPECT_EQ(rep.result.samples, 200);
  EXPECT_TRUE(rep.jit.has_value());

  const ModelEvalReport one = evaluateModel(
      task, net, chooseBackends(net, BackendChoice::Reference), eo);
  EXPECT_FALSE(one.compared);
  EXPECT_FALSE(one.jit.has_value());
}

TEST(ModelEval, SixteenBitToleranceFollowsTheLogitScale) {
  const Network net = indexLookupNet(Precision::BF16);
  EvalOptions eo;
  eo.samples = 50;
  const ModelEvalReport rep =
      evaluateModel(indexLookupSpec(16).task, net,
                    chooseBackends(net, BackendChoice::Both), eo);
  EXPECT_EQ(rep.logitTolerance,
            lowPrecisionLogitTolerance(net, StorageFormat::BF16,
                                       rep.result.maxAbsLogit));
  EXPECT_TRUE(rep.agree);
}

TEST(ModelEval, FailuresCountMismatchesAndADisagreement) {
  ModelEvalReport rep;
  rep.backends.resize(2);
  rep.backends[0].result.mismatches = 3;
  rep.backends[1].result.mismatches = 4;
  EXPECT_EQ(rep.failures(), 7);
  rep.compared = true;
  rep.agree = false;
  EXPECT_EQ(rep.failures(), 8);
}

TEST(EvalSettings, CommandLineOverridesTheSpec) {
  EvalSpec spec;
  spec.samples = 123;
  spec.seed = 9;
  spec.inputs = InputDistribution::Adversarial;
  const EvalOptions fromSpec = evalOptionsFor(spec, {});
  EXPECT_EQ(fromSpec.samples, 123);
  EXPECT_EQ(fromSpec.seed, 9u);
  EXPECT_EQ(fromSpec.inputs, InputDistribution::Adversarial);
  EvalOverrides o;
  o.samples = 5;
  o.seed = 0;
  o.inputs = InputDistribution::Uniform;
  const EvalOptions overridden = evalOptionsFor(spec, o);
  EXPECT_EQ(overridden.samples, 5);
  EXPECT_EQ(overridden.seed, 0u);
  EXPECT_EQ(overridden.inputs, InputDistribution::Uniform);
}

TEST(EvalSettings, InputDistributionNames) {
  for (InputDistribution d :
       {InputDistribution::Uniform, InputDistribution::Adversarial,
        InputDistribution::Mixed})
    EXPECT_EQ(inputDistributionByName(inputDistributionName(d)), d);
  EXPECT_FALSE(inputDistributionByName("random").has_value());
}

TEST(EvalSettings, DecisionLines) {
  std::ostringstream os;
  writeDecisionLines(os, "rnn",
                     {{0, {1, 2, 3}, {}, 2, 2}, {1, {0}, {}, 1, -1}});
  EXPECT_EQ(os.str(), "rnn 2 2 1 2 3\nrnn -1 1 0\n");
}

} // namespace
} // namespace handwire
