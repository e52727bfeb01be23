// Read-out heads of Elman RNNs (ElmanBody::head): sparse ReLU layers on h_M
// before the linear read-out. No shipped construction has one, so these tests
// use random networks with heads of 1 to 3 layers and check every consumer
// against the double-precision reference evaluator (itself checked by hand):
// the float reference, the JIT, 16-bit emulation and the precision
// certificate, model files, the verifier, and the ONNX export replayed in ONNX
// Runtime and PyTorch.
#include "RandomNetworks.h"
#include "TestFiles.h"
#include "TestScale.h"
#include "TestSpecs.h"

#include "Pipeline.h"
#include "analysis/PrecisionCertificate.h"
#include "codegen/ForwardPlan.h"
#include "eval/Evaluate.h"
#include "export/ModelFile.h"
#include "export/Onnx.h"
#include "ir/Verifier.h"
#include "jit/JitBackend.h"
#include "reference/Evaluator.h"
#include "support/Diagnostics.h"
#include "support/Random.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <sys/resource.h>
#include <unistd.h>

namespace handwire {
namespace {

namespace fs = std::filesystem;
using handwire::testing::indexLookupSpec;

// A task whose vocabulary is the random networks' (5 tokens, 3 classes):
// index lookup over 3 symbols with N = 2. Model files must agree with it.
Spec randomNetworkTask() { return indexLookupSpec(2, 3); }
using handwire::testing::randomElmanBody;
using handwire::testing::randomMatrix;

// The non-zeros of a dense matrix, as a compressed CSR matrix.
SparseMatrix sparse(const Matrix &m) {
  SparseMatrix s = m.sparseView();
  s.makeCompressed();
  return s;
}

// Same shape, same stored entries in the same order.
bool sameSparse(const SparseMatrix &a, const SparseMatrix &b) {
  return a.rows() == b.rows() && a.cols() == b.cols() &&
         a.nonZeros() == b.nonZeros() &&
         std::equal(a.outerIndexPtr(), a.outerIndexPtr() + a.rows() + 1,
                    b.outerIndexPtr()) &&
         std::equal(a.innerIndexPtr(), a.innerIndexPtr() + a.nonZeros(),
                    b.innerIndexPtr()) &&
         std::equal(a.valuePtr(), a.valuePtr() + a.nonZeros(), b.valuePtr());
}

// Networks made here claim nothing: their certificate says so.
void claimNothing(Network &net) {
  net.certificate.certified = false;
  net.certificate.failures = {"a test network: no claim"};
}

// A random sparse Elman RNN (H = 30, as in JitTest) ending in head layers of
// the given widths. The layers are drawn dense and stored sparse: the first
// ignores units 0-3 and one unit of the last layer is dead (an empty row), as
// hand-wired heads do.
Network randomRnnWithHead(uint64_t seed, const std::vector<int64_t> &widths) {
  SplitMix64 rng(seed);
  Network net = randomElmanBody(rng, 40);
  net.name = "head" + std::to_string(widths.size());
  ElmanBody &e = std::get<ElmanBody>(net.body);
  int64_t in = 30;
  std::vector<Matrix> weights;
  std::vector<Vector> biases;
  for (int64_t out : widths) {
    weights.push_back(randomMatrix(rng, out, in, 1.0f / std::sqrt(float(in))));
    biases.push_back(randomMatrix(rng, out, 1, 0.3f));
    in = out;
  }
  weights.front().leftCols(4).setZero();
  weights.back().row(0).setZero();
  for (size_t k = 0; k < widths.size(); ++k)
    e.head.push_back({sparse(weights[k]), biases[k]});
  net.readout.weight = randomMatrix(rng, 3, in, 1);
  net.readout.bias = Vector::Zero(3);
  claimNothing(net);
  // Centre the logits over a few inputs, so that the decision depends on the
  // input (a random bias would decide most inputs alike, and a replay that
  // compares decisions would then check little).
  Eigen::VectorXd mean = Eigen::VectorXd::Zero(3);
  for (int i = 0; i < 64; ++i) {
    std::vector<int32_t> t(1 + rng.below(net.maxSequenceLength));
    for (auto &x : t)
      x = static_cast<int32_t>(rng.below(net.tokenCount));
    mean += referenceLogits<double>(net, t.data(), int64_t(t.size())) / 64;
  }
  net.readout.bias = -mean.cast<float>();
  return net;
}

// Heads of 1, 2 and 3 layers, one of them wider than the state.
std::vector<Network> randomHeadNetworks(uint64_t seed) {
  return {randomRnnWithHead(seed, {17}), randomRnnWithHead(seed + 1, {45, 9}),
          randomRnnWithHead(seed + 2, {12, 64, 6})};
}

std::vector<int32_t> randomTokens(SplitMix64 &rng, const Network &net) {
  std::vector<int32_t> t(1 + rng.below(net.maxSequenceLength));
  for (auto &x : t)
    x = static_cast<int32_t>(rng.below(net.tokenCount));
  return t;
}

std::string headShape(const Network &net) {
  std::string s = "head";
  for (const HeadLayer &l : net.elman().head)
    s += " " + std::to_string(l.weight.rows());
  return s;
}

// The double reference itself, by hand: the counting RNN of EvaluatorTest
// (h = (ones so far, ones one step earlier)) with a two-layer head.
TEST(RnnHead, ReferenceMatchesAHandComputedHead) {
  Network net;
  net.arch = Architecture::RNN;
  net.tokenCount = 2;
  net.classCount = 2;
  net.maxSequenceLength = 10;
  net.width = 2;
  net.blocks = {{"h", 0, 2, ""}};
  ElmanBody e;
  e.recurrent.resize(2, 2);
  e.recurrent.insert(0, 0) = 1;
  e.recurrent.insert(1, 0) = 1;
  e.recurrent.makeCompressed();
  e.input.resize(2, 2);
  e.input.insert(0, 1) = 1;
  e.input.makeCompressed();
  e.bias = Vector::Zero(2);
  e.initial = Vector::Zero(2);
  // z1 = relu(h0 - h1, h1 - h0 + 0.5); z2 = relu(2 z1_0 + 3 z1_1 - 0.5).
  e.head.push_back({sparse(Matrix{{1, -1}, {-1, 1}}), Vector::Zero(2)});
  e.head[0].bias << 0, 0.5;
  e.head.push_back({sparse(Matrix{{2, 3}}), Vector::Constant(1, -0.5f)});
  net.body = e;
  net.readout.weight = Matrix(2, 1);
  net.readout.weight << 1, -1;
  net.readout.bias = Vector(2);
  net.readout.bias << 0, 1;
  claimNothing(net);
  ASSERT_EQ(verifyNetwork(net), std::vector<std::string>{});
  const int32_t tokens[] = {1, 0, 1, 1}; // h = (3, 2): z1 = (1, 0), z2 = 1.5
  Eigen::VectorXd l = referenceLogits<double>(net, tokens, 4);
  EXPECT_DOUBLE_EQ(l[0], 1.5);
  EXPECT_DOUBLE_EQ(l[1], -0.5);
  const int32_t fewer[] = {1, 1}; // h = (2, 1): z1 = (1, 0), the same
  const int32_t none[] = {0, 0};  // h = (0, 0): z1 = (0, 0.5), z2 = 1
  EXPECT_DOUBLE_EQ(referenceLogits<double>(net, fewer, 2)[0], 1.5);
  EXPECT_DOUBLE_EQ(referenceLogits<double>(net, none, 2)[0], 1.0);
  EXPECT_DOUBLE_EQ(referenceLogits<double>(net, none, 2)[1], 0.0);
  // The JIT computes the same numbers (all exact in float).
  JitBackend jit(net);
  double got[2];
  jit.logits(tokens, 4, got);
  EXPECT_EQ(got[0], 1.5);
  EXPECT_EQ(got[1], -0.5);
  jit.logits(none, 2, got);
  EXPECT_EQ(got[0], 1.0);
  EXPECT_EQ(got[1], 0.0);
}

TEST(RnnHead, FloatReferenceAndJitMatchTheDoubleReference) {
  for (uint64_t seed : {1, 11, 21}) {
    for (const Network &net : randomHeadNetworks(seed)) {
      SCOPED_TRACE(headShape(net) + ", seed " + std::to_string(seed));
      ASSERT_EQ(verifyNetwork(net), std::vector<std::string>{});
      JitBackend jit(net);
      SplitMix64 rng(seed);
      double got[3];
      for (int trial = 0; trial < 100; ++trial) {
        const std::vector<int32_t> t = randomTokens(rng, net);
        const int64_t n = static_cast<int64_t>(t.size());
        const Eigen::VectorXd want = referenceLogits<double>(net, t.data(), n);
        const Eigen::VectorXf f = referenceLogits<float>(net, t.data(), n);
        jit.logits(t.data(), n, got);
        for (int c = 0; c < 3; ++c) {
          const double tol = 1e-4 * (1 + std::fabs(want[c]));
          ASSERT_NEAR(f[c], want[c], tol) << "float reference, length " << n;
          ASSERT_NEAR(got[c], want[c], tol) << "JIT, length " << n;
        }
      }
    }
  }
}

// The head must matter: the same network without its head (read-out on h_M)
// gives different logits, so the tests above would catch a skipped head.
TEST(RnnHead, TheHeadChangesTheLogits) {
  const Network net = randomRnnWithHead(5, {17, 9});
  Network bare = net;
  std::get<ElmanBody>(bare.body).head.clear();
  SplitMix64 rng(5);
  bare.readout.weight = randomMatrix(rng, 3, 30, 1);
  ASSERT_EQ(verifyNetwork(bare), std::vector<std::string>{});
  const int32_t tokens[] = {0, 3, 1, 4, 2};
  EXPECT_GT((referenceLogits<double>(net, tokens, 5) -
             referenceLogits<double>(bare, tokens, 5))
                .cwiseAbs()
                .maxCoeff(),
            1e-3);
}

// A head that is the identity on the (non-negative) state changes nothing,
// bit for bit, in every backend: the index-lookup RNN stays exact.
TEST(RnnHead, AnIdentityHeadKeepsTheIndexLookupRnnExact) {
  Spec spec = indexLookupSpec(64);
  DiagnosticEngine diags;
  auto built = buildNetwork(spec, spec.models[1], {}, diags);
  ASSERT_TRUE(built);
  const Network &bare = *built;
  Network net = bare;
  const int64_t H = net.width;
  SparseMatrix identity(H, H);
  identity.setIdentity();
  std::get<ElmanBody>(net.body).head.push_back(
      {identity, Vector::Zero(H)}); // z = relu(h) = h
  ASSERT_EQ(verifyNetwork(net), std::vector<std::string>{});
  JitBackend jit(net), bareJit(bare);
  LowPrecisionBackend bf16(net, StorageFormat::BF16);
  EvalOptions o;
  o.samples = 300;
  EvalResult r = evaluate(spec.task, net, {&jit, &bareJit, &bf16}, o);
  EXPECT_EQ(r.disagreements, 0);
  EXPECT_EQ(r.maxLogitDifference, 0);
  for (const auto &b : r.backends)
    EXPECT_EQ(b.mismatches, 0) << b.name;
  // Integer weights on a 0/1 state: the certificate keeps both formats.
  for (const PrecisionVerdict &v : precisionVerdicts(net))
    EXPECT_TRUE(v.exact) << precisionName(v.precision);
  // The head's non-zeros count, not H^2.
  EXPECT_EQ(parameterCount(net), parameterCount(bare) + H + H);
}

// The precision certificate bounds the head, and the emulated 16-bit pass
// agrees: a head weight of 257 needs 9 significand bits, which f16 has (11)
// and bf16 does not (8: 257 is stored as 256).
TEST(RnnHead, PrecisionVerdictMatchesTheEmulatedPass) {
  Network net;
  net.arch = Architecture::RNN;
  net.tokenCount = 2;
  net.classCount = 2;
  net.maxSequenceLength = 8;
  net.width = 1;
  net.blocks = {{"h", 0, 1, ""}};
  ElmanBody e;
  e.recurrent.resize(1, 1);
  e.input.resize(1, 2);
  e.bias = Vector::Ones(1); // h = 1 after every step
  e.initial = Vector::Zero(1);
  e.head.push_back({sparse(Matrix::Constant(1, 1, 257)), Vector::Zero(1)});
  net.body = e;
  net.readout.weight = Matrix(2, 1); // logits (z - 256, 256 - z)
  net.readout.weight << 1, -1;
  net.readout.bias = Vector(2);
  net.readout.bias << -256, 256;
  claimNothing(net);
  ASSERT_EQ(verifyNetwork(net), std::vector<std::string>{});

  const PrecisionVerdict f16 = certifyPrecision(net, Precision::F16);
  const PrecisionVerdict bf16 = certifyPrecision(net, Precision::BF16);
  EXPECT_TRUE(f16.exact);
  EXPECT_EQ(f16.requiredBits, 9);
  ASSERT_FALSE(bf16.exact);
  bool blamed = false;
  for (const std::string &r : bf16.reasons)
    blamed |=
        r.find("rnn.head.0: pre-activations reach 257") != std::string::npos;
  EXPECT_TRUE(blamed);

  const int32_t tokens[] = {0, 1, 1};
  double exact[2], half[2], brain[2];
  ReferenceBackend<double>(net).logits(tokens, 3, exact);
  LowPrecisionBackend(net, StorageFormat::F16).logits(tokens, 3, half);
  LowPrecisionBackend(net, StorageFormat::BF16).logits(tokens, 3, brain);
  EXPECT_EQ(exact[0], 1);
  EXPECT_EQ(half[0], exact[0]);
  EXPECT_EQ(half[1], exact[1]);
  EXPECT_EQ(decision(exact, 2), 0);
  EXPECT_EQ(decision(brain, 2), -1); // 256 - 256 both ways: a tie

  // Deeper layers live on finer grids: a weight of 1/2 in layer 1 puts its
  // pre-activations on multiples of 2^-2 (the grid exponent adds up).
  std::get<ElmanBody>(net.body).head[0].weight.coeffRef(0, 0) = 0.5f;
  std::get<ElmanBody>(net.body).head.push_back(
      {sparse(Matrix::Constant(1, 1, 0.5f)), Vector::Zero(1)});
  const PrecisionVerdict two = certifyPrecision(net, Precision::F32);
  EXPECT_TRUE(two.exact);
  bool named = false;
  for (const std::string &r : two.reasons)
    named |= r.find("rnn.head.1: pre-activations are multiples of 2^-2") !=
             std::string::npos;
  EXPECT_TRUE(named);
}

using handwire::testing::slurp;
using handwire::testing::tempDir;

TEST(RnnHead, ModelFilesRoundTrip) {
  const Spec spec = randomNetworkTask();
  const std::string dir = tempDir("head-rt");
  for (const Network &net : randomHeadNetworks(3)) {
    SCOPED_TRACE(headShape(net));
    const ModelPaths paths = writeModel(spec.task, net, dir, net.name);
    const nlohmann::json cfg = nlohmann::json::parse(slurp(paths.config));
    EXPECT_EQ(cfg.at("head_layers"), net.elman().head.size());
    const LoadedModel back = readModel(paths.config, int64_t(1) << 30);
    ASSERT_EQ(back.net.elman().head.size(), net.elman().head.size());
    for (size_t k = 0; k < net.elman().head.size(); ++k) {
      EXPECT_TRUE(sameSparse(back.net.elman().head[k].weight,
                             net.elman().head[k].weight));
      EXPECT_EQ(back.net.elman().head[k].bias, net.elman().head[k].bias);
    }
    EXPECT_EQ(back.net.readout.weight, net.readout.weight);
    SplitMix64 rng(9);
    for (int i = 0; i < 50; ++i) {
      const std::vector<int32_t> t = randomTokens(rng, net);
      const int64_t n = static_cast<int64_t>(t.size());
      ASSERT_EQ(referenceLogits<float>(net, t.data(), n),
                referenceLogits<float>(back.net, t.data(), n));
    }
    const ModelPaths again =
        writeModel(back.task, back.net, dir + "/again", net.name);
    EXPECT_EQ(slurp(paths.weights), slurp(again.weights));
    EXPECT_EQ(slurp(paths.config), slurp(again.config));
  }
  // Models without a head say nothing about heads (their files are as before).
  DiagnosticEngine diags;
  auto rnn = buildNetwork(spec, spec.models[1], {}, diags);
  ASSERT_TRUE(rnn);
  const ModelPaths plain = writeModel(spec.task, *rnn, dir, "plain");
  EXPECT_EQ(slurp(plain.config).find("head_layers"), std::string::npos);
  EXPECT_EQ(slurp(plain.config).find("rnn.head"), std::string::npos);
  for (const TensorInfo &t : listTensors(*rnn))
    EXPECT_EQ(t.name.find("rnn.head"), std::string::npos) << t.name;
}

// A config that promises a layer the weights lack, or a head that does not
// chain, is refused by name.
TEST(RnnHead, InconsistentModelFilesAreRefusedByName) {
  const Spec spec = randomNetworkTask();
  const std::string dir = tempDir("head-bad");
  const Network net = randomRnnWithHead(4, {17, 9});
  const ModelPaths paths = writeModel(spec.task, net, dir, "m");
  auto refusal = [&](const nlohmann::json &cfg) {
    std::ofstream(paths.config, std::ios::trunc) << cfg.dump(2);
    try {
      readModel(paths.config, int64_t(1) << 30);
    } catch (const UserError &e) {
      return std::string(e.what());
    }
    return std::string("accepted");
  };
  nlohmann::json cfg = nlohmann::json::parse(slurp(paths.config));
  cfg["head_layers"] = 3;
  EXPECT_NE(
      refusal(cfg).find("tensor 'rnn.head.2.weight.row_offsets' is missing"),
      std::string::npos)
      << refusal(cfg);
  cfg["head_layers"] = 1; // layer 1 unread: the read-out is 9 wide, not 17
  EXPECT_NE(refusal(cfg).find("'readout.weight' should have shape [3, 17]"),
            std::string::npos)
      << refusal(cfg);
  cfg["head_layers"] = "two";
  EXPECT_NE(refusal(cfg).find("field 'head_layers' must be an integer"),
            std::string::npos)
      << refusal(cfg);
  cfg["head_layers"] = 2;
  EXPECT_EQ(refusal(cfg), "accepted");

  // A layer that reads past the layer below (CSR stores no column count: a
  // column index must be below the width the previous layer has).
  Network bad = randomRnnWithHead(4, {17, 9});
  std::get<ElmanBody>(bad.body).head[1].weight = sparse(Matrix::Ones(9, 18));
  const ModelPaths badPaths = writeModel(spec.task, bad, dir + "/b", "m");
  try {
    readModel(badPaths.config, int64_t(1) << 30);
    FAIL() << "expected a refusal";
  } catch (const UserError &e) {
    EXPECT_NE(std::string(e.what()).find(
                  "sparse tensor 'rnn.head.1.weight' has a column index out "
                  "of range or out of order in row 0"),
              std::string::npos)
        << e.what();
  }
  // A layer without rows.
  std::get<ElmanBody>(bad.body).head[1].weight = SparseMatrix(0, 17);
  std::get<ElmanBody>(bad.body).head[1].bias = Vector(0);
  const ModelPaths empty = writeModel(spec.task, bad, dir + "/e", "m");
  try {
    readModel(empty.config, int64_t(1) << 30);
    FAIL() << "expected a refusal";
  } catch (const UserError &e) {
    EXPECT_NE(std::string(e.what()).find(
                  "sparse tensor 'rnn.head.1.weight' should have 1 to 2^24 "
                  "rows"),
              std::string::npos)
        << e.what();
  }
}

bool hasProblem(const Network &net, const std::string &what) {
  for (const std::string &p : verifyNetwork(net))
    if (p.find(what) != std::string::npos)
      return true;
  return false;
}

TEST(RnnHead, VerifierRefusesBadShapesAndValues) {
  const Network good = randomRnnWithHead(6, {17, 9});
  ASSERT_EQ(verifyNetwork(good), std::vector<std::string>{});
  auto head = [](Network &n) -> std::vector<HeadLayer> & {
    return std::get<ElmanBody>(n.body).head;
  };
  Network n = good;
  head(n)[0].weight = sparse(Matrix::Ones(17, 29)); // reads 29 of 30 units
  EXPECT_TRUE(
      hasProblem(n, "rnn.head.0.weight has shape (17, 29), expected (17, 30)"));
  n = good;
  head(n)[1].weight = sparse(Matrix::Ones(9, 16));
  EXPECT_TRUE(
      hasProblem(n, "rnn.head.1.weight has shape (9, 16), expected (9, 17)"));
  n = good;
  head(n)[1].bias = Vector::Zero(8);
  EXPECT_TRUE(hasProblem(n, "rnn.head.1.bias has length 8, expected 9"));
  n = good;
  head(n)[0].weight.valuePtr()[7] = NAN;
  EXPECT_TRUE(hasProblem(n, "rnn.head.0.weight has a non-finite entry"));
  n = good;
  head(n)[1].weight.insert(0, 0) = 1; // row 0 was empty: now there is a gap
  EXPECT_TRUE(hasProblem(n, "rnn.head.1.weight is not compressed"));
  n = good;
  head(n)[1].bias[2] = INFINITY;
  EXPECT_TRUE(hasProblem(n, "rnn.head.1.bias has a non-finite entry"));
  n = good;
  n.readout.weight = Matrix::Ones(3, 30); // still reads h_M
  EXPECT_TRUE(
      hasProblem(n, "readout.weight has shape (3, 30), expected (3, 9)"));
  n = good;
  head(n).push_back({SparseMatrix(0, 9), Vector(0)});
  n.readout.weight = Matrix(3, 0);
  EXPECT_TRUE(hasProblem(n, "rnn.head.2.weight has no rows"));
}

// `count` distinct columns below `cols`, in random order.
std::vector<int32_t> distinctColumns(SplitMix64 &rng, int64_t count,
                                     int64_t cols) {
  std::vector<int32_t> c;
  while (static_cast<int64_t>(c.size()) < count) {
    const auto j = static_cast<int32_t>(rng.below(cols));
    if (std::find(c.begin(), c.end(), j) == c.end())
      c.push_back(j);
  }
  return c;
}

// A random CSR layer with `perRow` non-zeros in every row, of size in
// [0.5, 1] * scale and random sign.
SparseMatrix sparseLayer(SplitMix64 &rng, int64_t rows, int64_t cols,
                         int64_t perRow, float scale) {
  std::vector<Eigen::Triplet<float, int32_t>> t;
  for (int64_t r = 0; r < rows; ++r)
    for (int32_t c : distinctColumns(rng, perRow, cols)) {
      const float size = 0.5f + 0.5f * float(rng.below(1 << 20)) / (1 << 20);
      t.emplace_back(int32_t(r), c, (rng.below(2) ? scale : -scale) * size);
    }
  SparseMatrix m(rows, cols);
  m.setFromTriplets(t.begin(), t.end());
  return m;
}

// The shape of head the nearest-neighbour RNN needs, which dense storage
// could not hold: H = 5,000 units, a 20,000 x 5,000 layer with 3 non-zeros
// per row (dense: 400 MB of floats), then 16 x 20,000 with 100 per row.
Network wideSparseHeadRnn(uint64_t seed) {
  constexpr int64_t H = 5000, W0 = 20000, W1 = 16;
  SplitMix64 rng(seed);
  Network net;
  net.name = "wide";
  net.arch = Architecture::RNN;
  net.tokenCount = 5;
  net.classCount = 3;
  net.maxSequenceLength = 20;
  net.width = H;
  net.blocks = {{"h", 0, H, ""}};
  ElmanBody e;
  e.recurrent = sparseLayer(rng, H, H, 2, 0.4f);
  std::vector<Eigen::Triplet<float, int32_t>> u; // each unit hears one token
  for (int64_t r = 0; r < H; ++r)
    u.emplace_back(int32_t(r), int32_t(rng.below(5)), 1.0f);
  e.input.resize(H, 5);
  e.input.setFromTriplets(u.begin(), u.end());
  e.bias = randomMatrix(rng, H, 1, 0.2f);
  e.initial = Vector::Zero(H);
  e.head.push_back(
      {sparseLayer(rng, W0, H, 3, 0.6f), randomMatrix(rng, W0, 1, 0.3f)});
  e.head.push_back(
      {sparseLayer(rng, W1, W0, 100, 0.1f), randomMatrix(rng, W1, 1, 0.3f)});
  net.body = e;
  net.readout.weight = randomMatrix(rng, 3, W1, 1);
  net.readout.bias = Vector::Zero(3);
  claimNothing(net);
  return net;
}

TEST(RnnHead, AWideSparseHeadStaysSparseInEveryConsumer) {
  const Network net = wideSparseHeadRnn(17);
  ASSERT_EQ(verifyNetwork(net), std::vector<std::string>{});
  const ElmanBody &e = net.elman();
  ASSERT_EQ(e.head[0].weight.nonZeros(), 20000 * 3);
  ASSERT_EQ(e.head[1].weight.nonZeros(), 16 * 100);

  // Parameters are the stored non-zeros (and biases), not rows x columns.
  const int64_t body = e.recurrent.nonZeros() + e.input.nonZeros() + 2 * 5000;
  const int64_t head = (20000 * 3 + 20000) + (16 * 100 + 16);
  EXPECT_EQ(parameterCount(net), body + head + 3 * 16 + 3);
  EXPECT_LT(parameterCount(net), 20000 * 5000 / 500);
  EXPECT_EQ(planForward(net).scratchFloats(20), 2 * 5000 + 2 * 20000);

  // The JIT and the float reference against the double reference; the
  // logits must vary with the input, or the head would be checked little.
  JitBackend jit(net);
  SplitMix64 rng(17);
  double got[3];
  double lo = INFINITY, hi = -INFINITY;
  for (int64_t trial = 0; trial < handwire::testing::samples(40); ++trial) {
    const std::vector<int32_t> t = randomTokens(rng, net);
    const int64_t n = static_cast<int64_t>(t.size());
    const Eigen::VectorXd want = referenceLogits<double>(net, t.data(), n);
    const Eigen::VectorXf f = referenceLogits<float>(net, t.data(), n);
    jit.logits(t.data(), n, got);
    for (int c = 0; c < 3; ++c) {
      const double tol = 1e-4 * (1 + std::fabs(want[c]));
      ASSERT_NEAR(f[c], want[c], tol) << "float reference, length " << n;
      ASSERT_NEAR(got[c], want[c], tol) << "JIT, length " << n;
    }
    lo = std::min(lo, want[0]);
    hi = std::max(hi, want[0]);
  }
  EXPECT_GT(hi - lo, 1e-2);

  // Model files: CSR in, CSR out, the same logits, O(non-zeros) bytes.
  const Spec spec = randomNetworkTask();
  const std::string dir = tempDir("head-wide");
  const ModelPaths paths = writeModel(spec.task, net, dir, net.name);
  EXPECT_LT(fs::file_size(paths.weights), uintmax_t(4) << 20);
  const LoadedModel back = readModel(paths.config, int64_t(1) << 30);
  ASSERT_EQ(back.net.elman().head.size(), 2u);
  for (size_t k = 0; k < 2; ++k) {
    EXPECT_TRUE(sameSparse(back.net.elman().head[k].weight, e.head[k].weight));
    EXPECT_EQ(back.net.elman().head[k].bias, e.head[k].bias);
  }
  EXPECT_EQ(parameterCount(back.net), parameterCount(net));
  for (int i = 0; i < 3; ++i) {
    const std::vector<int32_t> t = randomTokens(rng, net);
    const int64_t n = static_cast<int64_t>(t.size());
    EXPECT_EQ(referenceLogits<float>(net, t.data(), n),
              referenceLogits<float>(back.net, t.data(), n));
  }

  // ONNX: padded sparse rows (3 wide), no dense initializer.
  EXPECT_LT(onnxWeightBytes(net), int64_t(4) << 20);
  const OnnxSummary s = checkOnnxBytes(
      onnxModelBytes(spec.task, net, int64_t(1) << 30), net.name);
  EXPECT_EQ(s.ops.at("GatherElements"), 3);
  EXPECT_EQ(s.ops.at("MatMul"), 1);
  EXPECT_LT(s.initializerBytes, onnxWeightBytes(net) + 64);

  // Nothing above held the dense layer (400 MB of floats) at any point.
  if (!handwire::testing::kSanitized) {
    struct rusage usage;
    ASSERT_EQ(getrusage(RUSAGE_SELF, &usage), 0);
    EXPECT_LT(usage.ru_maxrss, 300L << 10) << "peak KiB";
  }
}

TEST(RnnHead, OnnxGraphAppliesTheHeadAfterTheScan) {
  const Spec spec = randomNetworkTask();
  for (const Network &net : randomHeadNetworks(7)) {
    SCOPED_TRACE(headShape(net));
    const int64_t layers = static_cast<int64_t>(net.elman().head.size());
    const OnnxSummary s = checkOnnxBytes(
        onnxModelBytes(spec.task, net, int64_t(1) << 30), net.name);
    EXPECT_EQ(s.ops.at("Scan"), 1);
    EXPECT_EQ(s.ops.at("Relu"), 1 + layers); // the step's, then each layer's
    // Each layer is a sparse product like the recurrence's; only the
    // read-out is a MatMul.
    EXPECT_EQ(s.ops.at("GatherElements"), 1 + layers);
    EXPECT_EQ(s.ops.at("MatMul"), 1);
    EXPECT_GE(s.initializerBytes, onnxWeightBytes(net));
    EXPECT_LT(s.initializerBytes, onnxWeightBytes(net) + 64);
  }
}

using handwire::testing::haveOnnxRuntime;
using handwire::testing::runCommand;

// Exports the random head networks and writes the double reference's
// decisions on `inputs` inputs each, in the format of
// `eval --write-decisions`. ONNX Runtime gets 200; PyTorch, which steps
// through the tokens in Python (~250 inputs a second), 100.
struct Exported {
  std::string dir, decisions;
  std::vector<std::string> configs, onnx, names;
};

Exported exportForReplay(const std::string &name, int inputs) {
  const Spec spec = randomNetworkTask();
  Exported x;
  x.dir = tempDir(name);
  x.decisions = x.dir + "/decisions.txt";
  std::ofstream d(x.decisions);
  d << "# MODEL DECISION EXPECTED TOKEN... (double reference)\n";
  for (const Network &net : randomHeadNetworks(31)) {
    x.configs.push_back(writeModel(spec.task, net, x.dir, net.name).config);
    x.onnx.push_back(
        writeOnnx(spec.task, net, x.dir, net.name, int64_t(1) << 30)[0]);
    x.names.push_back(net.name);
    SplitMix64 rng(31);
    std::vector<int> counts(4, 0); // ties, then classes 0 .. 2
    for (int i = 0; i < inputs; ++i) {
      const std::vector<int32_t> t = randomTokens(rng, net);
      const Eigen::VectorXd l = referenceLogits<double>(
          net, t.data(), static_cast<int64_t>(t.size()));
      const int64_t dec = decision(l.data(), l.size());
      ++counts[static_cast<size_t>(dec + 1)];
      d << net.name << " " << dec << " " << dec;
      for (int32_t tok : t)
        d << " " << tok;
      d << "\n";
    }
    // Decisions that vary with the input, or replaying them checks little.
    EXPECT_LT(*std::max_element(counts.begin(), counts.end()), inputs * 4 / 5)
        << net.name;
  }
  return x;
}

TEST(RnnHead, OnnxRuntimeMakesTheReferenceDecisions) {
  const std::string src = HANDWIRE_SOURCE_DIR;
  std::string out;
  if (!haveOnnxRuntime())
    GTEST_SKIP() << "node or onnxruntime-node is missing (scripts/setup.sh)";
  const Exported x = exportForReplay("ort", 200);
  for (size_t i = 0; i < x.onnx.size(); ++i) {
    const int rc =
        runCommand("node '" + src + "/tests/onnx/replay.js' '" + x.onnx[i] +
                       "' '" + x.decisions + "' " + x.names[i],
                   out);
    EXPECT_EQ(rc, 0) << out;
    EXPECT_NE(out.find("200 inputs, 200 same decisions"), std::string::npos)
        << out;
  }
}

TEST(RnnHead, TorchMakesTheReferenceDecisions) {
  const std::string src = HANDWIRE_SOURCE_DIR;
  std::string out;
  if (runCommand("/usr/bin/python3 -c 'import torch'", out) != 0)
    GTEST_SKIP() << "python3-torch is missing (scripts/setup.sh)";
  const Exported x = exportForReplay("torch", 100);
  std::string cmd = "/usr/bin/python3 '" + src +
                    "/tests/export/torch_forward.py' '" + x.decisions + "'";
  for (const std::string &c : x.configs)
    cmd += " '" + c + "'";
  const int rc = runCommand(cmd, out);
  EXPECT_EQ(rc, 0) << out;
  for (const std::string &name : x.names)
    EXPECT_NE(out.find(name + ": 100 inputs, 100 same decisions"),
              std::string::npos)
        << out;
}

} // namespace
} // namespace handwire
