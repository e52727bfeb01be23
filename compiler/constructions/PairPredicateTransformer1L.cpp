// String equality and disjointness with a ONE-layer, one-head Transformer of
// linear width: value width n + 1, so its cut H (d_v + 1) p is of the order of
// the one-layer lower bound of Bhattamishra et al. (2024) (n + 1 bits). This is
// the achievable side of that bound; the two-layer construction needs only
// O(log N).
//
// Task. x_1 .. x_n y_1 .. y_n <out> (M = 2n + 1 tokens); class 1 iff no i has
// f(x_i, y_i) = 1, f = XOR (equality) or AND (disjointness).
//
// Idea. With one layer, <out> sees each position only through its softmax
// weight and value. Let the weight carry the bit and the value carry the
// position: score(j) = beta b_j, so a_j = e^{beta b_j} / Z with
// Z = sum_j e^{beta b_j} in [M, M e^beta]; value(j) has coordinate i equal to
// s_j = +1 at x_i, -1 (equality) or +1 (disjointness) at y_i, 0 elsewhere, and
// a last coordinate w_j = e^{-beta b_j} (affine in the bit, so linear in x_j).
// Then at <out>:
//   o_i = (e^{beta x_i} -+ e^{beta y_i}) / Z,    o_w = sum_j a_j w_j = M / Z.
//   equality:     o_i = 0 iff x_i = y_i, else |o_i| >= (e^beta - 1) / Z.
//   disjointness: o_i - tau o_w with tau = (1 + 3 e^beta) / (2M) equals
//                 (e^{beta x} + e^{beta y} - (1 + 3 e^beta)/2) / Z, which is
//                 >= (e^beta - 1) / (2Z) iff x_i = y_i = 1 and <= -(e^beta -
//                 1)/(2Z) otherwise.
// MLP: with kappa = (the margin above at Z = Z_max)^-1, the clipped units
// clip(kappa v) = ReLU(kappa v) - ReLU(kappa v - 1) are exactly f(x_i, y_i);
// their sum c goes into a count coordinate. Read-out: logit(class 0) = c - 1/2,
// logit(class 1) = 0: margin 1/2. QED (in exact arithmetic; in floating point
// equal scores give bit-identical weights, and the margins are >= 1/(3M) of
// quantities of size 1/M, far above fp32 rounding).
//
// Tolerance between two fp32 passes. Each unit is exact 0 or 1 only as a
// pair: a violation's two units output a and a - 1 with a in [1, 3], and a
// sum that adds them one at a time rounds S + a (S ~ k - 1 before the k-th
// violation) by up to u (k + 2), u = 2^-24, and S + a - (a - 1) by up to u k.
// Over c <= n violations a pass's count is off by at most u (c^2 + 3c), so
// two passes (JIT, reference) that differ in the last bits of o differ by at
// most 2 u (n^2 + 3n), plus the read-out's rounding, 2 u n. That bound is
// ~512 at n = 65536; what is observed there is ~1e-3 (the roundings do not
// all go one way). Decisions are unaffected: c >= 1 violations give a count
// >= c (1 - u (c + 3)) > 1/2.
#include "constructions/Construction.h"

#include "spec/Vocabulary.h"

#include <cmath>
#include <vector>

