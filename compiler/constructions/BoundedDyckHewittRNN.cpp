// Bounded Dyck-(k, m) recognition with Hewitt et al.'s O(m log k) Elman stack,
// exact in any precision: 2 m s + 4 L + 5 ReLU units, L = max(1, ceil(log2
// k)), s = 3 L - 1. Hewitt, Hahn, Ganguli, Liang, Manning (EMNLP 2020);
// codes-and-bounds.md §2.2; Bhattamishra et al. (2024): constant size (in N)
// suffices for RNNs.
//
// Task. Input b_1 .. b_n <eos> (n <= N); accept iff b is well nested over k
// bracket types with nesting depth never above m (Dyck-(k, m)).
//
// Notation. Bracket type i < k has L binary digits b(i) and the slot code
//   c(i) = [b(i); 1 - b(i); 1^(L-1)] in {0,1}^s,  s = 3 L - 1,
// so every code has 2 L - 1 ones ("slot occupied" iff non-zero). The stack is
// m slots of s units, slot 0 the top. The state h_t holds
//   PUSH, POP (m s each)  Hewitt's two halves; S = PUSH + POP is the stack
//   DET (2 L + 2)         violation detectors of the step just read:
//                         D1_l: a close whose bit l is 0 meets a top whose bit
//                               l is 1;  D0_l: the other way round;
//                         E: a close on an empty stack; F: an open on a full
//                         one
//   LATCH (2 L + 2)       LATCH_x(t) = DET_x(t-1) + LATCH_x(t-1)
//   ACC (1)               1 at <eos> iff the string is accepted
// and dead(t) = sum DET(t) + sum LATCH(t), a linear form of h_t (no unit).
// Update h_t = ReLU(W h_{t-1} + U e(x_t) + bias), h_0 = 0 (the empty stack):
//   PUSH_{0,u}   = ReLU(2 c(i)_u [x = open_i] - 2 [x not open] - 1)
//   PUSH_{j,u}   = ReLU(2 S_{j-1,u} - 2 [x not open] - 1)          j >= 1
//   POP_{j,u}    = ReLU(2 S_{j+1,u} - 2 [x not close] - 1)         (S_m = 0)
//   D1_l = ReLU(S_{0,l} + [x = close_i, b_l(i) = 0] - 1 - 2 dead)
//   D0_l = ReLU(S_{0,L+l} + [x = close_i, b_l(i) = 1] - 1 - 2 dead)
//   E    = ReLU([x close] - sum_u S_{0,u} - 2 dead)
//   F    = ReLU([x open] + sum_u S_{m-1,u} - (2 L - 1) - 2 dead)
//   LATCH_x = ReLU(LATCH_x + DET_x)
//   ACC  = ReLU([x = <eos>] - sum_u S_{0,u} - 2 dead)
// (dead and S read h_{t-1}.) Read-out: logit(accept) = ACC, logit(reject) =
// 1/2.
//
// Hewitt's stack under ReLU. Hewitt et al. use h = sigma(alpha (W h + U x -
// 1)) and need a large alpha because the sigmoid only approaches 0 and 1. On
// exact {0,1} states their pre-activations (before alpha) are exactly +1 for
// an on-unit and <= -1 for an off-unit, and ReLU maps +1 to 1 and anything
// <= 0 to 0 exactly: so ReLU reproduces their ideal states exactly, with no
// scale, in any precision.
//
// Claim. For every t: (a) every unit is exactly 0 or 1; (b) if no step <= t
// was illegal (a close that does not match the top, a close on an empty
// stack, an open on a full stack), S(t) is the stack after b_1 .. b_t, slot
// j holding c(type of the j-th open bracket from the top), dead(t) = 0;
// (c) otherwise dead(t) >= 1. At the <eos> step, ACC = 1 iff b is in
// Dyck-(k, m). The read-out margin is 1/2.
//
// Proof. Induction on t; h_0 = 0 is the empty stack.
// Stack. Exactly one half receives input at each bracket (PUSH on an open,
// POP on a close; <eos> clears both), so S(t-1) = PUSH + POP is in {0,1}^{ms}
// by (a). On an open i, PUSH_{j,u} sees 2 S_{j-1,u} - 1 (j >= 1) or 2 c(i)_u -
// 1 (j = 0), each exactly +1 or -1, and every POP unit sees 2 S - 3 <= -1: S
// is shifted down and c(i) written on top. On a close, POP_{j,u} sees 2
// S_{j+1,u} - 1 in {-1, +1} and PUSH sees <= -1: S is shifted up. Both are
// exact; they are the true stack moves when the move is legal.
// Detectors. Suppose dead(t-1) = 0, so S(t-1) is the true stack. On close i,
// D1_l fires (pre-activation exactly 1) iff the top is occupied with bit l
// = 1 while b_l(i) = 0, D0_l iff the top is occupied with bit l = 0 (its
// 1 - b part is 1) while b_l(i) = 1; otherwise they see <= 0. So some D_l
// fires iff the top holds another type. E sees 1 - 0 = 1 on an empty top
// and 1 - (2L - 1) <= 0 on an occupied one. F sees 1 on an open with slot m-1
// occupied, <= 1 - (2L-1) <= 0 with it empty, <= 0 on a non-open. So the sum
// of DET(t) is >= 1 iff step t is illegal, else every DET(t) = 0. Without the
// gate every detector's pre-activation is <= 1, so once dead(t-1) >= 1 the
// gate -2 dead makes it <= -1: DET(t) = 0.
// Latches. Let tau be the first illegal step. For t < tau all DET and LATCH
// are 0 (by the above and LATCH(0) = 0). LATCH(tau) = 0 and DET(tau) has
// some ones, so dead(tau) >= 1; for t > tau, DET(t) = 0 (gated) and
// LATCH(t) = LATCH(t-1) + DET(t-1), which is DET(tau) in {0,1}: dead stays
// >= 1 and no unit leaves {0,1}. This proves (a)-(c); values are bounded by 1
// for every N (no counter).
// Accept. At the <eos> step t = n+1, ACC sees 1 - (occupied ? 2L-1 : 0) -
// 2 dead(n): it is 1 iff no step was illegal and the stack is empty, i.e. iff
// b is in Dyck-(k, m); else 0. logit(accept) - logit(reject) = +-1/2.
// Every pre-activation is a small integer: exact in any precision. QED.
//
// Size. H = 2 m s + 4 L + 5 units, O(m log k), against the state bound
// log2(1 + sum_{i<=m} k^i) >= m log2 k bits (Hewitt et al.: Omega(m log k)).
// The code tail 1^(L-1) is Hewitt's (it makes all codes the same weight and
// gives their next-token read-out <r(i), c(j)> = 1 - Hamming(i, j)); the
// recognizer only reads the b and 1 - b parts but keeps the stack as theirs.
#include "constructions/Construction.h"
#include "support/Bits.h"

