// String equality and disjointness with a ReLU Elman RNN of 2n + 5 units,
// matching the RNN lower bound (state bits >= n) up to a constant factor.
// paper-constructions.md §6.6.
//
// Task. x_1 .. x_n y_1 .. y_n <out>; class 1 iff no i has f(x_i, y_i) = 1,
// f = XOR (equality) or AND (disjointness).
//
// Units (state after step t, t = 1 .. 2n+1; bit(x) = 1 for token "1" only):
//   d_j   j = 1..n     delay line: d_1(t) = bit(x_t), d_{j+1}(t) = d_j(t-1),
//                      so d_n(t-1) = the bit read at step t - n
//   c_j   j = 1..n+1   clock: c_1(0) = 1, c_{j+1}(t) = c_j(t-1), so c_{n+1}(t)
//   = [t = n] p                  y phase: p(t) = ReLU(p(t-1) + c_{n+1}(t-1)) =
//   [t >= n+1] e_1, e_2           violation at this step (y phase, not <out>):
//                      Y = p(t-1) + c_{n+1}(t-1) = [t >= n+1], o = [x_t =
//                      <out>]
//     equality:        e_1 = ReLU(d_n - bit + Y - o - 1), e_2 = ReLU(bit - d_n
//     + Y - o - 1) disjointness:    e_1 = ReLU(d_n + bit + Y - o - 2)
//   L                  count: L(t) = ReLU(L(t-1) + e_1(t-1) + e_2(t-1))
// Read-out after <out>: logit(class 0) = L - 1/2, logit(class 1) = 0.
//
// Claim. L(2n+1) = #{i : f(x_i, y_i) = 1}, so the read-out is exact with margin
// 1/2.
//
// Proof. All units hold non-negative integers and each update is ReLU of an
// integer sum, so the recurrences above hold exactly. At step t = n + i
// (reading y_i), d_n(t-1) = bit(x_i) and Y = 1, o = 0, so e_1 + e_2 = f(x_i,
// y_i) (for XOR: |d - bit| as two ReLUs; for AND: ReLU(d + bit - 1)). For t <=
// n, Y = 0 and the pre-activations are <= 0; at <out>, o = 1 cancels Y. The
// violation of y_n (step 2n) reaches L at step 2n + 1. Exact in any precision.
// QED.
#include "constructions/Construction.h"

#include "spec/Vocabulary.h"

namespace handwire {
namespace {

// Where the units live (the notation block above), and how many non-zeros
// the update has.
struct Layout {
  int64_t n;
  bool equality;
  int64_t d(int64_t j) const { return j - 1; }
  int64_t c(int64_t j) const { return n + j - 1; }
  int64_t P() const { return 2 * n + 1; }
  int64_t E1() const { return P() + 1; }
  int64_t E2() const { return P() + 2; }
  int64_t L() const { return P() + 3; }
  int64_t units() const { return P() + 4; } // 2n + 5
  // The violation units in use, with the sign of d_n - bit each reads
  // (equality: both signs; disjointness: e_1 alone).
  std::vector<std::pair<int64_t, float>> violations() const {
    if (equality)
      return {{E1(), 1.0f}, {E2(), -1.0f}};
    return {{E1(), 1.0f}};
  }
  // W: the delay line's n - 1 shifts and the clock's n, p <- p and c_{n+1},
  // three per violation unit (d_n, p, c_{n+1}), L <- L, e_1 and e_2.
  // U: d_1 <- the bit, two per violation unit (the bit, <out>).
  ElmanShape shape() const {
    const int64_t e = static_cast<int64_t>(violations().size());
    return {static_cast<double>(units()),
            static_cast<double>(2 * n + 4 + 3 * e),
            static_cast<double>(1 + 2 * e),
            {}};
  }
};

class PairPredicateRnn final : public ElmanConstruction {
public:
  explicit PairPredicateRnn(TaskKind task) : task_(task) {}
  const char *id() const override {
    return task_ == TaskKind::StringEquality ? "string_equality/rnn-delay-line"
                                             : "disjointness/rnn-delay-line";
  }
  TaskKind task() const override { return task_; }

