// String equality and disjointness with a two-layer, one-head-per-layer
// Transformer of width 2k + 7, k = O(log N). Bhattamishra et al. (2024): two
// layers of width O(log n) suffice (upper bound); paper-constructions.md §6.3.
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

// The residual layout for code width k (the notation block above).
struct Layout {
  int64_t k;
  bool equality;
  int64_t B = 0, IS_X = 1, IS_Y = 2, IS_OUT = 3, K = 4;
  int64_t Q() const { return 4 + k; }
  int64_t R() const { return 4 + 2 * k; }
  int64_t Z() const { return R() + 1; }
  int64_t A() const { return R() + 2; }
  int64_t width() const { return R() + 3; } // 2k + 7
  // MLP 1's clipped forms v = cr r + cb b + c0, two units each: both signs
  // of r - b for equality, r + b for disjointness.
  std::vector<std::pair<float, float>> forms() const {
    if (equality)
      return {{2, -2}, {-2, 2}};
    return {{2, 2}}; // 2(r + b - 1) - 1/2 = 2r + 2b - 5/2: constant below
  }
  // Layer 1: the lookup (query and key k rows, value 1) and MLP 1; layer 2:
  // the uniform count (1 row each) and MLP 2 (one unit).
  DenseTransformerShape shape() const {
    const int64_t units = 2 * static_cast<int64_t>(forms().size());
    const DenseLayerShape lookup{{DenseHeadShape{k, 1}}, units},
        count{{DenseHeadShape{1, 1}}, 1};
    return {width(), {lookup, count}};
  }
};

// Token "1" -> 1 in b; x_i -> isX and T(i) in K; y_i -> isY and T(i) in Q;
// <out> -> isOut.
void embed(const Layout &g, const SignCode &code, int64_t n, Embedding &e) {
  e.token(1, g.B) = 1; // token "1"
  for (int64_t i = 1; i <= n; ++i) {
    e.position(i - 1, g.IS_X) = 1;
    code.writeRow(i - 1, 1.0f, &e.position(i - 1, g.K));
    e.position(n + i - 1, g.IS_Y) = 1;
    code.writeRow(i - 1, 1.0f, &e.position(n + i - 1, g.Q()));
  }
  e.position(2 * n, g.IS_OUT) = 1;
}

// Layer 1: partner lookup (query eta Q, key K, value b, output into r), then
// the predicate: clip(v) = ReLU(v) - ReLU(v - 1) for each linear form v over
// (r, b), every unit gated by + 4 isY - 4.
void lookupLayer(const Layout &g, double eta, TransformerLayer &layer) {
  const int64_t k = g.k;
  AttentionHead &lookup = layer.heads[0];
  lookup.query.dense()
      .block(0, g.Q(), k, k)
      .diagonal()
      .setConstant(static_cast<float>(eta));
  lookup.key.dense().block(0, g.K, k, k).diagonal().setOnes();
  lookup.value(0, g.B) = 1;
  lookup.output(g.R(), 0) = 1;

  MLP &predicate = *layer.mlp;
  const std::vector<std::pair<float, float>> forms = g.forms();
  for (size_t f = 0; f < forms.size(); ++f) {
    const float constant = (g.equality ? -0.5f : -2.5f) - 4.0f; // c0, gate
    for (int step = 0; step < 2; ++step) {
      const int64_t u = 2 * static_cast<int64_t>(f) + step;
      predicate.in(u, g.R()) = forms[f].first;
      predicate.in(u, g.B) = forms[f].second;
      predicate.in(u, g.IS_Y) = 4;
      predicate.inBias(u) = constant - static_cast<float>(step);
      predicate.out(g.Z(), u) = step == 0 ? 1.0f : -1.0f;
    }
  }
}