#include "spec/Vocabulary.h"

#include <algorithm>
#include <cmath>

namespace handwire {
namespace {

struct HewittLayout {
  int64_t k, m, L, s;
  int64_t push(int64_t slot, int64_t u) const { return slot * s + u; }
  int64_t pop(int64_t slot, int64_t u) const { return m * s + slot * s + u; }
  int64_t detectors() const { return 2 * L + 2; }
  int64_t det(int64_t x) const { return 2 * m * s + x; } // x < detectors()
  int64_t latch(int64_t x) const { return det(detectors()) + x; }
  int64_t acc() const { return latch(detectors()); }
  int64_t units() const { return acc() + 1; }
  // Detector ids: D1_l = l, D0_l = L + l, E = 2L, F = 2L + 1.
  int64_t d1(int64_t l) const { return l; }
  int64_t d0(int64_t l) const { return L + l; }
  int64_t empty() const { return 2 * L; }
  int64_t full() const { return 2 * L + 1; }
  // Unit u of the slot code of type i.
  int code(int64_t i, int64_t u) const {
    if (u < L)
      return static_cast<int>((i >> u) & 1);
    if (u < 2 * L)
      return 1 - static_cast<int>((i >> (u - L)) & 1);
    return 1;
  }
  // Non-zeros of the update, term by term as written below; X = 2L + 2
  // detectors, and "reading S" is two entries (PUSH and POP).
  // W: PUSH_{j>=1} and POP_{j<m-1} read S (4 s (m - 1)); D1, D0 read a top
  // unit (4L), E and F a whole slot (4s), ACC the top slot (2s); the gate
  // -2 dead on X + 1 rows (2X (X + 1)); each latch reads itself and its
  // detector (2X).
  int64_t recurrentNonZeros() const {
    const int64_t X = detectors();
    return 4 * s * (m - 1) + 4 * L + 6 * s + 2 * X * (X + 1) + 2 * X;
  }
  // U: PUSH_0 the ones of the codes (k (2L - 1)); every PUSH unit each close
  // and <eos>, every POP unit each open and <eos> (2 m s (k + 1)); each close
  // one detector bit per l (L k); E every close, F every open (2k); ACC <eos>.
  int64_t inputNonZeros() const {
    return k * (2 * L - 1) + 2 * m * s * (k + 1) + L * k + 2 * k + 1;
  }
  ElmanShape shape() const {
    return {static_cast<double>(units()),
            static_cast<double>(recurrentNonZeros()),
            static_cast<double>(inputNonZeros()),
            {}};
  }
};

HewittLayout hewittLayout(int64_t k, int64_t m) {
  const int64_t L = std::max<int64_t>(1, ceilLog2(k));
  return {k, m, L, 3 * L - 1};
}

// The update h_t = ReLU(W h_{t-1} + U e(x_t) + bias) being written.
struct HewittUpdate {
  const HewittLayout &g;
  int64_t eos;
  WeightTriplets W, U;
  Vector bias;

