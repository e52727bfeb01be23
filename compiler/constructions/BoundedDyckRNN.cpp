// Bounded Dyck-(k, m) recognition with a constant-size ReLU Elman RNN, exact in
// any precision. Bhattamishra et al. (2024): recurrent models need only
// constant size here, while
// one-layer Transformers need linear size. paper-constructions.md §6.5.
//
// Task. Input b_1 .. b_n <eos> (n <= N); accept iff b is well nested over k
// bracket types with nesting depth never above m.
//
// Notation. Q = the stacks of depth <= m over k types (sum_{i<=m} k^i states,
// eps the empty stack), plus an implicit dead state; symbols a in {open_c,
// close_c, <eos>}; the DFA step delta(q, open_c) = q.c if |q| < m, delta(q,
// close_c) = q minus its top if the top is c (else dead), delta(q, <eos>) = q.
// Units (Minsky-style pair units): u_(q,a) for every state q and symbol a,
// meaning "the state before this step was q and the symbol is a"; plus START.
// H = |Q| (2k + 1) + 1.
// Update h_t = ReLU(W h_{t-1} + U e(x_t) - 1), h_0 = e(START):
//   u_(q',a')(t) = ReLU( sum_{(q,a): delta(q,a) = q'} u_(q,a)(t-1)
//                        + [q' = eps] START(t-1) + [x_t = a'] - 1 ).
// Read-out: logit(accept) = u_(eps,<eos>), logit(reject) = 1/2.
//
// Claim. At every step at most one unit is 1 and all others are 0; at the
// <eos> step, u_(eps,<eos>) = 1 iff b is in Dyck-(k, m). The margin is 1/2.
//
// Proof. By induction on t: if exactly the unit of (state after t-1 steps,
// x_{t-1}) is active (or none, once dead), the sum over delta-preimages of q'
// is 1 exactly when q' is the state after t-1 steps, else 0; adding
// [x_t = a'] - 1 and applying ReLU leaves 1 exactly at (that state, x_t). At
// t = 1 START plays the role of "the state is eps". A dead state has no unit,
// so once dead every unit stays 0. At the last step x = <eos>, so
// u_(eps,<eos>) = 1 iff the state after b is eps, i.e. b is accepted.
// Pre-activations are integers in {-1, 0, 1}: exact in any precision. QED.
#include "constructions/Construction.h"

#include "spec/Vocabulary.h"
#include "support/Diagnostics.h"

#include <map>
#include <vector>

namespace handwire {
namespace {

// States of the bounded-stack DFA: every stack of depth <= m, as vectors of
// bracket types, numbered in breadth-first order (eps = 0).
struct DyckAutomaton {
  std::vector<std::vector<int32_t>> stacks;
  std::map<std::vector<int32_t>, int64_t> index;

  DyckAutomaton(int64_t k, int64_t m) {
    stacks.push_back({});
    for (size_t i = 0; i < stacks.size(); ++i)
      if (static_cast<int64_t>(stacks[i].size()) < m)
        for (int32_t c = 0; c < k; ++c) {
          std::vector<int32_t> s = stacks[i];
          s.push_back(c);
          stacks.push_back(s);
        }
    for (size_t i = 0; i < stacks.size(); ++i)
      index[stacks[i]] = static_cast<int64_t>(i);
  }
  // Next state, or -1 for dead. Symbol 2c opens type c, 2c+1 closes it, 2k is
  // <eos>.
  int64_t step(int64_t q, int64_t symbol, int64_t k, int64_t m) const {
    std::vector<int32_t> s = stacks[q];
    if (symbol == 2 * k)
      return q;
    const int32_t type = static_cast<int32_t>(symbol / 2);
    if (symbol % 2 == 0) {
      if (static_cast<int64_t>(s.size()) == m)
        return -1;
      s.push_back(type);
    } else {
      if (s.empty() || s.back() != type)
        return -1;
      s.pop_back();
    }
    return index.at(s);
  }
};

// The sizes in the notation above, in floating point: Sema bounds the states
// only when a pair-unit model is in the spec, and Dyck-(16,16) has 16^17 of
// them (an int64_t wraps) when the memory check asks about this model as an
// alternative.
struct PairUnitLayout {
  double k, m;
  // |Q| = sum_{i<=m} k^i.
  double states() const {
    double S = 0, p = 1;
    for (int i = 0; i <= m; ++i, p *= k)
      S += p;
    return S;
  }
  double symbols() const { return 2 * k + 1; } // A
  double units() const { return states() * symbols() + 1; }
  // Live steps: <eos> from every state (|Q|), open_c from the states below
  // depth m (k sum_{i<m} k^i = |Q| - 1), close_c from the states whose top
  // is c (each non-empty stack once: |Q| - 1). Each feeds A units; START
  // feeds A more. U: one entry per unit u_(q,a).
  ElmanShape shape() const {
    const double S = states(), A = symbols();
    return {units(), A * (3 * S - 2) + A, S * A, {}};
  }
};

PairUnitLayout pairUnitLayout(const Spec &spec) {
  return {static_cast<double>(spec.task.brackets),
          static_cast<double>(spec.task.depth)};
}

class BoundedDyckRnn final : public ElmanConstruction {
public:
  const char *id() const override { return "bounded_dyck/rnn-dfa-pairs"; }
  TaskKind task() const override { return TaskKind::BoundedDyck; }
  bool accepts(const ModelSpec &m) const override {
    return m.construction.empty() || m.construction == "pair_units";
  }

