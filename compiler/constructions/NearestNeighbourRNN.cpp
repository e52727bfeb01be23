// Nearest neighbour with a ReLU Elman RNN that stores every example, and a
// four-layer sparse read-out head that finds the nearest label. State
// N(2d + 2L + 2) + d + L + 1 units: linear in N, as the RNN lower bound for
// nearest neighbour of Bhattamishra et al. (2024) requires of any recurrent
// model (state bits >= n log2 L); paper-constructions.md §6.4.
//
// Task. Input <bos> x_1 y_1 .. x_n y_n x_q, 1 <= n <= N, points of the cube
// {+1,-1}^d / sqrt(d), labels y_i in [L]; output the label of the x_i nearest
// to x_q. On the cube, nearest = largest inner product = smallest Hamming
// distance h_i = #{j : x_i and x_q differ in coordinate j}. Every input with
// a unique nearest example (runner-up at least one coordinate further) is
// answered: the margin only has to be positive.
//
// Notation. Tokens at 0-based positions p: <bos> at 0, x_i at 2i - 1, y_i at
// 2i, x_q at 2n + 1; bit_j(x) is bit j of x's token (coordinate j of x is
// -1/sqrt(d) iff it is 1; Vocabulary.h). Units, all 0/1 (i = 1..N, j < d,
// c < L):
//   clock_p    0 <= p <= 2N     one-hot: the token just read was at p
//   cur_j, lab_c                the token just read: its bits, its label
//   wx_{i,j}, wy_{i,c}          write buffers: x_i's bits, y_i's label
//   sx_{i,j}, sy_{i,c}          memory: x_i's bits, y_i's label
// Update (pre-activations; p is the position of the token read):
//   clock_0 = [token = <bos>]         clock_{p+1} = clock_p
//   cur_j = bit_j(token)              lab_c = [token = y label c]
//   wx_{i,j} = clock_{2i-1} + cur_j - 1       wy_{i,c} = clock_{2i} + lab_c - 1
//   sx_{i,j} = sx_{i,j} + wx_{i,j}           sy_{i,c} = sy_{i,c} + wy_{i,c}
// (the right-hand sides read the previous state; the token's own bits enter
// only cur and lab, so the input matrix has d 2^(d-1) + L + 1 entries).
// Head on the final state (z = ReLU(W z + b) per layer), k = 0..d:
//   1: dis+_{i,j} = sx_{i,j} - cur_j,   dis-_{i,j} = cur_j - sx_{i,j},
//      lbl_{i,c} = sy_{i,c} + wy_{i,c}
//   2: h_i = sum_j (dis+_{i,j} + dis-_{i,j}),   lbl'_{i,c} = lbl_{i,c}
//   3: u_{i,c,k} = (k - d) - h_i + (d+1) lbl'_{i,c}
//   4: r_{c,k} = 1 - sum_i u_{i,c,k}
// Read-out: logit_c = (d + 1) - sum_k r_{c,k}.
//
// Claim. On every input with a unique nearest example, logit_{y*} >= logit_c
// + 1 for every other class c, in integer arithmetic (exact in any precision
// that holds the integers involved).
//
// Proof. By induction on p, clock_p' = [p' = p] and cur, lab describe the
// token at p. wx_{i,j} is 1 only right after x_i (p = 2i) and then equals
// bit_j(x_i); sx_{i,j} = wx_{i,j} one step later and stays (buffer and memory
// are never both 1), and likewise wy, sy for y_i (wy at p = 2i + 1). After
// x_q (p = 2n + 1): cur = bits of x_q; sx_i = bits of x_i for i <= n and 0
// beyond; lbl_{i,c} = [i <= n, y_i = c] (y_n is still in its buffer).
// Layer 1 gives |sx - cur| = dis+ + dis-, so layer 2's h_i (a sum of
// non-negative terms: ReLU leaves it) is the Hamming distance from x_q to
// x_i, and lbl' = lbl (0 or 1). Layer 3: with lbl' = 1, u = ReLU(k + 1 -
// h_i), an integer that is >= 1 iff h_i <= k and 0 otherwise; with lbl' = 0
// it is 0 (the pre-activation is k - d - h_i <= 0). So sum_i u_{i,c,k} is an
// integer, 0 iff no example of class c lies within distance k, layer 4 gives
// r_{c,k} = ReLU(1 - sum) = [no example of class c within distance k], and
// logit_c = d + 1 - min{h_i : y_i = c} (0 if class c has no example). The
// nearest example's class scores d + 1 - h* >= 1; any other class's examples
// are at distance >= h* + 1, so it scores at most d - h*, and an absent
// class 0. QED.
//
// Size. The head has 2Nd + NL + N(1 + L) + NL(d+1) + L(d+1) units: sparse,
// O(N L d) weights. h_i is a layer of its own so that each of the NL(d+1)
// threshold units reads 2 units instead of the 2d + 1 it would read from
// layer 1 (at N = 65536, d = 10, L = 4: 5.8 M weights there, not 60.5 M).
//
// Precision. Every stored value is a small integer. Layer 4's pre-activation
// 1 - sum_i u reaches -N(d+1) but never exceeds 1, and rounding never turns
// a negative number positive, so ReLU(rounded) is exact in any format
// (layer 4 has only negative weights: the certificate's signed bound is 1).
#include "constructions/Construction.h"