  static int64_t open(int64_t i) { return 2 * i; }
  static int64_t close(int64_t i) { return 2 * i + 1; }
  // The stack S_{j,u} = PUSH_{j,u} + POP_{j,u}: a unit reading S reads both.
  void fromStack(int64_t row, int64_t slot, int64_t u, float w) {
    W.emplace_back(row, g.push(slot, u), w);
    W.emplace_back(row, g.pop(slot, u), w);
  }
  // -2 dead(t-1): every detector and latch.
  void gate(int64_t row) {
    for (int64_t x = 0; x < g.detectors(); ++x) {
      W.emplace_back(row, g.det(x), -2.0f);
      W.emplace_back(row, g.latch(x), -2.0f);
    }
  }
};

// Hewitt's stack: push shifts down and writes c(i) on top, pop shifts up;
// the half that does not move gets -2; <eos> clears both. Bias -1.
void writeStack(HewittUpdate &f) {
  const HewittLayout &g = f.g;
  for (int64_t j = 0; j < g.m; ++j)
    for (int64_t u = 0; u < g.s; ++u) {
      const int64_t pu = g.push(j, u), po = g.pop(j, u);
      f.bias(pu) = f.bias(po) = -1;
      if (j >= 1)
        f.fromStack(pu, j - 1, u, 2.0f);
      if (j + 1 < g.m)
        f.fromStack(po, j + 1, u, 2.0f);
      for (int64_t i = 0; i < g.k; ++i) {
        if (j == 0 && g.code(i, u))
          f.U.emplace_back(pu, f.open(i), 2.0f);
        f.U.emplace_back(pu, f.close(i), -2.0f);
        f.U.emplace_back(po, f.open(i), -2.0f);
      }
      f.U.emplace_back(pu, f.eos, -2.0f);
      f.U.emplace_back(po, f.eos, -2.0f);
    }
}

// Detectors, gated by dead(t-1).
void writeDetectors(HewittUpdate &f) {
  const HewittLayout &g = f.g;
  const int64_t L = g.L;
  for (int64_t l = 0; l < L; ++l) {
    const int64_t d1 = g.det(g.d1(l)), d0 = g.det(g.d0(l));
    f.fromStack(d1, 0, l, 1.0f);     // top's bit l is 1
    f.fromStack(d0, 0, L + l, 1.0f); // top occupied, bit l is 0
    f.bias(d1) = f.bias(d0) = -1;
    for (int64_t i = 0; i < g.k; ++i)
      f.U.emplace_back(((i >> l) & 1) ? d0 : d1, f.close(i), 1.0f);
  }
  const int64_t E = g.det(g.empty()), F = g.det(g.full());
  for (int64_t u = 0; u < g.s; ++u) {
    f.fromStack(E, 0, u, -1.0f);
    f.fromStack(F, g.m - 1, u, 1.0f);
  }
  f.bias(F) = -static_cast<float>(2 * L - 1);
  for (int64_t i = 0; i < g.k; ++i) {
    f.U.emplace_back(E, f.close(i), 1.0f);
    f.U.emplace_back(F, f.open(i), 1.0f);
  }
  for (int64_t x = 0; x < g.detectors(); ++x)
    f.gate(g.det(x));
}

// Latches: LATCH_x(t) = LATCH_x(t-1) + DET_x(t-1). Accept at <eos>: empty
// stack and nothing illegal before.
void writeLatchesAndAccept(HewittUpdate &f) {
  const HewittLayout &g = f.g;
  for (int64_t x = 0; x < g.detectors(); ++x) {
    f.W.emplace_back(g.latch(x), g.latch(x), 1.0f);
    f.W.emplace_back(g.latch(x), g.det(x), 1.0f);
  }
  for (int64_t u = 0; u < g.s; ++u)
    f.fromStack(g.acc(), 0, u, -1.0f);
  f.gate(g.acc());
  f.U.emplace_back(g.acc(), f.eos, 1.0f);
}

class BoundedDyckHewittRnn final : public ElmanConstruction {
public:
  const char *id() const override { return "bounded_dyck/rnn-hewitt-stack"; }
  TaskKind task() const override { return TaskKind::BoundedDyck; }
  std::string requirement() const override {
    return "rnn with construction = hewitt";
  }
  std::string variant() const override { return "hewitt"; }
  bool accepts(const ModelSpec &m) const override {
    return m.construction == "hewitt";
  }

