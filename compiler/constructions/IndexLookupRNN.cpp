// Index lookup with a ReLU Elman RNN whose state holds the whole sequence.
// Matches the RNN lower bound (Bhattamishra et al. 2024: any recurrent model
// needs state bits
// >= N log2|alphabet|) up to a constant factor; paper-constructions.md §6.6.
//
// Task. Input s_1 .. s_n IDX_p with 1 <= p <= n <= N; output s_p.
//
// Notation. V = |alphabet|, b = ceil(log2 V) bits per symbol, bit_B(c) the
// B-th bit of symbol c's index, [.] an indicator. Units (H = N (1 + 3b)):
//   ptr_j      1 <= j <= N        "the next symbol goes to slot j"
//   w_{j,B}    write buffer       bit B of the symbol written to slot j, one
//   step only slot_{j,B} memory             bit B of s_j, kept forever a_{p,B}
//   answer             bit B of s_p, after IDX_p was read
// Update h_t = ReLU(W h_{t-1} + U e(x_t) + bias), h_0 = e(ptr_1):
//   ptr_{j+1}(t) = ReLU(ptr_j(t-1))
//   w_{j,B}(t)   = ReLU(ptr_j(t-1) + bit_B(x_t) - 1)         (bit_B(IDX) = 0)
//   slot_{j,B}(t)= ReLU(slot_{j,B}(t-1) + w_{j,B}(t-1))
//   a_{p,B}(t)   = ReLU(slot_{p,B}(t-1) + w_{p,B}(t-1) + [x_t = IDX_p] - 1)
// Read-out: logit_c = sum_B (2 bit_B(c) - 1) sum_p a_{p,B} + #{B : bit_B(c) =
// 0}.
//
// Claim. Every unit is exactly 0 or 1 at every step, and the read-out gives
// s_p a logit of b and every other class at most b - 1.
//
// Proof. By induction on t: ptr_j(t) = [j = t+1]; so w_{j,B}(t) = [j = t]
// bit_B(s_t) (the pre-activation is ptr + bit - 1 in {-1, 0, 1}), and
// slot_{j,B}(t) = [j <= t-1] bit_B(s_j), because w and slot of the same j are
// never 1 at the same step (w at t = j only, slot from t = j+1 on). Hence
// slot(t-1) + w(t-1) = [j <= t-1] bit_B(s_j) is 0/1 and a_{p,B}(t) = [x_t =
// IDX_p] bit_B(s_p) for p <= t-1. At the last step t = n+1 only the queried p
// has a nonzero answer row, so sum_p a_{p,B} = bit_B(s_p). Class c gets one
// point per bit where it agrees with s_p: b for c = s_p, at most b - 1
// otherwise. All arithmetic is on small integers, so the result is exact in any
// floating-point precision. QED.
#include "constructions/Construction.h"
#include "support/Bits.h"

#include "spec/Vocabulary.h"

#include <vector>

namespace handwire {
namespace {

int64_t bitsPerSymbol(int64_t V) { return ceilLog2(V); }

int64_t bit(int64_t c, int64_t B) { return (c >> B) & 1; }

// Where the units live (the notation block above), and how many non-zeros
// the update has.
struct Layout {
  int64_t N, V, b;
  int64_t ptr(int64_t j) const { return j - 1; }
  int64_t w(int64_t j, int64_t B) const { return N + (j - 1) * b + B; }
  int64_t slot(int64_t j, int64_t B) const {
    return N + N * b + (j - 1) * b + B;
  }
  int64_t ans(int64_t p, int64_t B) const {
    return N + 2 * N * b + (p - 1) * b + B;
  }
  int64_t units() const { return N * (1 + 3 * b); }
  // W: the pointer's N - 1 shifts, and five entries per bit of each slot
  // (w <- ptr, slot <- slot and w, ans <- slot and w).
  int64_t recurrentNonZeros() const { return N - 1 + 5 * N * b; }
  // U: a write unit for every one bit of every symbol, in each slot, and the
  // index token IDX_p into its b answer units.
  int64_t inputNonZeros() const {
    int64_t ones = 0;
    for (int64_t c = 0; c < V; ++c)
      for (int64_t B = 0; B < b; ++B)
        ones += bit(c, B);
    return N * (ones + b);
  }
  ElmanShape shape() const {
    return {static_cast<double>(units()),
            static_cast<double>(recurrentNonZeros()),
            static_cast<double>(inputNonZeros()),
            {}};
  }
};

Layout layout(const Spec &spec) {
  const int64_t V = vocabularyOf(spec.task).symbolCount;
  return {spec.task.maxLength, V, bitsPerSymbol(V)};
}

class IndexLookupRnn final : public ElmanConstruction {
public:
  const char *id() const override { return "index_lookup/rnn-pointer-memory"; }
  TaskKind task() const override { return TaskKind::IndexLookup; }
  ElmanShape shape(const Spec &spec) const override {
    return layout(spec).shape();
  }