#include "spec/Vocabulary.h"

namespace handwire {
namespace {

// Where each unit lives in the state and in the head's layers.
struct NearestNeighbourLayout {
  int64_t N, d, L;
  // state
  int64_t clock(int64_t p) const { return p; } // 0 .. 2N
  int64_t cur(int64_t j) const { return 2 * N + 1 + j; }
  int64_t lab(int64_t c) const { return 2 * N + 1 + d + c; }
  int64_t memoryBase() const { return 2 * N + 1 + d + L; }
  int64_t wx(int64_t i, int64_t j) const {
    return memoryBase() + (i - 1) * d + j;
  }
  int64_t sx(int64_t i, int64_t j) const {
    return memoryBase() + N * d + (i - 1) * d + j;
  }
  int64_t wy(int64_t i, int64_t c) const {
    return memoryBase() + 2 * N * d + (i - 1) * L + c;
  }
  int64_t sy(int64_t i, int64_t c) const {
    return memoryBase() + 2 * N * d + N * L + (i - 1) * L + c;
  }
  int64_t stateWidth() const { return memoryBase() + 2 * N * (d + L); }
  // head layer 1
  int64_t disPlus(int64_t i, int64_t j) const { return (i - 1) * d + j; }
  int64_t disMinus(int64_t i, int64_t j) const {
    return N * d + (i - 1) * d + j;
  }
  int64_t lbl(int64_t i, int64_t c) const {
    return 2 * N * d + (i - 1) * L + c;
  }
  int64_t layer1Width() const { return N * (2 * d + L); }
  // head layer 2: the distance of example i, its label passed on
  int64_t h(int64_t i) const { return i - 1; }
  int64_t lblPassed(int64_t i, int64_t c) const { return N + (i - 1) * L + c; }
  int64_t layer2Width() const { return N * (1 + L); }
  // head layer 3: example i, class c, threshold k
  int64_t u(int64_t i, int64_t c, int64_t k) const {
    return ((i - 1) * L + c) * (d + 1) + k;
  }
  int64_t layer3Width() const { return N * L * (d + 1); }
  // head layer 4
  int64_t r(int64_t c, int64_t k) const { return c * (d + 1) + k; }
  int64_t layer4Width() const { return L * (d + 1); }