  ElmanShape shape(const Spec &spec) const override {
    return pairUnitLayout(spec).shape();
  }

  Network
  build(const Spec &spec, const ModelSpec &m,
        const std::function<void(const std::string &)> &) const override {
    const Vocabulary voc = vocabularyOf(spec.task);
    const int64_t k = spec.task.brackets, depth = spec.task.depth;
    const DyckAutomaton dfa(k, depth);
    const PairUnitLayout g = pairUnitLayout(spec);
    const int64_t S = static_cast<int64_t>(g.states()),
                  A = static_cast<int64_t>(g.symbols());
    HW_ASSERT(static_cast<int64_t>(dfa.stacks.size()) == S,
              "the automaton has sum_{i<=m} k^i states");
    const int64_t H = S * A + 1, START = S * A;
    auto unit = [&](int64_t q, int64_t a) { return q * A + a; };

    Network net = networkSkeleton(spec, m, Architecture::RNN, H);
    net.blocks = {
        {"pairs", 0, S * A,
         "u_(q,a): the state before this step was stack q and the symbol is a"},
        {"start", START, 1, "1 only before the first symbol"}};

    WeightTriplets W, U;
    for (int64_t q = 0; q < S; ++q)
      for (int64_t a = 0; a < A; ++a) {
        const int64_t next = dfa.step(q, a, k, depth);
        if (next < 0)
          continue; // dead: feeds no unit
        for (int64_t a2 = 0; a2 < A; ++a2)
          W.emplace_back(unit(next, a2), unit(q, a), 1.0f);
      }
    for (int64_t a2 = 0; a2 < A; ++a2)
      W.emplace_back(unit(0, a2), START, 1.0f);
    for (int64_t q = 0; q < S; ++q)
      for (int64_t a = 0; a < A; ++a)
        U.emplace_back(unit(q, a), a, 1.0f); // token a is symbol a (<eos> = 2k)

    Vector initial = Vector::Zero(H);
    initial(START) = 1;
    net.body =
        elmanBody(H, voc.tokenCount, W, U, Vector::Constant(H, -1.0f), initial);

    net.readout.weight = Matrix::Zero(2, H);
    net.readout.weight(1, unit(0, 2 * k)) = 1; // accept: empty stack at <eos>
    net.readout.bias = Vector::Zero(2);
    net.readout.bias(0) = 0.5f; // reject unless accepted

    net.provenance = {
        id(),
        "bounded Dyck needs only constant size in an RNN (upper bound), "
        "against Omega(N) for one-layer Transformers (Bhattamishra et al. "
        "2024)",
        "compiler/constructions/BoundedDyckRNN.cpp",
        "one ReLU unit per (stack state, symbol) pair simulates the "
        "bounded-stack automaton"};
    Certificate &cert = net.certificate;
    cert.readoutMargin = 0.5;
    cert.logitTolerance = 0; // integer arithmetic
    cert.argument =
        "exactly one pair unit is 1 at each step (integer pre-activations "
        "in {-1,0,1}), so the automaton is simulated exactly in any precision";
    cert.certified = true;
    return net;
  }
};

} // namespace

const Construction &boundedDyckRnnConstruction() {
  static const BoundedDyckRnn c;
  return c;
}

} // namespace handwire
