// String equality and disjointness with a two-layer, one-head-per-layer
// Transformer of width 2k + 7, k = O(log N). B24 (upper bound: two layers,
// O(log N) size); paper-constructions.md §6.3.
//
// Task. Input x_1 .. x_n y_1 .. y_n <out> (n = N, bits); equality: 1 iff x = y;
// disjointness: 1 iff no i has x_i = y_i = 1. Both are "no position i has
// f(x_i, y_i) = 1" with f = XOR (equality) or AND (disjointness).
//
// Notation. T(1) .. T(n) a sign code in R^k, max inner product mu, gap
// g = 1 - max(mu, 0); M = 2n + 1; delta = 1/5 the leakage the thresholds allow.
// Residual stream, D = 2k + 7:
//   b            the token's bit           isX, isY, isOut   position flags
//   K (k)        T(i) at x_i               Q (k)             T(i) at y_i
//   r            retrieved partner bit     z                 f(x_i, y_i) at y_i
//   A            layer-2 average
//
// Layer 1 (partner lookup). query = eta Q, key = K, value = b, output -> r.
//   At y_i the key of x_i scores eta; other x_j score <= eta mu; y's and <out>
//   have key 0 and score 0. So with eta from SoftmaxScale (gap g, 2n
//   competitors, leakage delta), |r - x_i| <= delta (values are bits).
// MLP 1 (predicate, gated to y positions: every pre-activation gets
//   + 4 isY - 4, so it is <= -2 elsewhere and the units stay 0).
//   equality:    z = clip(2(r-b) - 1/2) + clip(2(b-r) - 1/2), with
//                clip(v) = ReLU(v) - ReLU(v - 1): 1 iff |r - b| >= 3/4, 0 iff
//                <= 1/4;
//   disjointness: z = clip(2(r+b-1) - 1/2): 1 iff r + b - 1 >= 3/4, 0 iff <=
//   1/4. Since |r - x_i| <= delta < 1/4, z = f(x_i, y_i) exactly (0 or 1).
// Layer 2 (count). query = 0: uniform attention over all M positions; value
//   z, output -> A. At <out>, A = c / M with c = #{i : f(x_i, y_i) = 1}.
// MLP 2 / read-out. u = ReLU(2M A - 1/2) is 0 iff c = 0 and >= 1 iff c >= 1
//   (2M A = 2c); it is written into z (0 at <out>); logit(class 0) = u,
//   logit(class 1) = 1/2: margin 1/2. No clip here: clip(v) subtracts two
//   ReLUs of size ~2c, which 16-bit storage rounds to the same value once 2c
//   outgrows the significand (bf16: c >= 128), reading "different" as
//   "equal"; u alone only grows, and rounding keeps it >= 1.
// QED. The only precision-sensitive step is A = c/M (resolving 1/M):
// exact enough in fp32 for M < 2^20 (codes-and-bounds.md §4.4).
#include "constructions/Construction.h"

#include "codes/NearOrthogonalCode.h"
#include "constructions/SoftmaxScale.h"
#include "spec/Vocabulary.h"

#include <cmath>

namespace handwire {
namespace {

class PairPredicateTransformer2L final : public Construction {
public:
  explicit PairPredicateTransformer2L(TaskKind task) : task_(task) {}
  const char *id() const override {
    return task_ == TaskKind::StringEquality
               ? "string_equality/transformer-2layer"
               : "disjointness/transformer-2layer";
  }
  TaskKind task() const override { return task_; }
  Architecture arch() const override { return Architecture::Transformer; }
  std::string requirement() const override {
    return "transformer with layers = 2";
  }
  bool accepts(const ModelSpec &m) const override { return m.layers == 2; }

  // The partner lookup selects one key: only the one-sided gap matters.
  static CodeRequest codeRequest(int64_t n, const ModelSpec &m) {
    return positionCodeRequest(m, n, Sidedness::OneSided);
  }