  // Non-zeros, term by term as written below. W: the clock's 2N shifts;
  // wx <- clock and cur, sx <- sx and wx (4 per bit), likewise for labels.
  int64_t recurrentNonZeros() const { return 2 * N + 4 * N * (d + L); }
  // U: <bos> into clock_0; each point into cur_j for its one bits (half of
  // the 2^d points per j); each label token into its lab_c.
  int64_t inputNonZeros() const { return 1 + d * (int64_t(1) << (d - 1)) + L; }
  // Head: dis+ and dis- read sx and cur (4 per bit), lbl reads sy and wy;
  // h reads the 2d differences, lbl' reads lbl; u reads h and lbl'; r reads
  // u over the N examples.
  int64_t layer1NonZeros() const { return N * (4 * d + 2 * L); }
  int64_t layer2NonZeros() const { return N * (2 * d + L); }
  int64_t layer3NonZeros() const { return layer3Width() * 2; }
  int64_t layer4NonZeros() const { return layer4Width() * N; }
  ElmanShape shape() const {
    auto real = [](int64_t x) { return static_cast<double>(x); };
    return {real(stateWidth()),
            real(recurrentNonZeros()),
            real(inputNonZeros()),
            {{real(layer1Width()), real(layer1NonZeros())},
             {real(layer2Width()), real(layer2NonZeros())},
             {real(layer3Width()), real(layer3NonZeros())},
             {real(layer4Width()), real(layer4NonZeros())}}};
  }
};

NearestNeighbourLayout layout(const Spec &spec) {
  return {spec.task.maxLength, spec.task.dimension, spec.task.labels};
}

HeadLayer headLayer(int64_t rows, int64_t cols, const WeightTriplets &w,
                    Vector bias) {
  HeadLayer layer;
  layer.weight.resize(rows, cols);
  layer.weight.setFromTriplets(w.begin(), w.end()); // compressed
  layer.bias = std::move(bias);
  return layer;
}

// The recurrence and the input: the clock, the token just read, and the
// write buffers and memories of every example.
ElmanBody recurrence(const NearestNeighbourLayout &u, const Vocabulary &voc) {
  const int64_t N = u.N, d = u.d, L = u.L, H = u.stateWidth();
  WeightTriplets W, U;
  W.reserve(static_cast<size_t>(u.recurrentNonZeros()));
  Vector bias = Vector::Zero(H), initial = Vector::Zero(H);
  for (int64_t p = 0; p < 2 * N; ++p)
    W.emplace_back(u.clock(p + 1), u.clock(p), 1.0f);
  U.emplace_back(u.clock(0), voc.beginToken, 1.0f);
  for (int64_t x = 0; x < voc.symbolCount; ++x)
    for (int64_t j = 0; j < d; ++j)
      if ((x >> j) & 1)
        U.emplace_back(u.cur(j), x, 1.0f);
  for (int64_t c = 0; c < L; ++c)
    U.emplace_back(u.lab(c), voc.firstLabelToken + c, 1.0f);
  for (int64_t i = 1; i <= N; ++i) {
    for (int64_t j = 0; j < d; ++j) {
      W.emplace_back(u.wx(i, j), u.clock(2 * i - 1), 1.0f);
      W.emplace_back(u.wx(i, j), u.cur(j), 1.0f);
      bias(u.wx(i, j)) = -1;
      W.emplace_back(u.sx(i, j), u.sx(i, j), 1.0f);
      W.emplace_back(u.sx(i, j), u.wx(i, j), 1.0f);
    }
    for (int64_t c = 0; c < L; ++c) {
      W.emplace_back(u.wy(i, c), u.clock(2 * i), 1.0f);
      W.emplace_back(u.wy(i, c), u.lab(c), 1.0f);
      bias(u.wy(i, c)) = -1;
      W.emplace_back(u.sy(i, c), u.sy(i, c), 1.0f);
      W.emplace_back(u.sy(i, c), u.wy(i, c), 1.0f);
    }
  }
  return elmanBody(H, voc.tokenCount, W, U, bias, initial);
}

// Head layer 1: |sx - cur| as two units, and the label of each example.
HeadLayer differenceLayer(const NearestNeighbourLayout &u) {
  WeightTriplets H1;
  H1.reserve(static_cast<size_t>(u.layer1NonZeros()));
  for (int64_t i = 1; i <= u.N; ++i) {
    for (int64_t j = 0; j < u.d; ++j) {
      H1.emplace_back(u.disPlus(i, j), u.sx(i, j), 1.0f);
      H1.emplace_back(u.disPlus(i, j), u.cur(j), -1.0f);
      H1.emplace_back(u.disMinus(i, j), u.cur(j), 1.0f);
      H1.emplace_back(u.disMinus(i, j), u.sx(i, j), -1.0f);
    }
    for (int64_t c = 0; c < u.L; ++c) {
      H1.emplace_back(u.lbl(i, c), u.sy(i, c), 1.0f);
      H1.emplace_back(u.lbl(i, c), u.wy(i, c), 1.0f);
    }
  }
  return headLayer(u.layer1Width(), u.stateWidth(), H1,
                   Vector::Zero(u.layer1Width()));
}

// Head layer 2: h_i, the Hamming distance, and the label passed on.
HeadLayer distanceLayer(const NearestNeighbourLayout &u) {
  WeightTriplets H2;
  H2.reserve(static_cast<size_t>(u.layer2NonZeros()));
  for (int64_t i = 1; i <= u.N; ++i) {
    for (int64_t j = 0; j < u.d; ++j) {
      H2.emplace_back(u.h(i), u.disPlus(i, j), 1.0f);
      H2.emplace_back(u.h(i), u.disMinus(i, j), 1.0f);
    }
    for (int64_t c = 0; c < u.L; ++c)
      H2.emplace_back(u.lblPassed(i, c), u.lbl(i, c), 1.0f);
  }
  return headLayer(u.layer2Width(), u.layer1Width(), H2,
                   Vector::Zero(u.layer2Width()));
}

// Head layer 3: u = ReLU(k + 1 - h_i - (d+1)(1 - lbl)), positive iff
// label_i = c and h_i <= k.
HeadLayer thresholdLayer(const NearestNeighbourLayout &u) {
  const int64_t d = u.d;
  WeightTriplets H3;
  H3.reserve(static_cast<size_t>(u.layer3NonZeros()));
  Vector b3(u.layer3Width());
  for (int64_t i = 1; i <= u.N; ++i)
    for (int64_t c = 0; c < u.L; ++c)
      for (int64_t k = 0; k <= d; ++k) {
        const int64_t row = u.u(i, c, k);
        H3.emplace_back(row, u.h(i), -1.0f);
        H3.emplace_back(row, u.lblPassed(i, c), static_cast<float>(d + 1));
        b3(row) = static_cast<float>(k - d);
      }
  return headLayer(u.layer3Width(), u.layer2Width(), H3, std::move(b3));
}

// Head layer 4: r_{c,k} = [no example of class c within distance k].
HeadLayer absenceLayer(const NearestNeighbourLayout &u) {
  WeightTriplets H4;
  H4.reserve(static_cast<size_t>(u.layer4NonZeros()));
  for (int64_t c = 0; c < u.L; ++c)
    for (int64_t k = 0; k <= u.d; ++k)
      for (int64_t i = 1; i <= u.N; ++i)
        H4.emplace_back(u.r(c, k), u.u(i, c, k), -1.0f);
  return headLayer(u.layer4Width(), u.layer3Width(), H4,
                   Vector::Ones(u.layer4Width()));
}

class NearestNeighbourRnn final : public ElmanConstruction {
public:
  const char *id() const override { return "nearest_neighbour/rnn-memory"; }
  TaskKind task() const override { return TaskKind::NearestNeighbour; }
  ElmanShape shape(const Spec &spec) const override {
    return layout(spec).shape();
  }