  ElmanShape shape(const Spec &spec) const override {
    return hewittLayout(spec.task.brackets, spec.task.depth).shape();
  }

  Network
  build(const Spec &spec, const ModelSpec &model,
        const std::function<void(const std::string &)> &) const override {
    const Vocabulary voc = vocabularyOf(spec.task);
    const HewittLayout g = hewittLayout(spec.task.brackets, spec.task.depth);
    const int64_t m = g.m, s = g.s, H = g.units();

    Network net = networkSkeleton(spec, model, Architecture::RNN, H);
    net.blocks = {
        {"push", 0, m * s, "Hewitt's push half: m slots of s units"},
        {"pop", m * s, m * s,
         "Hewitt's pop half; the stack is push + pop, slot 0 the top"},
        {"detect", g.det(0), g.detectors(),
         "D1_l, D0_l (top and close differ in bit l), E (close on empty), F "
         "(open on full): 1 at the first illegal step"},
        {"latch", g.latch(0), g.detectors(),
         "each detector's value from the first illegal step on"},
        {"accept", g.acc(), 1, "1 at <eos> iff the string is accepted"}};

    HewittUpdate f{g, voc.endToken, {}, {}, Vector::Zero(H)};
    writeStack(f);
    writeDetectors(f);
    writeLatchesAndAccept(f);
    net.body = elmanBody(H, voc.tokenCount, f.W, f.U, f.bias, Vector::Zero(H));
    net.readout.weight = Matrix::Zero(2, H);
    net.readout.weight(1, g.acc()) = 1;
    net.readout.bias = Vector::Zero(2);
    net.readout.bias(0) = 0.5f;

    net.provenance = {
        id(),
        "Hewitt et al. 2020: Dyck-(k,m) in O(m log k) Elman units, against "
        "Omega(m log k) bits for any recognizer; constant size in N for "
        "RNNs (Bhattamishra et al. 2024)",
        "compiler/constructions/BoundedDyckHewittRNN.cpp",
        "Hewitt's push/pop slot stack (binary slot codes) with ReLU, plus a "
        "violation latch and an empty-stack check at <eos>"};
    Certificate &cert = net.certificate;
    cert.readoutMargin = 0.5;
    cert.logitTolerance = 0; // integer arithmetic
    cert.argument =
        "every pre-activation is an integer, +1 for an on-unit and <= 0 "
        "otherwise, so every unit is exactly 0 or 1 in any precision; the "
        "stack moves are exact on legal steps and the first illegal step "
        "latches for good";
    cert.certified = true;
    return net;
  }
};

} // namespace

const Construction &boundedDyckHewittRnnConstruction() {
  static const BoundedDyckHewittRnn c;
  return c;
}

} // namespace handwire