  double estimateBytes(const Spec &spec, const ModelSpec &m) const override {
    return bytesFor(spec,
                    plannedCodeWidth(codeRequest(spec.task.maxLength, m)));
  }
  double minimumBytes(const Spec &spec, const ModelSpec &) const override {
    return bytesFor(spec, minimumCodeWidth(spec.task.maxLength));
  }
  static double bytesFor(const Spec &spec, int64_t codeWidth) {
    const double n = static_cast<double>(spec.task.maxLength),
                 k = static_cast<double>(codeWidth);
    const double D = 2 * k + 7, M = 2 * n + 1;
    return 4 * (M + 3) * D + 4 * 4 * k * D + n * std::ceil(k / 64) * 8;
  }

  Network build(
      const Spec &spec, const ModelSpec &m,
      const std::function<void(const std::string &)> &progress) const override {
    const Vocabulary voc = vocabularyOf(spec.task);
    const int64_t n = spec.task.maxLength, M = 2 * n + 1;
    const bool equality = task_ == TaskKind::StringEquality;
    Code code = makeCode(codeRequest(n, m), progress);
    const int64_t k = code.certificate.dim;
    // Residual layout.
    const int64_t B = 0, IS_X = 1, IS_Y = 2, IS_OUT = 3, K = 4, Q = 4 + k,
                  R = 4 + 2 * k, Z = R + 1, A = R + 2, D = R + 3;

    Network net = networkSkeleton(spec, m, Architecture::Transformer, D);
    net.blocks = {{"b", B, 1, "the token's bit"},
                  {"isX", IS_X, 1, "1 at x_1 .. x_n"},
                  {"isY", IS_Y, 1, "1 at y_1 .. y_n"},
                  {"isOut", IS_OUT, 1, "1 at <out>"},
                  {"K", K, k, "key code T(i) at x_i"},
                  {"Q", Q, k, "query code T(i) at y_i"},
                  {"r", R, 1, "layer 1: the partner bit x_i, retrieved at y_i"},
                  {"z", Z, 1, "MLP 1: f(x_i, y_i) at y_i, else 0"},
                  {"A", A, 1, "layer 2: the average of z, c / M"}};

    const double gap = 1.0 - std::max(0.0, code.certificate.maxInnerProduct);
    const int64_t competitors =
        2 * n; // at y_n: the other 2n - 1 keys and itself
    const double leakage = 0.2;
    const double eta =
        m.scale ? *m.scale : requiredSoftmaxScale(gap, competitors, leakage);

    TransformerBody body;
    body.embed.token = Matrix::Zero(voc.tokenCount, D);
    body.embed.token(1, B) = 1; // token "1"
    body.embed.position = Matrix::Zero(voc.maxSequenceLength, D);
    for (int64_t i = 1; i <= n; ++i) {
      body.embed.position(i - 1, IS_X) = 1;
      code.vectors.writeRow(i - 1, 1.0f, &body.embed.position(i - 1, K));
      body.embed.position(n + i - 1, IS_Y) = 1;
      code.vectors.writeRow(i - 1, 1.0f, &body.embed.position(n + i - 1, Q));
    }
    body.embed.position(2 * n, IS_OUT) = 1;

    // Layer 1: partner lookup, then the gated predicate.
    AttentionHead lookup;
    lookup.query = Matrix::Zero(k, D);
    lookup.query.dense()
        .block(0, Q, k, k)
        .diagonal()
        .setConstant(static_cast<float>(eta));
    lookup.key = Matrix::Zero(k, D);
    lookup.key.dense().block(0, K, k, k).diagonal().setOnes();
    lookup.value = Matrix::Zero(1, D);
    lookup.value(0, B) = 1;
    lookup.output = Matrix::Zero(D, 1);
    lookup.output(R, 0) = 1;

    // clip(v) = ReLU(v) - ReLU(v - 1) for each linear form v over (r, b);
    // each unit also gets + 4 isY - 4.
    MLP predicate;
    std::vector<std::pair<float, float>>
        forms; // v = cr * r + cb * b + c0, c0 = -1/2 + 4isY - 4
    if (equality)
      forms = {{2, -2}, {-2, 2}};
    else
      forms = {{2, 2}}; // 2(r + b - 1) - 1/2 = 2r + 2b - 5/2: constant below
    const int64_t units = 2 * static_cast<int64_t>(forms.size());
    predicate.in = Matrix::Zero(units, D);
    predicate.inBias = Vector::Zero(units);
    predicate.out = Matrix::Zero(D, units);
    predicate.outBias = Vector::Zero(D);
    for (size_t f = 0; f < forms.size(); ++f) {
      const float constant = (equality ? -0.5f : -2.5f) - 4.0f;
      for (int step = 0; step < 2; ++step) {
        const int64_t u = 2 * static_cast<int64_t>(f) + step;
        predicate.in(u, R) = forms[f].first;
        predicate.in(u, B) = forms[f].second;
        predicate.in(u, IS_Y) = 4;
        predicate.inBias(u) = constant - static_cast<float>(step);
        predicate.out(Z, u) = step == 0 ? 1.0f : -1.0f;
      }
    }
    body.layers.push_back({{std::move(lookup)}, std::move(predicate)});

    // Layer 2: uniform average of z into A; then u = ReLU(2M A - 1/2) is
    // added to z, which is 0 at <out> (MLP 1 is gated to y positions).
    AttentionHead count;
    count.query = Matrix::Zero(1, D);
    count.key = Matrix::Zero(1, D);
    count.value = Matrix::Zero(1, D);
    count.value(0, Z) = 1;
    count.output = Matrix::Zero(D, 1);
    count.output(A, 0) = 1;
    MLP threshold;
    threshold.in = Matrix::Zero(1, D);
    threshold.in(0, A) = static_cast<float>(2 * M);
    threshold.inBias = Vector::Constant(1, -0.5f);
    threshold.out = Matrix::Zero(D, 1);
    threshold.out(Z, 0) = 1; // u accumulates into z, which is 0 at <out>
    threshold.outBias = Vector::Zero(D);
    body.layers.push_back({{std::move(count)}, std::move(threshold)});
    net.body = std::move(body);

    net.readout.weight = Matrix::Zero(2, D);
    net.readout.weight(0, Z) = 1; // "different" / "intersect": u
    net.readout.bias = Vector::Zero(2);
    net.readout.bias(1) = 0.5f; // "equal" / "disjoint": 1/2

    net.provenance = {
        id(), "B24: two layers, O(log N) width suffice (upper bound)",
        "compiler/constructions/PairPredicateTransformer2L.cpp",
        "layer 1 fetches each y_i's partner x_i by its position code; an "
        "MLP marks the violating positions; layer 2 counts them"};
    Certificate &cert = net.certificate;
    cert.code = code.certificate;
    cert.heads.push_back(certifySelectionHead("layers.0.heads.0", gap,
                                              competitors, leakage, eta));
    cert.readoutMargin = 0.5;
    // A = c / M read as ReLU(2 M A - 1/2): relative error 1/4 still gives
    // 2c (3/4) - 1/2 >= 1 for c >= 1, so 3 significand bits at 1 / M.
    cert.smallestAverage = 1.0 / static_cast<double>(M);
    cert.averageBits = 3;
    // The "different" logit reaches 2c - 1/2 <= 2M: a few fp32 ulps of it on
    // top of the average's error.
    cert.logitTolerance = std::max(1e-3, attentionAverageTolerance(M) +
                                             8.0 * 2 * static_cast<double>(M) *
                                                 std::ldexp(1.0, -24));
    cert.argument =
        "partner lookup within leakage 1/5 < 1/4, so the MLP's clipped "
        "thresholds give exact 0/1 flags; the uniform count c is 0 iff no "
        "flag, and ReLU(2c - 1/2) only grows with c";
    checkHeadCertificates(cert);
    return net;
  }

private:
  TaskKind task_;
};

} // namespace

const Construction &stringEqualityTransformerConstruction() {
  static const PairPredicateTransformer2L c(TaskKind::StringEquality);
  return c;
}
const Construction &disjointnessTransformerConstruction() {
  static const PairPredicateTransformer2L c(TaskKind::Disjointness);
  return c;
}

} // namespace handwire