  Network
  build(const Spec &spec, const ModelSpec &m,
        const std::function<void(const std::string &)> &) const override {
    const Vocabulary voc = vocabularyOf(spec.task);
    const NearestNeighbourLayout u = layout(spec);
    const int64_t N = u.N, d = u.d, L = u.L, H = u.stateWidth();

    Network net = networkSkeleton(spec, m, Architecture::RNN, H);
    net.blocks = {
        {"clock", 0, 2 * N + 1, "one-hot position of the token just read"},
        {"cur", u.cur(0), d, "bits of the point just read"},
        {"lab", u.lab(0), L, "one-hot label just read"},
        {"write_x", u.wx(1, 0), N * d, "bits of x_i, for one step"},
        {"mem_x", u.sx(1, 0), N * d, "bits of x_i, kept"},
        {"write_y", u.wy(1, 0), N * L, "label of y_i, for one step"},
        {"mem_y", u.sy(1, 0), N * L, "label of y_i, kept"}};

    ElmanBody body = recurrence(u, voc);
    body.head.push_back(differenceLayer(u));
    body.head.push_back(distanceLayer(u));
    body.head.push_back(thresholdLayer(u));
    body.head.push_back(absenceLayer(u));
    net.body = std::move(body);

    // Read-out: logit_c = (d + 1) - sum_k r_{c,k}.
    net.readout.weight = Matrix::Zero(L, u.layer4Width());
    net.readout.bias = Vector::Constant(L, static_cast<float>(d + 1));
    for (int64_t c = 0; c < L; ++c)
      for (int64_t k = 0; k <= d; ++k)
        net.readout.weight(c, u.r(c, k)) = -1;

    net.provenance = {
        id(),
        "RNN lower bound for nearest neighbour, state >= n log2 L bits "
        "(Bhattamishra et al. 2024), met up to a factor O(d + L)",
        "compiler/constructions/NearestNeighbourRNN.cpp",
        "a clock writes each example's bits and label into its own memory "
        "slots; a sparse head counts, per label and distance, the examples "
        "within that distance of the query"};
    Certificate &cert = net.certificate;
    cert.readoutMargin = 1;
    cert.logitTolerance = 0; // integers: every backend must agree exactly
    cert.argument =
        "every unit is a small integer (0/1 in the state), so the head's "
        "per-class distance counts are exact; the nearest label wins by at "
        "least 1 on any input with a unique nearest example";
    cert.certified = true;
    return net;
  }
};

} // namespace

const Construction &nearestNeighbourRnnConstruction() {
  static const NearestNeighbourRnn c;
  return c;
}

} // namespace handwire
