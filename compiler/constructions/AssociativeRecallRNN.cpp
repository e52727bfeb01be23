// Associative recall with a ReLU Elman RNN whose state is a table indexed by
// key. Meets the RNN lower bound (state bits >= min(N, K) log2|alphabet|,
// one-way INDEX) up to a constant factor when K <= N; with more keys than
// pairs the table is K / N times larger than the bound.
//
// Task. Input p_1 .. p_n ?q, each p_i = (k_i, v_i) with distinct keys and q
// one of them; output the value v_i with k_i = q (tasks/AssociativeRecallTask).
//
// Notation. V = |alphabet|, b = ceil(log2 V) bits per value, bit_B(v) the B-th
// bit of v. Units (H = 2 K b):
//   slot_{k,B}   bit B of the value stored under key k, kept
//   a_{k,B}      bit B of that value, after ?k was read
// Update h_t = ReLU(W h_{t-1} + U e(x_t) + bias), h_0 = 0:
//   slot_{k,B}(t) = ReLU(slot_{k,B}(t-1) + [x_t = (k, v), bit_B(v) = 1])
//   a_{k,B}(t)    = ReLU(slot_{k,B}(t-1) + [x_t = ?k] - 1)
// Read-out: logit_c = sum_B (2 bit_B(c) - 1) sum_k a_{k,B} + #{B : bit_B(c)
// = 0}.
//
// Claim. Every unit is exactly 0 or 1 at every step, and the read-out gives
// the answer a logit of b and every other class at most b - 1.
//
// Proof. Keys are distinct, so each slot row is written at most once:
// slot_{k,B}(t) = bit_B(v_k) once the pair of key k was read, else 0. The
// answer units see slot + [x_t = ?k] - 1, which is 1 only at the query token
// for k = q with bit_B(v_q) = 1, and <= 0 everywhere else. At the last step,
// sum_k a_{k,B} = bit_B(v_q); class c gets one point per bit on which it
// agrees with v_q: b for c = v_q, at most b - 1 otherwise. Small integers
// throughout, so exact in any precision. QED.
#include "constructions/Construction.h"
#include "support/Bits.h"

#include "spec/Vocabulary.h"

namespace handwire {
namespace {

int64_t valueBits(int64_t V) { return ceilLog2(V); }

// Values v < V with bit B set: the pair tokens that write slot bit B.
int64_t valuesWithBit(int64_t V, int64_t B) {
  int64_t count = 0;
  for (int64_t v = 0; v < V; ++v)
    count += (v >> B) & 1;
  return count;
}

class AssociativeRecallRnn final : public ElmanConstruction {
public:
  const char *id() const override { return "associative_recall/rnn-key-table"; }
  TaskKind task() const override { return TaskKind::AssociativeRecall; }

  // H = 2 K b units; recurrent: slot -> slot and slot -> answer per (k, B);
  // input: one query entry per answer unit, and per slot unit one entry for
  // each value with that bit set.
  ElmanShape shape(const Spec &spec) const override {
    const int64_t V = vocabularyOf(spec.task).classCount, b = valueBits(V);
    const double K = static_cast<double>(spec.task.keys);
    double slotInputs = 0;
    for (int64_t B = 0; B < b; ++B)
      slotInputs += static_cast<double>(valuesWithBit(V, B));
    ElmanShape shape;
    shape.units = 2 * K * static_cast<double>(b);
    shape.recurrentNonZeros = 2 * K * static_cast<double>(b);
    shape.inputNonZeros = K * static_cast<double>(b) + K * slotInputs;
    return shape;
  }

  Network
  build(const Spec &spec, const ModelSpec &m,
        const std::function<void(const std::string &)> &) const override {
    const Vocabulary voc = vocabularyOf(spec.task);
    const int64_t V = voc.classCount, K = spec.task.keys, b = valueBits(V);
    const int64_t H = 2 * K * b;
    auto slot = [&](int64_t k, int64_t B) { return k * b + B; };
    auto answer = [&](int64_t k, int64_t B) { return K * b + k * b + B; };
    auto bit = [](int64_t v, int64_t B) { return (v >> B) & 1; };

    Network net = networkSkeleton(spec, m, Architecture::RNN, H);
    net.blocks = {{"slot", 0, K * b, "bits of the value stored under key k"},
                  {"answer", K * b, K * b, "bits of that value after ?k"}};

    WeightTriplets W, U;
    Vector bias = Vector::Zero(H);
    for (int64_t k = 0; k < K; ++k)
      for (int64_t B = 0; B < b; ++B) {
        W.emplace_back(slot(k, B), slot(k, B), 1.0f);
        W.emplace_back(answer(k, B), slot(k, B), 1.0f);
        U.emplace_back(answer(k, B), voc.firstIndexToken + k, 1.0f);
        bias(answer(k, B)) = -1;
        for (int64_t v = 0; v < V; ++v)
          if (bit(v, B))
            U.emplace_back(slot(k, B), k * V + v, 1.0f);
      }
    net.body = elmanBody(H, voc.tokenCount, W, U, bias, Vector::Zero(H));

    // Each class scores +1 per answer bit it has and -1 per answer bit it
    // lacks, plus 1 per bit it lacks.
    net.readout.weight = Matrix::Zero(V, H);
    net.readout.bias = Vector::Zero(V);
    for (int64_t c = 0; c < V; ++c)
      for (int64_t B = 0; B < b; ++B) {
        for (int64_t k = 0; k < K; ++k)
          net.readout.weight(c, answer(k, B)) = bit(c, B) ? 1.0f : -1.0f;
        net.readout.bias(c) += bit(c, B) ? 0 : 1;
      }

    net.provenance = {id(),
                      "one-way INDEX lower bound (state >= min(N, K) "
                      "log2|alphabet| bits), met up to a constant factor "
                      "for K <= N",
                      "compiler/constructions/AssociativeRecallRNN.cpp",
                      "a table of K value slots; each pair writes its value's "
                      "bits under its key, the query reads its key's slot"};
    Certificate &cert = net.certificate;
    cert.readoutMargin = 1;
    cert.logitTolerance = 0; // integer arithmetic: backends agree exactly
    cert.argument = "every unit is exactly 0 or 1 (integer pre-activations, "
                    "each slot written once), so the network is exact in any "
                    "precision; the answer's bits win by 1";
    cert.certified = true;
    return net;
  }
};

} // namespace

const Construction &associativeRecallRnnConstruction() {
  static const AssociativeRecallRnn c;
  return c;
}

} // namespace handwire
