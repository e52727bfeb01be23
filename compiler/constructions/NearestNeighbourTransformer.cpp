// Nearest neighbour with a two-layer, one-head-per-layer Transformer of width
// 2d + L + 2 + 2k, k = O(log N). Bhattamishra et al. (2024): a two-layer
// Transformer of size O(d + L + log N) does nearest neighbour (upper bound);
// weights as in paper-constructions.md §6.4.
//
// Task. Input <bos> x_1 y_1 .. x_n y_n x_q, 1 <= n <= N, points x of norm
// <= r, labels y_i in [L]; output y_i* with i* = argmax_i <x_q, x_i>, on
// inputs that keep the margin <x_q, x_i*> >= <x_q, x_j> + Delta' for every
// j != i*. Two forms of points (the task's `points`):
//   cube:   the corners of {+1,-1}^d / sqrt(d), a token each (its embedding
//           row holds the point), r = 1, Delta' = 2m/d (the task's margin
//           rounded up to the grid of cube inner products);
//   sphere: any unit vectors, continuous inputs (the embedding's feature
//           matrix writes them into X), r = 1 + 2^-16 (what the task admits
//           of a float vector's norm), Delta' = Delta.
// rho = r^2.
//
// Notation. M = 2n + 2 <= 2N + 2 tokens at 0-based positions t = 0 .. M-1:
// <bos> at 0, x_i at 2i - 1, y_i at 2i, x_q at 2n + 1. T(0) .. T(2N+1) a sign
// code in R^k (unit vectors, <T(s),T(t)> <= mu for s != t, measured exactly);
// g1 = 1 - mu. delta1, delta2 the leakages of the two heads.
// Residual stream, D = 2d + L + 2 + 2k:
//   X  (d)     the token's own point (0 at labels and <bos>)
//   Cx (d)     layer 1: the previous token's point
//   Y  (L)     one-hot label; layer 2 writes its answer here (0 at x_q)
//   isLab      1 at labels        one    1 everywhere
//   K  (k)     T(t) at position t
//   Q  (k)     T(t-1) at position t >= 1 (0 at <bos>)
//
// Claim. With delta1 = Delta'/8, delta2 from the read-out margin,
//   eta1 >= [ln(2N+1) + ln((1-delta1)/delta1)] / g1,
//   eta2 >= [ln(2N+1) + ln((1-delta2)/delta2)] / g2,
//   g2 = min(Delta' - 4 rho delta1, 2 - rho - 3 rho delta1)
//      (= min(Delta'/2, 1 - 3Delta'/8) on the cube),
// the read-out is exact on every valid input, with logit margin
// >= 1 - 2 delta2.
//
// Proof.
// Layer 1 (copy the previous point). At position t >= 1 the query eta1
//   T(t-1) scores key t-1 at eta1 and each of the <= t <= 2N+1 other keys at
//   <= eta1 mu = eta1 - eta1 g1 (causal mask: <bos> sees only itself, whose
//   value is 0). By the softmax fact (SoftmaxScale.h) the previous token gets
//   weight >= 1 - delta1. Values are X, vectors of norm <= r, so:
//   at y_i (previous token x_i): ||Cx - x_i|| <= 2 r delta1;
//   at x_i, x_q and <bos> (previous token a label, <bos> or none):
//   ||Cx|| <= r delta1.
// Layer 2 (retrieve the nearest). At x_q the query is eta2 [x_q; 1] and key s
//   is [Cx_s; 2 isLab_s], so score(s) = eta2 (<x_q, Cx_s> + 2 isLab_s); since
//   ||x_q|| <= r, Cauchy-Schwarz gives
//   at y_i:       <x_q, x_i> + 2 - 2 rho delta1 <= score / eta2
//                 <= <x_q, x_i> + 2 + 2 rho delta1,
//   elsewhere:    score / eta2 <= rho delta1.
//   The target y_i* scores >= eta2 (<x_q, x_i*> + 2 - 2 rho delta1); another
//   label y_j scores <= eta2 (<x_q, x_i*> - Delta' + 2 + 2 rho delta1), i.e.
//   eta2 (Delta' - 4 rho delta1) less; a non-label scores <= eta2 rho
//   delta1, i.e. at least eta2 (2 - rho - 3 rho delta1) less (<x_q, x_i*>
//   >= -rho). So the gap per
//   unit of scale is g2 > 0, there are <= 2N+1 competitors, and y_i* gets
//   weight >= 1 - delta2. Values are Y (e_{y_s} at labels, 0 elsewhere),
//   written into Y, which is 0 at x_q: Y[y_i*] >= 1 - delta2 and
//   Y[c] <= delta2 for every other class c. The read-out is Y: margin
//   >= 1 - 2 delta2. QED.
//
// Precision. |<q, k>| <= 2 + rho per unit of scale at layer 2 (||Cx|| <= r
// plus the shift 2), so the head needs log2(36 / g2) + 1 significand bits
// (HeadCertificate::requiredBits): 11 at the smallest margin 2/16 of d = 16,
// which fp32 and fp16 have and bf16 (8) does not. A margin too small for the
// model's precision is refused at the task's `margin` field.
#include "constructions/Construction.h"

