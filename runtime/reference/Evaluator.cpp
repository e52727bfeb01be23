#include "reference/Evaluator.h"

#include "support/Diagnostics.h"

#include <cmath>

namespace handwire {
namespace {

template <typename Scalar>
using Mat =
    Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
template <typename Scalar> using Vec = Eigen::Matrix<Scalar, Eigen::Dynamic, 1>;

// Where a 16-bit forward pass stores a value; null: keep the Scalar.
using Rounding = float (*)(float);
template <typename Derived>
void store(Eigen::MatrixBase<Derived> &&m, Rounding round) {
  using Scalar = typename Derived::Scalar;
  if (round)
    m = m.unaryExpr([round](Scalar x) { return Scalar(round(float(x))); });
}
template <typename Derived>
void store(Eigen::MatrixBase<Derived> &m, Rounding round) {
  store(std::move(m), round);
}

// One attention head + residual update for rows [first, M) of X.
template <typename Scalar>
void attend(const AttentionHead &head, const Mat<Scalar> &X, int64_t first,
            Mat<Scalar> &update, Rounding round) {
  const int64_t M = X.rows();
  // Keys and values of every row, queries of the rows being updated.
  Mat<Scalar> keys = X * head.key.template cast<Scalar>().transpose();
  Mat<Scalar> values = X * head.value.template cast<Scalar>().transpose();
  Mat<Scalar> queries =
      X.bottomRows(M - first) * head.query.template cast<Scalar>().transpose();
  store(keys, round);
  store(values, round);
  store(queries, round);
  const Mat<Scalar> output = head.output.template cast<Scalar>();
  Vec<Scalar> scores(M);
  for (int64_t i = first; i < M; ++i) {
    const int64_t n = i + 1; // causal: keys 0 .. i
    scores.head(n).noalias() =
        keys.topRows(n) * queries.row(i - first).transpose();
    store(scores.head(n), round);
    // Max-subtracted softmax: every exponent <= 0, so nothing overflows.
    const Scalar mx = scores.head(n).maxCoeff();
    scores.head(n) = (scores.head(n).array() - mx).exp();
    store(scores.head(n), round);
    const Scalar sum = scores.head(n).sum(); // accumulated in Scalar
    Vec<Scalar> mixed = values.topRows(n).transpose() * scores.head(n) / sum;
    store(mixed, round);
    update.row(i - first) += (output * mixed).transpose();
    store(update.row(i - first), round);
  }
}

template <typename Scalar>
Vec<Scalar> transformerLogits(const Network &net, const int32_t *tokens,
                              int64_t M, Rounding round) {
  const TransformerBody &t = net.transformer();
  Mat<Scalar> X(M, net.width);
  for (int64_t i = 0; i < M; ++i)
    X.row(i) = (t.embed.token.row(tokens[i]) + t.embed.position.row(i))
                   .template cast<Scalar>();
  store(X, round);
  for (size_t l = 0; l < t.layers.size(); ++l) {
    const TransformerLayer &layer = t.layers[l];
    // The read-out only sees the last row, so the last layer updates only it.
    const int64_t first = (l + 1 == t.layers.size()) ? M - 1 : 0;
    Mat<Scalar> update = Mat<Scalar>::Zero(M - first, net.width);
    for (const AttentionHead &head : layer.heads)
      attend<Scalar>(head, X, first, update, round);
    X.bottomRows(M - first) += update;
    store(X.bottomRows(M - first), round);
    if (layer.mlp) {
      const MLP &mlp = *layer.mlp;
      Mat<Scalar> hidden =
          (X.bottomRows(M - first) * mlp.in.template cast<Scalar>().transpose())
              .rowwise() +
          mlp.inBias.template cast<Scalar>().transpose();
      store(hidden, round);
      hidden = hidden.cwiseMax(Scalar(0));
      Mat<Scalar> out =
          (hidden * mlp.out.template cast<Scalar>().transpose()).rowwise() +
          mlp.outBias.template cast<Scalar>().transpose();
      store(out, round);
      X.bottomRows(M - first) += out;
      store(X.bottomRows(M - first), round);
    }
  }
  Vec<Scalar> logits =
      net.readout.weight.template cast<Scalar>() * X.row(M - 1).transpose() +
      net.readout.bias.template cast<Scalar>();
  store(logits, round);
  return logits;
}

template <typename Scalar>
Vec<Scalar> elmanLogits(const Network &net, const int32_t *tokens, int64_t M,
                        Rounding round) {
  const ElmanBody &e = net.elman();
  const Eigen::SparseMatrix<Scalar, Eigen::RowMajor, int32_t> W =
      e.recurrent.template cast<Scalar>();
  const Eigen::SparseMatrix<Scalar, Eigen::ColMajor, int32_t> U =
      e.input.template cast<Scalar>();
  const Vec<Scalar> bias = e.bias.template cast<Scalar>();
  Vec<Scalar> h = e.initial.template cast<Scalar>(), next(net.width);
  for (int64_t t = 0; t < M; ++t) {
    next.noalias() = W * h;
    next += bias;
    // The token's input column (sparse), added entry by entry.
    for (typename decltype(U)::InnerIterator it(U, tokens[t]); it; ++it)
      next[it.index()] += it.value();
    store(next, round);
    h = next.cwiseMax(Scalar(0));
  }
  // The read-out head: z = ReLU(weight z + bias), layer by layer, row by row
  // over the CSR weights (a head may be far wider than the state; no copy).
  for (const HeadLayer &layer : e.head) {
    const SparseMatrix &W = layer.weight;
    Vec<Scalar> pre(W.rows());
    for (int64_t r = 0; r < W.rows(); ++r) {
      Scalar sum = 0;
      for (SparseMatrix::InnerIterator it(W, r); it; ++it)
        sum += Scalar(it.value()) * h[it.index()];
      pre[r] = sum + Scalar(layer.bias[r]);
    }
    store(pre, round);
    h = pre.cwiseMax(Scalar(0));
  }
  Vec<Scalar> logits = net.readout.weight.template cast<Scalar>() * h +
                       net.readout.bias.template cast<Scalar>();
  store(logits, round);
  return logits;
}

template <typename Scalar>
Vec<Scalar> logitsOf(const Network &net, const int32_t *tokens, int64_t length,
                     Rounding round) {
  HW_ASSERT(length >= 1 && length <= net.maxSequenceLength,
            "input length out of the network's range");
  for (int64_t i = 0; i < length; ++i)
    HW_ASSERT(tokens[i] >= 0 && tokens[i] < net.tokenCount,
              "token out of range");
  return net.isTransformer()
             ? transformerLogits<Scalar>(net, tokens, length, round)
             : elmanLogits<Scalar>(net, tokens, length, round);
}

Rounding roundingOf(StorageFormat f) {
  return f == StorageFormat::BF16 ? roundToBf16 : roundToF16;
}

} // namespace

template <typename Scalar>
Eigen::Matrix<Scalar, Eigen::Dynamic, 1>
referenceLogits(const Network &net, const int32_t *tokens, int64_t length) {
  return logitsOf<Scalar>(net, tokens, length, nullptr);
}

template Eigen::VectorXf referenceLogits<float>(const Network &,
                                                const int32_t *, int64_t);
template Eigen::VectorXd referenceLogits<double>(const Network &,
                                                 const int32_t *, int64_t);

template <typename Scalar> std::string ReferenceBackend<Scalar>::name() const {
  return sizeof(Scalar) == 4 ? "reference-f32" : "reference-f64";
}

template <typename Scalar>
void ReferenceBackend<Scalar>::logits(const int32_t *tokens, int64_t length,
                                      double *out) const {
  const auto l = referenceLogits<Scalar>(net_, tokens, length);
  for (int64_t c = 0; c < l.size(); ++c)
    out[c] = static_cast<double>(l[c]);
}

template class ReferenceBackend<float>;
template class ReferenceBackend<double>;

LowPrecisionBackend::LowPrecisionBackend(const Network &net,
                                         StorageFormat format)
    : net_(net), format_(format) {
  roundWeights(net_, format);
}

std::string LowPrecisionBackend::name() const {
  return std::string("reference-") + storageFormatName(format_);
}

void LowPrecisionBackend::logits(const int32_t *tokens, int64_t length,
                                 double *out) const {
  const auto l = logitsOf<float>(net_, tokens, length, roundingOf(format_));
  for (int64_t c = 0; c < l.size(); ++c)
    out[c] = static_cast<double>(l[c]);
}

} // namespace handwire
