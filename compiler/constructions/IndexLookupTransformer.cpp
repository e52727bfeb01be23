// Index lookup with a one-layer, one-head Transformer of width O(|alphabet| +
// log N). Bhattamishra et al. 2024, Theorem 1 (upper bound); weights as in
// paper-constructions.md §6.1.
//
// Task. Input s_1 .. s_n IDX_p with 1 <= p <= n <= N; output s_p.
//
// Notation. V = |alphabet|; T(1) .. T(N) a sign code in R^k (unit vectors,
// <T(i),T(j)> <= mu for i != j, measured exactly); gap g = 1 - max(mu, 0);
// eta the softmax scale; delta the leakage the read-out margin allows.
//
// Residual stream, D = V + 2k + 1:
//   S [0, V)          one-hot data symbol
//   K [V, V+k)        key code: T(i) at position i <= N, 0 at position N+1
//   Q [V+k, V+2k)     query code: T(p) at the index token IDX_p
//   F  V+2k           flag "this is the index token"
//
// Claim. With eta >= [ln N + ln((1-delta)/delta)] / g the read-out is exact on
// every input, with logit margin >= 1 - 2 delta.
//
// Proof. At the last position (the index token, at position n+1) the query is
// eta T(p); the key at position j <= N is T(j), at N+1 it is 0. The target
// j = p scores eta. Every other data key scores <= eta mu. The index token's
// own key is T(n+1) if n < N, another codeword since p <= n (<= eta mu), and
// 0 if n = N (score 0 = eta - eta). So every competitor trails by
// >= eta (1 - max(mu, 0)) = eta g. There are n <= N of them, so by the
// softmax fact (SoftmaxScale.h) the target gets weight >= 1 - delta. Values
// are the S block: e(s_j) at data positions, 0 at the index token. The head
// output o = sum_j a_j v_j thus has o[s_p] >= 1 - delta and o[c] <= delta for
// c != s_p; it is written into S, which is 0 at the index token, and the
// read-out is S itself. So logit(s_p) - logit(c) >= 1 - 2 delta. QED.
//
// Why N codewords and not N+1. Position N+1 only ever holds the index token
// (inputs have at most N symbols), and the query there never asks for it
// (p <= N). Its key must only lose to the target, which a zero key does
// (score 0 against eta). A codeword of its own would make the code N+1 words
// long, and for a linear code at N = 2^m that is one more generator, which
// can take the next, wider member of the family: code = auto at N = 65536
// gave 64 dims at coherence 1/2 and 128 at 1/4 (now 32 and 64), at N = 4096
// and coherence 0.84 32 (now the 12-bit binary code), at N = 1024 and 0.8 16
// (now 10) (docs/codes.md).
#include "constructions/Construction.h"

#include "codes/NearOrthogonalCode.h"
#include "constructions/SoftmaxScale.h"
#include "spec/Vocabulary.h"
#include "support/Diagnostics.h"

#include <algorithm>

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
  // The position code: each query selects one key, so a one-sided code for
  // positions 1 .. N (position N+1 gets the zero key; see the proof).
  CodeRequest codeRequest(const Spec &spec, const ModelSpec &m) const override {
    return positionCodeRequest(m, spec.task.maxLength, Sidedness::OneSided);
  }

  Network build(
      const Spec &spec, const ModelSpec &m,
      const std::function<void(const std::string &)> &progress) const override {
    const Vocabulary voc = vocabularyOf(spec.task);
    const int64_t N = spec.task.maxLength;

    // Codes for positions 1 .. N (codeword i-1 is position i).
    Code code = makeCode(codeRequest(spec, m), progress);
    const Layout g = layout(spec, code.certificate.dim);
    const int64_t V = g.V, k = g.k, S = g.S(), K = g.K(), Q = g.Q(), F = g.F();

    Network net = denseTransformerSkeleton(spec, m, g.shape());
    net.blocks = {
        {"S", S, V, "one-hot data symbol; the head writes its answer here"},
        {"K", K, k, "key code T(i) of position i <= N; 0 at N+1"},
        {"Q", Q, k, "query code T(p) of the index token IDX_p"},
        {"F", F, 1, "1 at the index token"}};

    // Scale from the measured one-sided gap and the read-out margin; the zero
    // key at position N+1 scores 0, so the gap is at most 1.
    const double gap = 1.0 - std::max(code.certificate.maxInnerProduct, 0.0);
    const int64_t competitors = N; // at most n <= N keys besides the target
    const HeadCertificate head = certifyCopyHead(
        m, gap, competitors, leakageForReadoutMargin(m.margin), k, net.width);
    const double eta = head.scale;

    TransformerBody &body = std::get<TransformerBody>(net.body);
    // Embeddings: data symbol c -> e_c in S; IDX_p -> T(p) in Q and 1 in F;
    // position i <= N (0-based row i-1) -> T(i) in K; position N+1 (row N,
    // only ever the index token's) keeps a zero K block.
    for (int64_t c = 0; c < V; ++c)
      body.embed.token(c, S + c) = 1;
    for (int64_t p = 1; p <= N; ++p) {
      const int64_t t = voc.firstIndexToken + p - 1;
      code.vectors.writeRow(p - 1, 1.0f, &body.embed.token(t, Q));
      body.embed.token(t, F) = 1;
    }
    for (int64_t i = 1; i <= N; ++i)
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
