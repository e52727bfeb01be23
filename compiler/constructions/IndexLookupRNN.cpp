// Index lookup with a ReLU Elman RNN whose state holds the whole sequence.
// Meets the RNN lower bound (Bhattamishra et al. 2024: any recurrent model
// needs >= N log2|alphabet| state bits) up to the factor (1 + 2b) / b, with
// b = ceil(log2 V): 2.5 at V = 4 (paper-constructions.md §6.6).
//
// Task. Input s_1 .. s_n IDX_p with 1 <= p <= n <= N; output s_p.
//
// Notation. bit_B(c) is the B-th bit of symbol c's index (bit_B(IDX) = 0),
// [.] an indicator. Units, H = N (1 + 2b):
//   ptr_j        1 <= j <= N, "the next symbol goes to slot j"
//   gate_{j,B}   bit B of the symbol being written to slot j, for one step;
//                after IDX_p, bit B of s_p (the write buffer and the answer
//                are one unit: they are never needed at the same step)
//   slot_{j,B}   bit B of s_j, kept
// Update h_t = ReLU(W h_{t-1} + U e(x_t) + bias), h_0 = e(ptr_1):
//   ptr_{j+1}(t)   = ReLU(ptr_j(t-1))
//   gate_{j,B}(t)  = ReLU(2 ptr_j(t-1) + slot_{j,B}(t-1) + gate_{j,B}(t-1)
//                         + bit_B(x_t) + 2 [x_t = IDX_j] - 2)
//   slot_{j,B}(t)  = ReLU(slot_{j,B}(t-1) + gate_{j,B}(t-1))
// Read-out: logit_c = sum_B (2 bit_B(c) - 1) sum_j gate_{j,B}
//                     + #{B : bit_B(c) = 0}.
//
// Claim. Every unit is exactly 0 or 1 at every step, and the read-out gives
// s_p a logit of b and every other class at most b - 1.
//
// Proof. By induction on t <= n: ptr_j(t) = [j = t+1], gate_{j,B}(t) =
// [j = t] bit_B(s_t) and slot_{j,B}(t) = [j <= t-1] bit_B(s_j). So
// m = slot(t-1) + gate(t-1) = [j <= t-1] bit_B(s_j) is 0/1 (the two
// indicators are disjoint), hence slot(t) = m, and the gate's pre-activation
// at a symbol step is bit_B(s_t) for j = t (where m = 0 and ptr = 1) and
// m + bit - 2 <= 0 elsewhere. At the last step t = n+1, x_t = IDX_p and
// m = [j <= n] bit_B(s_j): the pre-activation is bit_B(s_p) for j = p, 0 for
// j = n+1 (ptr = 1, m = 0) and m - 2 < 0 otherwise. So sum_j gate_{j,B} =
// bit_B(s_p), and class c gets one point per bit where it agrees with s_p:
// b for c = s_p, at most b - 1 otherwise. All arithmetic is on small
// integers, so the result is exact in any floating-point precision. QED.
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
  int64_t gate(int64_t j, int64_t B) const { return N + (j - 1) * b + B; }
  int64_t slot(int64_t j, int64_t B) const {
    return N + N * b + (j - 1) * b + B;
  }
  int64_t units() const { return N * (1 + 2 * b); }
  // W: the pointer's N - 1 shifts, and five entries per bit of each slot
  // (gate <- ptr, slot and gate; slot <- slot and gate).
  int64_t recurrentNonZeros() const { return N - 1 + 5 * N * b; }
  // U: a gate for every one bit of every symbol, in each slot, and the index
  // token IDX_p into its b gates.
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
        {"gate", N, N * b,
         "bits of the symbol being written, for one step; after IDX_p, the "
         "bits of s_p"},
        {"slot", N + N * b, N * b, "bits of s_j, kept"}};

    WeightTriplets W, U;
    W.reserve(static_cast<size_t>(g.recurrentNonZeros()));
    U.reserve(static_cast<size_t>(g.inputNonZeros()));
    for (int64_t j = 1; j <= N; ++j) {
      if (j < N)
        W.emplace_back(g.ptr(j + 1), g.ptr(j), 1.0f);
      for (int64_t B = 0; B < b; ++B) {
        W.emplace_back(g.gate(j, B), g.ptr(j), 2.0f);
        W.emplace_back(g.gate(j, B), g.slot(j, B), 1.0f);
        W.emplace_back(g.gate(j, B), g.gate(j, B), 1.0f);
        W.emplace_back(g.slot(j, B), g.slot(j, B), 1.0f);
        W.emplace_back(g.slot(j, B), g.gate(j, B), 1.0f);
      }
    }
    for (int64_t c = 0; c < V; ++c)
      for (int64_t j = 1; j <= N; ++j)
        for (int64_t B = 0; B < b; ++B)
          if (bit(c, B))
            U.emplace_back(g.gate(j, B), c, 1.0f);
    for (int64_t p = 1; p <= N; ++p)
      for (int64_t B = 0; B < b; ++B)
        U.emplace_back(g.gate(p, B), voc.firstIndexToken + p - 1, 2.0f);

    Vector bias = Vector::Zero(H), initial = Vector::Zero(H);
    for (int64_t j = 1; j <= N; ++j)
      for (int64_t B = 0; B < b; ++B)
        bias(g.gate(j, B)) = -2;
    initial(g.ptr(1)) = 1;
    net.body = elmanBody(H, voc.tokenCount, W, U, bias, initial);

    net.readout.weight = Matrix::Zero(V, H);
    net.readout.bias = Vector::Zero(V);
    for (int64_t c = 0; c < V; ++c)
      for (int64_t B = 0; B < b; ++B) {
        for (int64_t j = 1; j <= N; ++j)
          net.readout.weight(c, g.gate(j, B)) = bit(c, B) ? 1.0f : -1.0f;
        if (!bit(c, B))
          net.readout.bias(c) += 1;
      }

    net.provenance = {
        id(),
        "RNN lower bound for index lookup, state >= N log2|alphabet| bits "
        "(Bhattamishra et al. 2024), met up to a constant factor",
        "compiler/constructions/IndexLookupRNN.cpp",
        "a pointer walks over N memory slots and stores each symbol's bits; "
        "the index token reads slot p through the same gates that wrote it"};
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