  Layout layout(const Spec &spec) const {
    return {spec.task.maxLength, task_ == TaskKind::StringEquality};
  }
  ElmanShape shape(const Spec &spec) const override {
    return layout(spec).shape();
  }

  Network
  build(const Spec &spec, const ModelSpec &m,
        const std::function<void(const std::string &)> &) const override {
    const Vocabulary voc = vocabularyOf(spec.task);
    const Layout g = layout(spec);
    const int64_t n = g.n;
    const bool equality = g.equality;
    const int64_t P = g.P(), E1 = g.E1(), L = g.L(), H = g.units();
    const int32_t ONE = 1, OUT = static_cast<int32_t>(voc.endToken);

    Network net = networkSkeleton(spec, m, Architecture::RNN, H);
    net.blocks = {
        {"delay", 0, n, "d_j: the bit read j - 1 steps ago"},
        {"clock", n, n + 1, "c_j: one-hot, c_{n+1} = 1 right after x_n"},
        {"phase", P, 1, "1 while reading y"},
        {"violation", E1, 2, "f(x_i, y_i) at the step reading y_i"},
        {"count", L, 1, "number of violations so far"}};

    WeightTriplets W, U;
    for (int64_t j = 1; j < n; ++j)
      W.emplace_back(g.d(j + 1), g.d(j), 1.0f);
    U.emplace_back(g.d(1), ONE, 1.0f);
    for (int64_t j = 1; j <= n; ++j)
      W.emplace_back(g.c(j + 1), g.c(j), 1.0f);
    W.emplace_back(P, P, 1.0f);
    W.emplace_back(P, g.c(n + 1), 1.0f);
    // Violation units read d_n, the phase Y = p + c_{n+1}, the input bit and
    // <out>.
    Vector bias = Vector::Zero(H);
    for (auto [e, sign] : g.violations()) {
      W.emplace_back(e, g.d(n), equality ? sign : 1.0f);
      W.emplace_back(e, P, 1.0f);
      W.emplace_back(e, g.c(n + 1), 1.0f);
      U.emplace_back(e, ONE, equality ? -sign : 1.0f);
      U.emplace_back(e, OUT, -1.0f);
      bias(e) = equality ? -1.0f : -2.0f;
    }
    W.emplace_back(L, L, 1.0f);
    W.emplace_back(L, E1, 1.0f);
    W.emplace_back(L, g.E2(), 1.0f);

    Vector initial = Vector::Zero(H);
    initial(g.c(1)) = 1;
    net.body = elmanBody(H, voc.tokenCount, W, U, bias, initial);

    net.readout.weight = Matrix::Zero(2, H);
    net.readout.weight(0, L) = 1;
    net.readout.bias = Vector::Zero(2);
    net.readout.bias(0) = -0.5f;

    net.provenance = {
        id(),
        "RNN lower bound for string equality and disjointness, state >= n "
        "bits (Bhattamishra et al. 2024), met up to a constant factor",
        "compiler/constructions/PairPredicateRNN.cpp",
        "a delay line brings x_i next to y_i; a ReLU pair flags f(x_i, y_i) "
        "and a counter adds the flags"};
    Certificate &cert = net.certificate;
    cert.readoutMargin = 0.5;
    cert.logitTolerance = 0;
    cert.argument =
        "integer pre-activations: every unit holds an exact small integer, "
        "so the count of violations is exact in any precision";
    cert.certified = true;
    return net;
  }

private:
  TaskKind task_;
};

} // namespace

const Construction &stringEqualityRnnConstruction() {
  static const PairPredicateRnn c(TaskKind::StringEquality);
  return c;
}
const Construction &disjointnessRnnConstruction() {
  static const PairPredicateRnn c(TaskKind::Disjointness);
  return c;
}

} // namespace handwire