namespace handwire {
namespace {

const double kBeta = std::log(3.0); // scores beta b_j
constexpr double kExpBeta = 3.0;    // e^beta

// The residual layout (see Idea): one coordinate per i in G and in O.
struct Layout {
  int64_t n;
  bool equality;
  int64_t BIT = 0, ONE = 1, IS_OUT = 2, G = 3;
  int64_t O() const { return 3 + n; }
  int64_t W() const { return 3 + 2 * n; }
  int64_t CNT() const { return 4 + 2 * n; }
  int64_t width() const { return 5 + 2 * n; }
  int64_t tokens() const { return 2 * n + 1; } // M
  // MLP units per i: a clip (two units) per sign of o_i (equality) or one.
  int64_t unitsPerI() const { return equality ? 4 : 2; }
  int64_t units() const { return unitsPerI() * n; }
  // The largest softmax normalizer Z (every bit 1 but <out>'s).
  double zMax() const {
    return static_cast<double>(tokens() - 1) * kExpBeta + 1;
  }
};

// Every matrix is stored sparse: dense, the position table alone would be
// M x D ~ 2 n^2 floats (32 GiB at n = 65536); sparse, O(n) entries. The
// non-zeros below are the entries build() writes, none of them 0.
ConstructionSize sparseSize(const Spec &spec, const Layout &g) {
  const Vocabulary voc = vocabularyOf(spec.task);
  const double n = static_cast<double>(g.n), D = static_cast<double>(g.width()),
               M = static_cast<double>(g.tokens()),
               units = static_cast<double>(g.units());
  WeightSize w;
  w.addCompressed(static_cast<double>(voc.tokenCount), 1); // bit
  w.addCompressed(static_cast<double>(voc.maxSequenceLength),
                  M + 2 * n + 1); // one; G at x_i and y_i; isOut
  w.addCompressed(1, 1);          // query: isOut
  w.addCompressed(1, 1);          // key: bit
  w.addCompressed(n + 1, n + 2);  // value: G; w_j from one and bit
  w.addCompressed(D, n + 1);      // output: O and w
  // MLP in: o_i per unit (equality: 4n units), o_i and w (disjointness: 2n).
  w.addCompressed(units, 4 * n);
  w.addVector(units);
  w.addCompressed(D, units); // out: count
  w.addVector(D);
  w.addDense(static_cast<double>(voc.classCount), D);
  w.addVector(static_cast<double>(voc.classCount));
  return {D, w.parameters, w.bytes};
}

using Entries = std::vector<Eigen::Triplet<float, int32_t>>;
WeightMatrix sparse(int64_t rows, int64_t cols, const Entries &e) {
  SparseMatrix m(rows, cols);
  m.setFromTriplets(e.begin(), e.end());
  return WeightMatrix(std::move(m));
}
Eigen::Triplet<float, int32_t> at(int64_t r, int64_t c, double v) {
  return Eigen::Triplet<float, int32_t>(
      static_cast<int32_t>(r), static_cast<int32_t>(c), static_cast<float>(v));
}

// Token "1" -> bit; position j -> one, s_j in G (x_i and y_i: coordinate i),
// and isOut at <out>.
Embedding embedding(const Layout &g, const Vocabulary &voc) {
  const int64_t n = g.n, D = g.width();
  Embedding e;
  e.token = sparse(voc.tokenCount, D, {at(1, g.BIT, 1)});
  Entries position;
  for (int64_t j = 0; j < g.tokens(); ++j)
    position.push_back(at(j, g.ONE, 1));
  for (int64_t i = 0; i < n; ++i) {
    position.push_back(at(i, g.G + i, 1));
    position.push_back(at(n + i, g.G + i, g.equality ? -1.0 : 1.0));
  }
  position.push_back(at(2 * n, g.IS_OUT, 1));
  e.position = sparse(voc.maxSequenceLength, D, position);
  return e;
}

// score(j) = beta * b_j at <out>; value(j) = s_j in coordinate i, and
// w_j = e^{-beta b_j} last.
AttentionHead bitWeightedHead(const Layout &g) {
  const int64_t n = g.n, D = g.width();
  AttentionHead head;
  head.query = sparse(1, D, {at(0, g.IS_OUT, kBeta)});
  head.key = sparse(1, D, {at(0, g.BIT, 1)});
  Entries value, output;
  for (int64_t i = 0; i < n; ++i) {
    value.push_back(at(i, g.G + i, 1));
    output.push_back(at(g.O() + i, i, 1));
  }
  value.push_back(at(n, g.ONE, 1)); // w_j = 1 + (e^-beta - 1) b_j
  value.push_back(at(n, g.BIT, 1 / kExpBeta - 1));
  output.push_back(at(g.W(), n, 1));
  head.value = sparse(n + 1, D, value);
  head.output = sparse(D, n + 1, output);
  return head;
}

// Clipped detectors, one (disjointness) or two (equality, both signs) per
// i, counted into CNT.
MLP detectors(const Layout &g) {
  const int64_t n = g.n, D = g.width(), perI = g.unitsPerI();
  const double zMax = g.zMax();
  const double kappa =
      g.equality ? zMax / (kExpBeta - 1) : 2 * zMax / (kExpBeta - 1);
  const double tau = (1 + 3 * kExpBeta) / (2 * static_cast<double>(g.tokens()));
  MLP mlp;
  Entries in, out;
  mlp.inBias = Vector::Zero(g.units());
  mlp.outBias = Vector::Zero(D);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t side = 0; side < perI / 2; ++side)
      for (int step = 0; step < 2; ++step) {
        const int64_t u = perI * i + 2 * side + step;
        const double sign = side == 0 ? 1.0 : -1.0;
        in.push_back(at(u, g.O() + i, sign * kappa));
        if (!g.equality)
          in.push_back(at(u, g.W(), -kappa * tau));
        mlp.inBias(u) = -static_cast<float>(step);
        out.push_back(at(g.CNT(), u, step == 0 ? 1.0 : -1.0));
      }
  mlp.in = sparse(g.units(), D, in);
  mlp.out = sparse(D, g.units(), out);
  return mlp;
}

class PairPredicateTransformer1L final : public TransformerOfDepth<1> {
public:
  explicit PairPredicateTransformer1L(TaskKind task) : task_(task) {}
  const char *id() const override {
    return task_ == TaskKind::StringEquality
               ? "string_equality/transformer-1layer-linear"
               : "disjointness/transformer-1layer-linear";
  }
  TaskKind task() const override { return task_; }
  std::string requirement() const override {
    return "transformer with layers >= 1 (linear width)";
  }

