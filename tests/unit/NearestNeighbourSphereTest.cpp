// Nearest neighbour over real unit vectors (points = sphere): the semantics
// against brute force, the generators' promise (unit vectors, zeros off the
// points, the margin kept, the hard cases hit), the input checks, the
// two-layer Transformer exact in the reference and the JIT (the same weights
// as on the cube, the points entering through embed.feature), its model file
// round trip, and the spec's refusals.
#include "Pipeline.h"
#include "TestBuild.h"
#include "eval/Evaluate.h"
#include "export/ModelFile.h"
#include "jit/JitBackend.h"
#include "reference/Evaluator.h"
#include "spec/Vocabulary.h"
#include "tasks/Generators.h"
#include "tasks/TaskSemantics.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <limits>

namespace handwire {
namespace {

Spec sphereSpec(int64_t N, int64_t d, int64_t L, double margin,
                Precision precision = Precision::F32) {
  Spec s;
  s.file = "<test>";
  s.task.kind = TaskKind::NearestNeighbour;
  s.task.points = "sphere";
  s.task.maxLength = N;
  s.task.dimension = d;
  s.task.labels = L;
  s.task.margin = margin;
  ModelSpec tf;
  tf.name = "transformer";
  tf.layers = 2;
  tf.code = CodeFamily::ExtendedBch;
  tf.precision = precision;
  s.models = {tf};
  return s;
}

// Brute force over the stored floats: the best example (1-based), its label,
// and the best and runner-up inner products.
struct Brute {
  int64_t index = 0, label = 0;
  double best = -1e300, second = -1e300;
};
Brute bruteForce(const TaskSpec &task, const Example &ex) {
  const int64_t d = task.dimension;
  const int64_t n = (static_cast<int64_t>(ex.tokens.size()) - 2) / 2;
  const float *q = &ex.features[static_cast<size_t>((2 * n + 1) * d)];
  Brute b;
  for (int64_t i = 1; i <= n; ++i) {
    const float *x = &ex.features[static_cast<size_t>((2 * i - 1) * d)];
    double s = 0;
    for (int64_t j = 0; j < d; ++j)
      s += double(q[j]) * double(x[j]);
    if (s > b.best) {
      b.second = b.best;
      b.best = s;
      b.index = i;
      b.label = ex.tokens[static_cast<size_t>(2 * i)] -
                vocabularyOf(task).firstLabelToken;
    } else if (s > b.second) {
      b.second = s;
    }
  }
  return b;
}

double normOfRow(const Example &ex, int64_t t, int64_t d) {
  double s = 0;
  for (int64_t j = 0; j < d; ++j)
    s += double(ex.features[static_cast<size_t>(t * d + j)]) *
         ex.features[static_cast<size_t>(t * d + j)];
  return std::sqrt(s);
}

TEST(NearestNeighbourSphere, GeneratedInputsAreUnitVectorsThatKeepTheMargin) {
  for (int64_t d : {1, 3, 16, 64}) {
    const double margin = d == 1 ? 0.5 : 0.1;
    const Spec spec = sphereSpec(64, d, 4, margin);
    const TaskSpec &task = spec.task;
    ASSERT_EQ(taskDefinition(task.kind).featureDim(task), d);
    const ExampleGenerator gen(task, InputDistribution::Mixed, 11, {});
    int64_t atMargin = 0, queryIsAnExample = 0, allFar = 0;
    Example ex;
    for (uint64_t i = 0; i < 1000; ++i) {
      gen.generate(i, ex);
      SCOPED_TRACE("d = " + std::to_string(d) + ", input " + std::to_string(i));
      const int64_t M = static_cast<int64_t>(ex.tokens.size());
      ASSERT_EQ(static_cast<int64_t>(ex.features.size()), M * d);
      EXPECT_EQ(checkInput(task, ex.tokens, ex.features), "");
      for (int64_t t = 0; t < M; ++t) {
        const double norm = normOfRow(ex, t, d);
        if (t % 2 == 1)
          EXPECT_NEAR(norm, 1.0, 1e-6);
        else
          EXPECT_EQ(norm, 0.0);
      }
      const Brute b = bruteForce(task, ex);
      EXPECT_EQ(ex.label, b.label);
      if (M > 4) {
        EXPECT_GE(b.best - b.second, margin);
        atMargin += b.best - b.second < margin + 1e-5;
      }
      queryIsAnExample +=
          b.best == normOfRow(ex, M - 1, d) * normOfRow(ex, M - 1, d);
      allFar += b.best < -1 + margin + 1e-4;
    }
    // The adversarial half reaches the cases the proof is tight on (d = 1
    // has one shape: x_i* = x_q, the others -x_q).
    EXPECT_GT(queryIsAnExample, 50);
    if (d > 1) {
      EXPECT_GT(atMargin, 100);
      EXPECT_GT(allFar, 50);
    }
  }
}

TEST(NearestNeighbourSphere, InputsThatBreakThePromiseAreRefused) {
  const Spec spec = sphereSpec(16, 8, 3, 0.2);
  const TaskSpec &task = spec.task;
  const ExampleGenerator gen(task, InputDistribution::Adversarial, 5, {});
  Example good;
  gen.generate(0, good);
  ASSERT_EQ(checkInput(task, good.tokens, good.features), "");
  const int64_t d = 8, M = static_cast<int64_t>(good.tokens.size());
  auto refused = [&](const Example &ex, const std::string &why) {
    const std::string got = checkInput(task, ex.tokens, ex.features);
    EXPECT_NE(got.find(why), std::string::npos) << "got: " << got;
  };
  // Tokens alone say nothing about where the points are.
  EXPECT_NE(checkInput(task, good.tokens).find("continuous inputs"),
            std::string::npos);
  Example bad = good;
  bad.features.pop_back();
  refused(bad, "continuous values, got");
  bad = good;
  for (int64_t j = 0; j < d; ++j)
    bad.features[static_cast<size_t>(d + j)] *= 1.01f; // x_1
  refused(bad, "has norm 1.01");
  bad = good;
  bad.features[static_cast<size_t>(2 * d)] = 0.5f; // the label y_1
  refused(bad, "is not a point, but carries a non-zero vector");
  bad = good;
  bad.features[static_cast<size_t>(d)] =
      std::numeric_limits<float>::quiet_NaN();
  refused(bad, "not finite");
  // Every example a copy of the query: all tied, lead 0.
  bad = good;
  for (int64_t t = 1; t < M - 1; t += 2)
    std::copy(bad.features.end() - d, bad.features.end(),
              bad.features.begin() + t * d);
  refused(bad, "below the margin 0.2");
}

// Logits of both backends on generated inputs, and the task's answer.
void expectExact(const Spec &spec, const Network &net, int64_t inputs,
                 bool jit) {
  const ReferenceBackend<float> reference(net);
  std::unique_ptr<JitBackend> compiled;
  if (jit)
    compiled = std::make_unique<JitBackend>(net);
  const ExampleGenerator gen(spec.task, InputDistribution::Mixed, 3, {});
  Example ex;
  std::vector<double> ref(static_cast<size_t>(net.classCount)),
      got(static_cast<size_t>(net.classCount));
  int64_t wrong = 0;
  for (int64_t i = 0; i < inputs; ++i) {
    gen.generate(static_cast<uint64_t>(i), ex);
    const int64_t M = static_cast<int64_t>(ex.tokens.size());
    reference.logits(ex.tokens.data(), M, ex.features.data(), ref.data());
    wrong += decision(ref.data(), net.classCount) != ex.label;
    if (jit) {
      compiled->logits(ex.tokens.data(), M, ex.features.data(), got.data());
      wrong += decision(got.data(), net.classCount) != ex.label;
      for (int64_t c = 0; c < net.classCount; ++c)
        EXPECT_NEAR(got[c], ref[c], 1e-3) << "input " << i;
    }
  }
  EXPECT_EQ(wrong, 0);
}

TEST(NearestNeighbourSphere, TransformerIsExactInTheReferenceAndTheJit) {
  const Spec spec = sphereSpec(256, 16, 4, 0.1);
  const Network net = testing::build(spec, 0);
  ASSERT_EQ(net.featureDim(), 16);
  EXPECT_GT(net.transformer().embed.featureNorm, 1.0);
  EXPECT_TRUE(net.certificate.certified);
  // Width 2d + L + 2 + 2k, as on the cube; one <point> token.
  EXPECT_EQ(net.tokenCount, 1 + 4 + 1);
  EXPECT_EQ(net.width, 2 * 16 + 4 + 2 + 2 * net.certificate.code->dim);
  expectExact(spec, net, 2000, /*jit=*/true);
}

TEST(NearestNeighbourSphere, HighDimensionAndTinyMargin) {
  // d = 64 and a margin of 0.02: a scale that keeps 2 x 0.02 apart.
  const Spec spec = sphereSpec(64, 64, 7, 0.02);
  const Network net = testing::build(spec, 0);
  expectExact(spec, net, 1000, /*jit=*/true);
}

TEST(NearestNeighbourSphere, ModelFileRoundTripKeepsTheFeatureMatrix) {
  const Spec spec = sphereSpec(32, 5, 3, 0.25);
  const Network net = testing::build(spec, 0);
  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() / "hw_sphere_model";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  const ModelPaths paths = writeModel(spec.task, net, dir.string(), "m");
  const LoadedModel back = readModel(paths.config, int64_t(1) << 30);
  ASSERT_EQ(back.net.featureDim(), 5);
  EXPECT_EQ(back.task.points, "sphere");
  EXPECT_EQ(back.net.transformer().embed.featureNorm,
            net.transformer().embed.featureNorm);
  EXPECT_EQ(back.net.transformer().embed.feature.toDense(),
            net.transformer().embed.feature.toDense());
  expectExact(spec, back.net, 300, /*jit=*/false);
  std::filesystem::remove_all(dir);
}

TEST(NearestNeighbourSphere, SpecErrorsAreLocated) {
  struct Case {
    const char *text;
    int line, col;
    const char *message;
  };
  const Case cases[] = {
      {"task nearest_neighbour {\n  max_length = 8;\n  dimension = 4;\n  "
       "labels = 2;\n  points = ball;\n}\nmodel transformer { layers = 2; }\n",
       5, 12, "'points' must be one of cube, sphere, got 'ball'"},
      {"task nearest_neighbour {\n  max_length = 8;\n  dimension = 17;\n  "
       "labels = 2;\n}\nmodel transformer { layers = 2; }\n",
       3, 15, "points = sphere takes any d up to 1024"},
      {"task nearest_neighbour {\n  max_length = 8;\n  dimension = 1025;\n  "
       "labels = 2;\n  points = sphere;\n}\nmodel transformer { layers = 2; "
       "}\n",
       3, 15, "must be at most 1024, got 1025"},
      {"task nearest_neighbour {\n  max_length = 8;\n  dimension = 4;\n  "
       "labels = 2;\n  points = sphere;\n}\nmodel rnn {}\n",
       7, 7, "no RNN construction for nearest neighbour with points = sphere"},
  };
  for (const Case &c : cases) {
    DiagnosticEngine diags;
    EXPECT_FALSE(loadSpecSource("nn.task", c.text, {}, diags)) << c.text;
    ASSERT_FALSE(diags.diagnostics().empty()) << c.text;
    const Diagnostic &e = diags.diagnostics()[0];
    EXPECT_EQ(e.loc.line, c.line) << c.message;
    EXPECT_EQ(e.loc.col, c.col) << c.message;
    EXPECT_NE(e.message.find(c.message), std::string::npos) << e.message;
  }
  // d = 200 is fine on the sphere: no token per point.
  DiagnosticEngine diags;
  auto spec =
      loadSpecSource("nn.task",
                     "task nearest_neighbour { points = sphere; "
                     "max_length = 8; dimension = 200; labels = 3; "
                     "margin = 0.3; }\nmodel transformer { layers = 2; }\n",
                     {}, diags);
  ASSERT_TRUE(spec);
  EXPECT_TRUE(spec->task.onSphere());
  EXPECT_DOUBLE_EQ(spec->task.effectiveMargin(), 0.3);
}

TEST(NearestNeighbourSphere, MarginTooSmallForBf16IsRefusedAtMargin) {
  DiagnosticEngine diags;
  auto spec = loadSpecSource(
      "nn.task",
      "task nearest_neighbour {\n  points = sphere;\n  max_length = 64;\n  "
      "dimension = 16;\n  labels = 4;\n  margin = 0.05;\n}\nmodel transformer "
      "{ layers = 2; precision = bf16; }\n",
      {}, diags);
  ASSERT_TRUE(spec);
  auto net = buildNetwork(*spec, spec->models[0], {}, diags);
  EXPECT_FALSE(net);
  ASSERT_FALSE(diags.diagnostics().empty());
  const Diagnostic &e = diags.diagnostics().back();
  EXPECT_EQ(e.loc.line, 6);
  EXPECT_NE(e.message.find("within the rounding of its scores in bf16"),
            std::string::npos)
      << e.message;
  EXPECT_NE(e.message.find("use precision f32, f64"), std::string::npos)
      << e.message;
}

// The retrieval head's keys average 2N + 2 values, so its rounding grows with
// N: at N = 65536 f32 no longer certifies a margin of 0.1, and the refusal
// names the smallest margin that it does (which then builds).
TEST(NearestNeighbourSphere, LongInputsNeedALargerMarginInF32) {
  DiagnosticEngine diags;
  const Spec tight = sphereSpec(65536, 16, 4, 0.1);
  EXPECT_FALSE(buildNetwork(tight, tight.models[0], {}, diags));
  ASSERT_FALSE(diags.diagnostics().empty());
  const std::string message = diags.diagnostics().back().message;
  const std::string key = "raise 'margin' to at least ";
  const size_t at = message.find(key);
  ASSERT_NE(at, std::string::npos) << message;
  const double suggested = std::stod(message.substr(at + key.size()));
  EXPECT_GT(suggested, 0.1);
  EXPECT_LT(suggested, 0.25);
  const Network net = testing::build(sphereSpec(65536, 16, 4, suggested), 0);
  EXPECT_TRUE(net.certificate.certified);
}

} // namespace
} // namespace handwire