  Network
  build(const Spec &spec, const ModelSpec &m,
        const std::function<void(const std::string &)> &) const override {
    const Vocabulary voc = vocabularyOf(spec.task);
    const Layout g = layout(spec);
    const int64_t V = g.V, N = g.N, b = g.b, H = g.units();

    Network net = networkSkeleton(spec, m, Architecture::RNN, H);
    net.blocks = {
        {"ptr", 0, N, "one-hot: the next symbol goes to slot j"},
        {"write", N, N * b, "bits of the symbol being written, for one step"},
        {"slot", N + N * b, N * b, "bits of s_j, kept"},
        {"answer", N + 2 * N * b, N * b, "bits of s_p after IDX_p"}};

    WeightTriplets W, U;
    W.reserve(static_cast<size_t>(g.recurrentNonZeros()));
    U.reserve(static_cast<size_t>(g.inputNonZeros()));
    for (int64_t j = 1; j <= N; ++j) {
      if (j < N)
        W.emplace_back(g.ptr(j + 1), g.ptr(j), 1.0f);
      for (int64_t B = 0; B < b; ++B) {
        W.emplace_back(g.w(j, B), g.ptr(j), 1.0f);
        W.emplace_back(g.slot(j, B), g.slot(j, B), 1.0f);
        W.emplace_back(g.slot(j, B), g.w(j, B), 1.0f);
        W.emplace_back(g.ans(j, B), g.slot(j, B), 1.0f);
        W.emplace_back(g.ans(j, B), g.w(j, B), 1.0f);
      }
    }
    for (int64_t c = 0; c < V; ++c)
      for (int64_t j = 1; j <= N; ++j)
        for (int64_t B = 0; B < b; ++B)
          if (bit(c, B))
            U.emplace_back(g.w(j, B), c, 1.0f);
    for (int64_t p = 1; p <= N; ++p)
      for (int64_t B = 0; B < b; ++B)
        U.emplace_back(g.ans(p, B), voc.firstIndexToken + p - 1, 1.0f);

    Vector bias = Vector::Zero(H), initial = Vector::Zero(H);
    for (int64_t j = 1; j <= N; ++j)
      for (int64_t B = 0; B < b; ++B) {
        bias(g.w(j, B)) = -1;
        bias(g.ans(j, B)) = -1;
      }
    initial(g.ptr(1)) = 1;
    net.body = elmanBody(H, voc.tokenCount, W, U, bias, initial);

    net.readout.weight = Matrix::Zero(V, H);
    net.readout.bias = Vector::Zero(V);
    for (int64_t c = 0; c < V; ++c)
      for (int64_t B = 0; B < b; ++B) {
        for (int64_t p = 1; p <= N; ++p)
          net.readout.weight(c, g.ans(p, B)) = bit(c, B) ? 1.0f : -1.0f;
        if (!bit(c, B))
          net.readout.bias(c) += 1;
      }

    net.provenance = {
        id(),
        "RNN lower bound for index lookup, state >= N log2|alphabet| bits "
        "(Bhattamishra et al. 2024), met up to a constant factor",
        "compiler/constructions/IndexLookupRNN.cpp",
        "a pointer walks over N memory slots and stores each symbol's bits; "
        "the index token reads slot p"};
    Certificate &cert = net.certificate;
    cert.readoutMargin = 1;
    cert.logitTolerance =
        0; // integer arithmetic: every backend must agree exactly
    cert.argument =
        "every unit is exactly 0 or 1 (integer pre-activations), so the "
        "network is exact in any precision; the answer's bits win by 1";
    cert.certified = true;
    return net;
  }
};

} // namespace

const Construction &indexLookupRnnConstruction() {
  static const IndexLookupRnn c;
  return c;
}

} // namespace handwire