// Layer 2: uniform average of z into A; then u = ReLU(2M A - 1/2) is added
// to z, which is 0 at <out> (MLP 1 is gated to y positions).
void countLayer(const Layout &g, int64_t M, TransformerLayer &layer) {
  AttentionHead &count = layer.heads[0]; // query 0: uniform
  count.value(0, g.Z()) = 1;
  count.output(g.A(), 0) = 1;
  MLP &threshold = *layer.mlp;
  threshold.in(0, g.A()) = static_cast<float>(2 * M);
  threshold.inBias(0) = -0.5f;
  threshold.out(g.Z(), 0) = 1; // u accumulates into z, which is 0 at <out>
}

class PairPredicateTransformer2L final
    : public TransformerOfDepth<2, CodedDenseTransformer> {
public:
  explicit PairPredicateTransformer2L(TaskKind task) : task_(task) {}
  const char *id() const override {
    return task_ == TaskKind::StringEquality
               ? "string_equality/transformer-2layer"
               : "disjointness/transformer-2layer";
  }
  TaskKind task() const override { return task_; }

  Layout layout(int64_t codeWidth) const {
    return {codeWidth, task_ == TaskKind::StringEquality};
  }
  DenseTransformerShape shape(const Spec &, int64_t codeWidth) const override {
    return layout(codeWidth).shape();
  }
  // The partner lookup selects one key: only the one-sided gap matters.
  CodeRequest codeRequest(const Spec &spec, const ModelSpec &m) const override {
    return positionCodeRequest(m, spec.task.maxLength, Sidedness::OneSided);
  }

  Network build(
      const Spec &spec, const ModelSpec &m,
      const std::function<void(const std::string &)> &progress) const override {
    const int64_t n = spec.task.maxLength, M = 2 * n + 1;
    Code code = makeCode(codeRequest(spec, m), progress);
    const Layout g = layout(code.certificate.dim);
    const int64_t k = g.k;

    Network net = denseTransformerSkeleton(spec, m, g.shape());
    net.blocks = {
        {"b", g.B, 1, "the token's bit"},
        {"isX", g.IS_X, 1, "1 at x_1 .. x_n"},
        {"isY", g.IS_Y, 1, "1 at y_1 .. y_n"},
        {"isOut", g.IS_OUT, 1, "1 at <out>"},
        {"K", g.K, k, "key code T(i) at x_i"},
        {"Q", g.Q(), k, "query code T(i) at y_i"},
        {"r", g.R(), 1, "layer 1: the partner bit x_i, retrieved at y_i"},
        {"z", g.Z(), 1, "MLP 1: f(x_i, y_i) at y_i, else 0"},
        {"A", g.A(), 1, "layer 2: the average of z, c / M"}};

    const double gap = 1.0 - std::max(0.0, code.certificate.maxInnerProduct);
    const int64_t competitors =
        2 * n; // at y_n: the other 2n - 1 keys and itself
    SelectionHead lookup;
    lookup.head = "layers.0.heads.0";
    lookup.gap = gap;
    lookup.competitors = competitors;
    lookup.leakage = 0.2;
    lookup.dotLength = k;
    lookup.residualWidth = g.width();
    const HeadCertificate head = certifySelectionHead(lookup, m);
    const double eta = head.scale;

    TransformerBody &body = std::get<TransformerBody>(net.body);
    embed(g, code.vectors, n, body.embed);
    lookupLayer(g, eta, body.layers[0]);
    countLayer(g, M, body.layers[1]);

    net.readout.weight(0, g.Z()) = 1; // "different" / "intersect": u
    net.readout.bias(1) = 0.5f;       // "equal" / "disjoint": 1/2

    net.provenance = {
        id(),
        "two-layer Transformer for string equality and disjointness, width "
        "O(log n) (Bhattamishra et al. 2024; upper bound)",
        "compiler/constructions/PairPredicateTransformer2L.cpp",
        "layer 1 fetches each y_i's partner x_i by its position code; an "
        "MLP marks the violating positions; layer 2 counts them"};
    Certificate &cert = net.certificate;
    cert.code = code.certificate;
    cert.heads.push_back(head);
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
    checkHeadCertificates(cert, net.precision);
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
