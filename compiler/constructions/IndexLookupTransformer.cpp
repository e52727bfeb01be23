// Index lookup with a one-layer, one-head Transformer of width O(|alphabet| +
// log N). B24 Theorem 1 (upper bound); weights as in paper-constructions.md
// §6.1.
//
// Task. Input s_1 .. s_n IDX_p with 1 <= p <= n <= N; output s_p.
//
// Notation. V = |alphabet|; T(1) .. T(N+1) a sign code in R^k (unit vectors,
// <T(i),T(j)> <= mu for i != j, measured exactly); gap g = 1 - mu; eta the
// softmax scale; delta the leakage the read-out margin allows.
//
// Residual stream, D = V + 2k + 1:
//   S [0, V)          one-hot data symbol
//   K [V, V+k)        key code: T(i) at position i
//   Q [V+k, V+2k)     query code: T(p) at the index token IDX_p
//   F  V+2k           flag "this is the index token"
//
// Claim. With eta >= [ln N + ln((1-delta)/delta)] / g the read-out is exact on
// every input, with logit margin >= 1 - 2 delta.
//
// Proof. At the last position (the index token) the query is eta T(p); key j is
// T(j). The target j = p scores eta; every other key, data or the index
// token's own T(n+1), scores <= eta mu = eta - eta g. There are n <= N
// competitors, so by the softmax fact (SoftmaxScale.h) the target gets weight
// >= 1 - delta. Values are the S block: e(s_j) at data positions, 0 at the
// index token. The head output o = sum_j a_j v_j thus has o[s_p] >= 1 - delta
// and o[c] <= delta for c != s_p; it is written into S, which is 0 at the index
// token, and the read-out is S itself. So logit(s_p) - logit(c) >= 1 - 2 delta.
// QED.
#include "constructions/Construction.h"

#include "codes/NearOrthogonalCode.h"
#include "constructions/SoftmaxScale.h"
#include "spec/Vocabulary.h"
#include "support/Diagnostics.h"

namespace handwire {
namespace {

// The residual layout for code width k (the notation block above).
struct Layout {
  int64_t V, k;
  int64_t S() const { return 0; }
  int64_t K() const { return V; }
  int64_t Q() const { return V + k; }
  int64_t F() const { return V + 2 * k; }
  int64_t width() const { return V + 2 * k + 1; }
  // One layer, one head (query and key k rows, value V rows), no MLP.
  DenseTransformerShape shape() const {
    const DenseLayerShape lookup{{DenseHeadShape{k, V}}, std::nullopt};
    return {width(), {lookup}};
  }
};

Layout layout(const Spec &spec, int64_t codeWidth) {
  return {vocabularyOf(spec.task).symbolCount, codeWidth};
}

class IndexLookupTransformer final
    : public TransformerOfDepth<1, CodedDenseTransformer> {
public:
  const char *id() const override { return "index_lookup/transformer-1layer"; }
  TaskKind task() const override { return TaskKind::IndexLookup; }

  DenseTransformerShape shape(const Spec &spec,
                              int64_t codeWidth) const override {
    return layout(spec, codeWidth).shape();
  }
  // The position code (codeRequest): each query selects one key, so a
  // one-sided code for positions 1 .. N+1.

  Network build(
      const Spec &spec, const ModelSpec &m,
      const std::function<void(const std::string &)> &progress) const override {
    const Vocabulary voc = vocabularyOf(spec.task);
    const int64_t N = spec.task.maxLength;

    // Codes for positions 1 .. N+1 (codeword i-1 is position i).
    Code code = makeCode(codeRequest(spec, m), progress);
    const Layout g = layout(spec, code.certificate.dim);
    const int64_t V = g.V, k = g.k, S = g.S(), K = g.K(), Q = g.Q(), F = g.F();

    Network net = denseTransformerSkeleton(spec, m, g.shape());
    net.blocks = {
        {"S", S, V, "one-hot data symbol; the head writes its answer here"},
        {"K", K, k, "key code T(i) of position i"},
        {"Q", Q, k, "query code T(p) of the index token IDX_p"},
        {"F", F, 1, "1 at the index token"}};

    // Scale from the measured one-sided gap and the read-out margin.
    const double gap = 1.0 - code.certificate.maxInnerProduct;
    const int64_t competitors = N; // at most n <= N keys besides the target
    const HeadCertificate head = certifyCopyHead(
        m, gap, competitors, leakageForReadoutMargin(m.margin), k, net.width);
    const double eta = head.scale;

    TransformerBody &body = std::get<TransformerBody>(net.body);
    // Embeddings: data symbol c -> e_c in S; IDX_p -> T(p) in Q and 1 in F;
    // position i (0-based row i-1) -> T(i) in K.
    for (int64_t c = 0; c < V; ++c)
      body.embed.token(c, S + c) = 1;
    for (int64_t p = 1; p <= N; ++p) {
      const int64_t t = voc.firstIndexToken + p - 1;
      code.vectors.writeRow(p - 1, 1.0f, &body.embed.token(t, Q));
      body.embed.token(t, F) = 1;
    }
    for (int64_t i = 1; i <= voc.maxSequenceLength; ++i)
      code.vectors.writeRow(i - 1, 1.0f, &body.embed.position(i - 1, K));

    // The head: query eta * Q block, key K block, value S block, output into
    // S; the read-out reads S.
    wireCopyHead(net, {S, V, K, Q, k, eta});

    net.provenance = {
        id(),
        "Bhattamishra et al. 2024, Theorem 1: one-layer Transformer for "
        "index lookup, width O(log N) (upper bound)",
        "compiler/constructions/IndexLookupTransformer.cpp",
        "query code T(p) at the index token attends to key code T(p) of "
        "position p and copies its one-hot symbol"};
    recordCopyHead(
        net, code.certificate, head,
        "softmax selection: target weight >= 1 - leakage, so the copied "
        "one-hot symbol leads every other class by the read-out margin");
    return net;
  }
};

} // namespace

const Construction &indexLookupTransformerConstruction() {
  static const IndexLookupTransformer c;
  return c;
}

} // namespace handwire
