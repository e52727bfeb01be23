// The pipeline (compiler/Pipeline.h): every stage runs in order, is timed
// and observed, the --emit names round-trip, and the native forward pass it
// builds (with the verifier between stages or without) computes what a
// JitBackend built in one piece computes.
#include "Pipeline.h"

#include "jit/JitBackend.h"
#include "tasks/Generators.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace handwire {
namespace {

const std::string kSpec =
    std::string(HANDWIRE_SOURCE_DIR) + "/specs/index_lookup.task";

std::vector<Stage> stagesOf(const std::vector<StageTiming> &timings) {
  std::vector<Stage> out;
  for (const StageTiming &t : timings)
    out.push_back(t.stage);
  return out;
}

TEST(Pipeline, EmitNamesRoundTripInStageOrder) {
  const std::vector<std::string> names = emitNames();
  ASSERT_EQ(names.size(), static_cast<size_t>(kStageCount) + 1); // + onnx
  for (int s = 0; s < kStageCount; ++s) {
    EXPECT_EQ(names[static_cast<size_t>(s)],
              stageEmitName(static_cast<Stage>(s)));
    EXPECT_EQ(stageForEmit(names[static_cast<size_t>(s)]),
              static_cast<Stage>(s));
  }
  EXPECT_EQ(stageForEmit("onnx"), Stage::Export);
  EXPECT_FALSE(stageForEmit("object"));
}

// Runs stages 1-8 on index lookup at N = 16 and checks the forward pass
// against a JitBackend compiled in one piece, on generated inputs.
void checkNative(bool verifyEachStage, bool observe) {
  DiagnosticEngine diags;
  PipelineOptions options;
  options.verifyEachStage = verifyEachStage;
  std::vector<Stage> seen;
  if (observe)
    options.observer = [&seen](Stage s, const StageResult &) {
      seen.push_back(s);
    };
  Pipeline pipeline(options, diags);
  const std::optional<Spec> spec =
      pipeline.frontEnd(kSpec, {"task.max_length=16"});
  ASSERT_TRUE(spec);
  std::optional<Network> net = pipeline.network(*spec, spec->models[0]);
  ASSERT_TRUE(net);
  const std::unique_ptr<JitBackend> jit = pipeline.native(*net, std::nullopt);

  const std::vector<Stage> all = {
      Stage::Parse, Stage::Sema,     Stage::Construct, Stage::Certify,
      Stage::Plan,  Stage::EmitLLVM, Stage::Optimize,  Stage::Link};
  EXPECT_EQ(stagesOf(pipeline.timings()), all);
  for (const StageTiming &t : pipeline.timings())
    EXPECT_GE(t.ms, 0) << stageName(t.stage);
  if (observe) {
    EXPECT_EQ(seen, all);
  }

  const JitBackend whole(*net);
  ExampleGenerator gen(spec->task, InputDistribution::Mixed, 1);
  Example ex;
  std::vector<double> a(static_cast<size_t>(net->classCount)), b(a.size());
  for (uint64_t i = 0; i < 200; ++i) {
    gen.generate(i, ex);
    const auto n = static_cast<int64_t>(ex.tokens.size());
    jit->logits(ex.tokens.data(), n, a.data());
    whole.logits(ex.tokens.data(), n, b.data());
    ASSERT_EQ(a, b) << "input " << i;
  }
}

TEST(Pipeline, StagesInOrderWithTheVerifierBetweenThem) {
  checkNative(/*verifyEachStage=*/true, /*observe=*/true);
}

TEST(Pipeline, StagesInOrderWhenTheBackendOptimizes) {
  // No observer and no verifier: the backend optimizes while it fills the
  // plan's tables; the optimize stage is still reported, before link.
  checkNative(/*verifyEachStage=*/false, /*observe=*/false);
}

TEST(Pipeline, ARefusedModelStopsAfterConstructWithALocatedError) {
  DiagnosticEngine diags;
  Pipeline pipeline({}, diags);
  const std::optional<Spec> spec = pipeline.frontEnd(
      std::string(HANDWIRE_SOURCE_DIR) + "/specs/bounded_dyck.task",
      {"model.transformer.layers=1"});
  ASSERT_TRUE(spec);
  const ModelSpec *transformer = nullptr;
  for (const ModelSpec &m : spec->models)
    if (m.name == "transformer")
      transformer = &m;
  ASSERT_NE(transformer, nullptr);
  EXPECT_FALSE(pipeline.network(*spec, *transformer));
  ASSERT_TRUE(diags.hasErrors());
  EXPECT_TRUE(diags.diagnostics().front().loc.valid());
  EXPECT_EQ(pipeline.timings().back().stage, Stage::Construct);
}

} // namespace
} // namespace handwire