  Layout layout(const Spec &spec) const {
    return {spec.task.maxLength, task_ == TaskKind::StringEquality};
  }
  ConstructionSize size(const Spec &spec, const ModelSpec &) const override {
    return sparseSize(spec, layout(spec));
  }

  Network
  build(const Spec &spec, const ModelSpec &m,
        const std::function<void(const std::string &)> &) const override {
    const Vocabulary voc = vocabularyOf(spec.task);
    const Layout g = layout(spec);
    const int64_t n = g.n, D = g.width();

    Network net = networkSkeleton(spec, m, Architecture::Transformer, D);
    net.blocks = {
        {"bit", g.BIT, 1, "the token's bit"},
        {"one", g.ONE, 1, "constant 1"},
        {"isOut", g.IS_OUT, 1, "1 at <out>"},
        {"G", g.G, n, "position sign s_j in coordinate i (x_i and y_i)"},
        {"O", g.O(), n, "attention output o_i"},
        {"w", g.W(), 1, "attention output o_w = M / Z"},
        {"count", g.CNT(), 1, "MLP: number of i with f(x_i, y_i) = 1"}};

    TransformerBody body;
    body.embed = embedding(g, voc);
    body.layers.push_back({{bitWeightedHead(g)}, detectors(g)});
    net.body = std::move(body);

    net.readout.weight = Matrix::Zero(2, D);
    net.readout.weight(0, g.CNT()) = 1;
    net.readout.bias = Vector::Zero(2);
    net.readout.bias(0) = -0.5f;

    net.provenance = {
        id(),
        "one-layer Transformer lower bound for string equality and "
        "disjointness, cut H (d_v+1) p >= n + 1 (Bhattamishra et al. 2024), "
        "met: one layer suffices with linear width",
        "compiler/constructions/PairPredicateTransformer1L.cpp",
        "softmax weights carry the bits, values carry the positions; an MLP "
        "compares x_i with y_i coordinate by coordinate"};
    Certificate &cert = net.certificate;
    cert.readoutMargin = 0.5;
    const double u = std::ldexp(1.0, -24), nn = static_cast<double>(n);
    cert.logitTolerance = 1e-3 + 2 * u * (nn * nn + 4 * nn);
    // The detector inputs kappa (o_i - tau o_w) compare quantities of size
    // <= 8 / Z against a margin of 1 / Z (beta = ln 3), so relative errors
    // below 1/16 (5 bits) leave half the margin; the weights are >= 1 / Z_max.
    cert.smallestAverage = 1.0 / g.zMax();
    cert.averageBits = 5;
    cert.argument =
        "each detector's input is at least 1 or at most 0 by the weight "
        "algebra above, so the clipped units count the violations exactly";
    cert.certified = true;
    return net;
  }

private:
  TaskKind task_;
};

} // namespace

const Construction &stringEqualityTransformer1LConstruction() {
  static const PairPredicateTransformer1L c(TaskKind::StringEquality);
  return c;
}
const Construction &disjointnessTransformer1LConstruction() {
  static const PairPredicateTransformer1L c(TaskKind::Disjointness);
  return c;
}

} // namespace handwire
