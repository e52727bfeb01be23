// Associative recall with a one-layer, one-head Transformer of width
// O(|alphabet| + log K): index lookup's construction (Bhattamishra et al. 2024,
// Theorem 1) with the code on the keys instead of the positions.
//
// Task. Input p_1 .. p_n ?q, each p_i = (k_i, v_i) one token, keys distinct,
// q one of them; output v_i with k_i = q (tasks/AssociativeRecallTask).
//
// Notation. V = |alphabet|; T(0) .. T(K-1) a sign code in R^k over the keys
// (unit vectors, <T(a), T(b)> <= mu for a != b, measured exactly); gap
// g = 1 - max(mu, 0); eta the softmax scale; delta the leakage the read-out
// margin allows.
//
// Residual stream, D = V + 2k + 1 (no position embedding: nothing depends on
// where a pair is):
//   S [0, V)          one-hot value of a pair token
//   K [V, V+k)        key code T(k) of a pair token (k, v)
//   Q [V+k, V+2k)     query code T(q) at the query token ?q
//   F  V+2k           flag "this is the query token"
//
// Claim. With eta >= [ln min(N, K) + ln((1-delta)/delta)] / g the read-out is
// exact on every input, with logit margin >= 1 - 2 delta.
//
// Proof. At the last position the query is eta T(q). The pair with key q
// scores eta; every other pair scores eta <T(q), T(k_i)> <= eta mu, and the
// query token itself (K block 0) scores 0; so each of the n <= min(N, K)
// competitors trails by >= eta g, and by the softmax fact (SoftmaxScale.h)
// the target gets weight >= 1 - delta. Values are the S block: e(v_i) at
// pairs, 0 at the query token. The head output, written into S (0 at the
// query token) and read out from there, gives v_q >= 1 - delta and every other
// class <= delta. QED.
#include "constructions/Construction.h"

#include "codes/NearOrthogonalCode.h"
#include "constructions/SoftmaxScale.h"
#include "spec/Vocabulary.h"

#include <algorithm>
#include <cmath>

namespace handwire {
namespace {

class AssociativeRecallTransformer final
    : public TransformerOfDepth<1, CodedDenseTransformer> {
public:
  const char *id() const override {
    return "associative_recall/transformer-1layer";
  }
  TaskKind task() const override { return TaskKind::AssociativeRecall; }

  // One layer, one head (query and key k rows, value V rows), no MLP; the
  // embedding tables are (tokens, D) and (positions, D) with D = V + 2k + 1.
  DenseTransformerShape shape(const Spec &spec,
                              int64_t codeWidth) const override {
    const int64_t V = vocabularyOf(spec.task).classCount;
    const DenseLayerShape lookup{{DenseHeadShape{codeWidth, V}}, std::nullopt};
    return {V + 2 * codeWidth + 1, {lookup}};
  }
  // Each query selects one key: a one-sided code over the K keys.
  CodeRequest codeRequest(const Spec &spec, const ModelSpec &m) const override {
    return positionCodeRequest(m, spec.task.keys, Sidedness::OneSided);
  }

  Network build(
      const Spec &spec, const ModelSpec &m,
      const std::function<void(const std::string &)> &progress) const override {
    const Vocabulary voc = vocabularyOf(spec.task);
    const int64_t V = voc.classCount, K = spec.task.keys;
    Code code = makeCode(codeRequest(spec, m), progress);
    const int64_t k = code.certificate.dim;
    const int64_t S = 0, Kc = V, Q = V + k, F = V + 2 * k;

    Network net = denseTransformerSkeleton(spec, m, shape(spec, k));
    net.blocks = {
        {"S", S, V, "one-hot value of a pair; the head writes its answer here"},
        {"K", Kc, k, "key code T(k) of a pair (k, v)"},
        {"Q", Q, k, "query code T(q) of the query ?q"},
        {"F", F, 1, "1 at the query token"}};

    const double gap = 1.0 - std::max(code.certificate.maxInnerProduct, 0.0);
    const int64_t competitors = std::min(spec.task.maxLength, K);
    const HeadCertificate head = certifyCopyHead(
        m, gap, competitors, leakageForReadoutMargin(m.margin), k, net.width);
    const double eta = head.scale;

    // Embeddings: pair (key, v) -> e_v in S and T(key) in K; ?key -> T(key)
    // in Q and 1 in F; positions stay zero.
    TransformerBody &body = std::get<TransformerBody>(net.body);
    for (int64_t key = 0; key < K; ++key) {
      for (int64_t v = 0; v < V; ++v) {
        body.embed.token(key * V + v, S + v) = 1;
        code.vectors.writeRow(key, 1.0f, &body.embed.token(key * V + v, Kc));
      }
      const int64_t query = voc.firstIndexToken + key;
      code.vectors.writeRow(key, 1.0f, &body.embed.token(query, Q));
      body.embed.token(query, F) = 1;
    }
    wireCopyHead(net, {S, V, Kc, Q, k, eta});

    net.provenance = {
        id(),
        "the index-lookup construction of Bhattamishra et al. 2024, Theorem "
        "1 (one layer, width O(log N)), keyed by content",
        "compiler/constructions/AssociativeRecallTransformer.cpp",
        "query code T(q) at ?q attends to the pair whose key code is T(q) "
        "and copies its one-hot value"};
    recordCopyHead(
        net, code.certificate, head,
        "softmax selection over the keys: target weight >= 1 - leakage, so "
        "the copied one-hot value leads every other class by the read-out "
        "margin");
    return net;
  }
};

} // namespace

const Construction &associativeRecallTransformerConstruction() {
  static const AssociativeRecallTransformer c;
  return c;
}

} // namespace handwire