#include "codes/NearOrthogonalCode.h"
#include "constructions/SoftmaxScale.h"
#include "spec/Vocabulary.h"
#include "support/Diagnostics.h"
#include "tasks/TaskSemantics.h"

#include <algorithm>
#include <cmath>
#include <sstream>

namespace handwire {
namespace {

// The layer-2 gap per unit of scale, and the layer-1 leakage it assumes, for
// a margin Delta' (see the claim).
struct RetrievalGap {
  double leakage1; // delta1
  double gap;      // g2
};
RetrievalGap retrievalGap(double margin, double rho) {
  const double delta1 = margin / 8; // half the margin pays for the copy error
  return {delta1,
          std::min(margin - 4 * rho * delta1, 2 - rho - 3 * rho * delta1)};
}

// rho = r^2, r the largest norm of a point (see the task).
double squaredNormBound(const TaskSpec &task) {
  const double r = task.onSphere() ? 1 + kSphereNormTolerance : 1;
  return r * r;
}

// The residual layout for code width k (the notation block above).
struct Layout {
  int64_t d, L, k;
  int64_t X() const { return 0; }
  int64_t CX() const { return d; }
  int64_t Y() const { return 2 * d; }
  int64_t IS_LAB() const { return 2 * d + L; }
  int64_t ONE() const { return 2 * d + L + 1; }
  int64_t K() const { return 2 * d + L + 2; }
  int64_t Q() const { return K() + k; }
  int64_t width() const { return Q() + k; } // 2d + L + 2 + 2k
  // Two layers of one head, no MLP: the copy (query and key k rows, value d
  // rows) and the retrieval (query and key d + 1 rows, value L rows).
  DenseTransformerShape shape() const {
    const DenseLayerShape copy{{DenseHeadShape{k, d}}, std::nullopt},
        retrieve{{DenseHeadShape{d + 1, L}}, std::nullopt};
    return {width(), {copy, retrieve}};
  }
};

Layout layout(const Spec &spec, int64_t codeWidth) {
  return {spec.task.dimension, spec.task.labels, codeWidth};
}

// Embeddings: on the cube, point p -> its coordinates in X (+1/sqrt(d) where
// bit j of p is 0); on the sphere, <point> -> 0 and the feature matrix puts
// the point's vector into X. Label c -> e_c in Y and 1 in isLab; <bos> -> 0.
// Position t -> 1 in one, T(t) in K, T(t-1) in Q.
void embed(const Layout &g, const TaskSpec &task, const Vocabulary &voc,
           const SignCode &code, Embedding &e) {
  const int64_t d = g.d;
  if (task.onSphere()) {
    Matrix feature = Matrix::Zero(g.width(), d);
    feature.block(g.X(), 0, d, d).setIdentity();
    e.feature = std::move(feature);
    e.featureNorm = 1 + kSphereNormTolerance;
  } else {
    const float unit = static_cast<float>(1 / std::sqrt(double(d)));
    for (int64_t p = 0; p < voc.symbolCount; ++p)
      for (int64_t j = 0; j < d; ++j)
        e.token(p, g.X() + j) = (p >> j) & 1 ? -unit : unit;
  }
  for (int64_t c = 0; c < g.L; ++c) {
    e.token(voc.firstLabelToken + c, g.Y() + c) = 1;
    e.token(voc.firstLabelToken + c, g.IS_LAB()) = 1;
  }
  for (int64_t t = 0; t < voc.maxSequenceLength; ++t) {
    e.position(t, g.ONE()) = 1;
    code.writeRow(t, 1.0f, &e.position(t, g.K()));
    if (t > 0)
      code.writeRow(t - 1, 1.0f, &e.position(t, g.Q()));
  }
}

// Layer 1: query eta1 Q, key K, value X, output into Cx.
void copyPreviousPoint(const Layout &g, double eta1, AttentionHead &copy) {
  const int64_t k = g.k, d = g.d;
  copy.query.dense()
      .block(0, g.Q(), k, k)
      .diagonal()
      .setConstant(static_cast<float>(eta1));
  copy.key.dense().block(0, g.K(), k, k).diagonal().setOnes();
  copy.value.dense().block(0, g.X(), d, d).diagonal().setOnes();
  copy.output.dense().block(g.CX(), 0, d, d).diagonal().setOnes();
}

// Layer 2: query eta2 [X; one], key [Cx; 2 isLab], value Y, output into Y.
void retrieveNearestLabel(const Layout &g, double eta2,
                          AttentionHead &retrieve) {
  const int64_t d = g.d, L = g.L;
  retrieve.query.dense()
      .block(0, g.X(), d, d)
      .diagonal()
      .setConstant(static_cast<float>(eta2));
  retrieve.query(d, g.ONE()) = static_cast<float>(eta2);
  retrieve.key.dense().block(0, g.CX(), d, d).diagonal().setOnes();
  retrieve.key(d, g.IS_LAB()) = 2;
  retrieve.value.dense().block(0, g.Y(), L, L).diagonal().setOnes();
  retrieve.output.dense().block(g.Y(), 0, L, L).diagonal().setOnes();
}

class NearestNeighbourTransformer final
    : public TransformerOfDepth<2, CodedDenseTransformer> {
public:
  const char *id() const override {
    return "nearest_neighbour/transformer-2layer";
  }
  TaskKind task() const override { return TaskKind::NearestNeighbour; }

  DenseTransformerShape shape(const Spec &spec,
                              int64_t codeWidth) const override {
    return layout(spec, codeWidth).shape();
  }
  // The position code (codeRequest): the copy head selects one key, so a
  // one-sided code for positions 0 .. 2N+1.

  Network build(
      const Spec &spec, const ModelSpec &m,
      const std::function<void(const std::string &)> &progress) const override {
    const TaskSpec &task = spec.task;
    const Vocabulary voc = vocabularyOf(task);
    const int64_t d = task.dimension, L = task.labels, N = task.maxLength;
    const double margin = task.effectiveMargin(); // Delta'
    const double leakage2 = leakageForReadoutMargin(m.margin);
    const double rho = squaredNormBound(task);
    const RetrievalGap retrieval = retrievalGap(margin, rho);
    const int64_t competitors = 2 * N + 1; // every key but the target
    // The retrieval head's logits reach 2 + rho per unit of scale.
    const double retrievalLogitBound = 2 + rho;

    // Codes for positions 0 .. 2N+1 (codeword t is position t).
    Code code = makeCode(codeRequest(spec, m), progress);
    const Layout g = layout(spec, code.certificate.dim);
    const int64_t k = g.k;

    Network net = denseTransformerSkeleton(spec, m, g.shape());
    net.blocks = {
        {"X", g.X(), d, "the token's point (0 at labels and <bos>)"},
        {"Cx", g.CX(), d, "layer 1: the previous token's point"},
        {"Y", g.Y(), L, "one-hot label; layer 2 writes the answer here"},
        {"isLab", g.IS_LAB(), 1, "1 at label tokens"},
        {"one", g.ONE(), 1, "1 at every position"},
        {"K", g.K(), k, "key code T(t) of position t"},
        {"Q", g.Q(), k, "query code T(t-1): the previous position"}};

    // Scales from the measured one-sided gap and the leakages.
    const double gap1 = 1.0 - code.certificate.maxInnerProduct;
    SelectionHead copy;
    copy.head = "layers.0.heads.0";
    copy.gap = gap1;
    copy.competitors = competitors;
    copy.leakage = retrieval.leakage1;
    copy.dotLength = k;
    copy.residualWidth = g.width();
    SelectionHead retrieve = copy;
    retrieve.head = "layers.1.heads.0";
    retrieve.gap = retrieval.gap;
    retrieve.leakage = leakage2;
    retrieve.logitBound = retrievalLogitBound;
    retrieve.layer = 1;
    // Cx = sum_j a_j x_j: the stored point (1 rounding), each weight's stored
    // exponential (1; the sum and division are in the chain's gamma terms),
    // the stored average (1); the update and residual add to zeros (exact);
    // then K's weight and the stored key (1 each). The query [x; 1] has fewer.
    retrieve.inputRoundings = 5;
    retrieve.dotLength = d + 1;
    retrieve.sequenceLength = voc.maxSequenceLength;
    refuseMarginBelowPrecision(task, m, retrieve);
    const HeadCertificate head1 = certifySelectionHead(copy, m),
                          head2 = certifySelectionHead(retrieve, m);
    const double eta1 = head1.scale, eta2 = head2.scale;

    TransformerBody &body = std::get<TransformerBody>(net.body);
    embed(g, task, voc, code.vectors, body.embed);
    copyPreviousPoint(g, eta1, body.layers[0].heads[0]);
    retrieveNearestLabel(g, eta2, body.layers[1].heads[0]);

    // Read-out: the Y block.
    net.readout.weight.block(0, g.Y(), L, L).diagonal().setOnes();

    net.provenance = {
        id(),
        "two-layer Transformer for nearest neighbour, size O(d + L + log N) "
        "(Bhattamishra et al. 2024; upper bound)",
        "compiler/constructions/NearestNeighbourTransformer.cpp",
        "layer 1 copies each example's point onto its label by the previous "
        "position's code; layer 2 attends from the query to the label whose "
        "copied point has the largest inner product with it"};
    Certificate &cert = net.certificate;
    cert.code = code.certificate;
    cert.heads = {head1, head2};
    cert.readoutMargin = 1 - 2 * head2.outputError;
    // Two fp32 passes differ in a layer-2 score by <= eta2 (3 (d + 1) + 2 M)
    // u (the dot product, plus Cx, an average over M keys), which moves the
    // softmax weights by twice that; then the average of 0/1 values itself.
    const double M = static_cast<double>(voc.maxSequenceLength);
    cert.logitTolerance =
        2 * eta2 * (3 * double(d + 1) + 2 * M) * std::ldexp(1.0, -24) +
        attentionAverageTolerance(voc.maxSequenceLength);
    std::ostringstream why;
    why.precision(4);
    why << "copy within leakage " << retrieval.leakage1
        << " = margin/8, so the nearest label leads every other key by "
        << retrieval.gap << " per unit of scale (margin " << margin;
    if (task.onSphere())
      why << ", points of norm <= 1 + 2^-16 in R^" << d;
    else
      why << " = Hamming " << task.hammingMargin() << " at d = " << d;
    why << "); the retrieved one-hot label leads by the read-out margin";
    cert.argument = why.str();
    checkHeadCertificates(cert, net.precision);
    return net;
  }

private:
  // Refuses a margin whose retrieval gap no scale can keep in the model's
  // precision (its rounding chain), naming the smallest margin that it can.
  static void refuseMarginBelowPrecision(const TaskSpec &task,
                                         const ModelSpec &m,
                                         SelectionHead retrieve) {
    if (selectionCertifiable(retrieve, m.precision))
      return;
    const int64_t d = task.dimension;
    const double rho = squaredNormBound(task);
    std::string wider; // the precisions that keep this margin
    for (Precision p : {Precision::F16, Precision::F32, Precision::F64})
      if (significandBits(p) > significandBits(m.precision) &&
          selectionCertifiable(retrieve, p))
        wider += std::string(wider.empty() ? "" : ", ") + precisionName(p);
    std::ostringstream os;
    os.precision(4);
    os << "margin " << task.margin;
    if (!task.onSphere())
      os << " (Hamming distance " << task.hammingMargin() << " at d = " << d
         << ")";
    os << " leaves the nearest-neighbour head a logit gap of " << retrieve.gap
       << " per unit of scale, within the rounding of its scores in "
       << precisionName(m.precision) << " (no softmax scale certifies it)";
    if (task.onSphere()) {
      // The smallest margin that does, if any, to 3 significant digits
      // (rounded up): a certifiable gap stays so when it grows.
      auto certifies = [&](double margin) {
        retrieve.gap = retrievalGap(margin, rho).gap;
        return selectionCertifiable(retrieve, m.precision);
      };
      double fits = 0;
      if (certifies(2)) {
        double lo = task.margin, hi = 2;
        for (int i = 0; i < 40; ++i)
          (certifies((lo + hi) / 2) ? hi : lo) = (lo + hi) / 2;
        const double unit =
            std::pow(10.0, std::floor(std::log10(hi)) - 2); // 3 digits
        fits = std::ceil(hi / unit) * unit;
      }
      if (fits > 0)
        os << ": raise 'margin' to at least " << fits;
      if (!wider.empty())
        os << (fits > 0 ? " or use" : ": use") << " precision " << wider;
      throw UserError(os.str(), task.fieldLoc("margin"));
    }
    int64_t fits = 0;
    for (int64_t hm = task.hammingMargin() + 1; hm <= d && !fits; ++hm) {
      retrieve.gap = retrievalGap(2.0 * double(hm) / double(d), rho).gap;
      if (selectionCertifiable(retrieve, m.precision))
        fits = hm;
    }
    if (fits)
      os << ": raise 'margin' to at least " << 2.0 * double(fits) / double(d)
         << " (Hamming " << fits << ") or use precision " << wider;
    else
      os << " for every margin at d = " << d << ": use precision " << wider;
    throw UserError(os.str(), task.fieldLoc("margin"));
  }
};

} // namespace

const Construction &nearestNeighbourTransformerConstruction() {
  static const NearestNeighbourTransformer c;
  return c;
}

} // namespace handwire
