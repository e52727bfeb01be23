#include "reference/Evaluator.h"

#include "support/Diagnostics.h"

#include <Eigen/SparseCore>

#include <cmath>
#include <type_traits>
#include <vector>

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

template <typename Scalar>
using Sparse = Eigen::SparseMatrix<Scalar, Eigen::RowMajor, int32_t>;

template <typename Scalar> void store(Sparse<Scalar> &m, Rounding round) {
  if (round)
    for (int64_t k = 0; k < m.nonZeros(); ++k)
      m.valuePtr()[k] = Scalar(round(float(m.valuePtr()[k])));
}

// X W^T for a weight matrix of either storage, as a dense matrix.
template <typename Scalar, typename Rows>
Mat<Scalar> projectDense(const Rows &X, const WeightMatrix &W) {
  return W.visit([&](const auto &w) -> Mat<Scalar> {
    return X * w.template cast<Scalar>().transpose();
  });
}

// X W^T for sparse rows X, kept sparse (a value table of a linear-width
// model is M x n: dense it would not fit).
template <typename Scalar>
Sparse<Scalar> projectSparse(const Sparse<Scalar> &X, const WeightMatrix &W) {
  const Sparse<Scalar> w = W.toSparse().template cast<Scalar>();
  Sparse<Scalar> p = X * w.transpose();
  p.makeCompressed();
  return p;
}

// W x for one vector x, W of either storage.
template <typename Scalar>
Vec<Scalar> apply(const WeightMatrix &W, const Vec<Scalar> &x) {
  return W.visit([&](const auto &w) -> Vec<Scalar> {
    return w.template cast<Scalar>() * x;
  });
}

// One attention head + residual update for rows [first, M) of X. Rows is a
// dense matrix, or sparse rows for a one-layer model with a sparse embedding
// (then first = M - 1, and keys and values stay sparse too).
template <typename Scalar, typename Rows>
void attend(const AttentionHead &head, const Rows &X, int64_t first,
            Mat<Scalar> &update, Rounding round) {
  constexpr bool sparseRows = std::is_same_v<Rows, Sparse<Scalar>>;
  const int64_t M = X.rows();
  // Keys and values of every row, queries of the rows being updated.
  using Table = std::conditional_t<sparseRows, Sparse<Scalar>, Mat<Scalar>>;
  Table keys, values;
  if constexpr (sparseRows) {
    keys = projectSparse<Scalar>(X, head.key);
    values = projectSparse<Scalar>(X, head.value);
  } else {
    keys = projectDense<Scalar>(X, head.key);
    values = projectDense<Scalar>(X, head.value);
  }
  Mat<Scalar> queries =
      projectDense<Scalar>(X.bottomRows(M - first), head.query);
  store(keys, round);
  store(values, round);
  store(queries, round);
  Vec<Scalar> scores(M), mixed;
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
    if constexpr (sparseRows) {
      mixed = values.topRows(n).transpose() * scores.head(n);
      mixed /= sum;
    } else {
      mixed = values.topRows(n).transpose() * scores.head(n) / sum;
    }
    store(mixed, round);
    update.row(i - first) += apply<Scalar>(head.output, mixed).transpose();
    store(update.row(i - first), round);
  }
}

// x += out ReLU(in x + inBias) + outBias for every row of X.
template <typename Scalar, typename Rows>
void applyMlp(const MLP &mlp, Rows &&X, Rounding round) {
  Mat<Scalar> hidden = projectDense<Scalar>(X, mlp.in).rowwise() +
                       mlp.inBias.template cast<Scalar>().transpose();
  store(hidden, round);
  hidden = hidden.cwiseMax(Scalar(0));
  Mat<Scalar> out = projectDense<Scalar>(hidden, mlp.out).rowwise() +
                    mlp.outBias.template cast<Scalar>().transpose();
  store(out, round);
  X += out;
  store(X, round);
}

template <typename Scalar>
Vec<Scalar> readoutLogits(const Network &net, const Vec<Scalar> &x,
                          Rounding round) {
  Vec<Scalar> logits = net.readout.weight.template cast<Scalar>() * x +
                       net.readout.bias.template cast<Scalar>();
  store(logits, round);
  return logits;
}

// A one-layer model whose embedding is stored sparse: its rows x_j =
// token[w_j] + position[j] stay sparse (a linear-width model's M x D rows
// would not fit dense), and only the last row is ever updated. `layer` is
// its only layer that computes (the others are identities).
template <typename Scalar>
Vec<Scalar>
sparseOneLayerLogits(const Network &net, const TransformerLayer &layer,
                     const int32_t *tokens, int64_t M, Rounding round) {
  const TransformerBody &t = net.transformer();
  HW_ASSERT(t.embed.featureDim() == 0,
            "a sparse one-layer model with continuous inputs");
  const Sparse<Scalar> token = t.embed.token.toSparse().template cast<Scalar>();
  const SparseMatrix rows = t.embed.position.sparse().topRows(M);
  const Sparse<Scalar> position = rows.template cast<Scalar>();
  // The token rows, gathered: one selector entry per position.
  Sparse<Scalar> select(M, net.tokenCount);
  std::vector<Eigen::Triplet<Scalar, int32_t>> picks;
  picks.reserve(static_cast<size_t>(M));
  for (int64_t i = 0; i < M; ++i)
    picks.emplace_back(int32_t(i), tokens[i], Scalar(1));
  select.setFromTriplets(picks.begin(), picks.end());
  const Sparse<Scalar> gathered = select * token; // exact: one row each
  Sparse<Scalar> X = gathered + position;
  X.makeCompressed();
  store(X, round);
  Mat<Scalar> update = Mat<Scalar>::Zero(1, net.width);
  for (const AttentionHead &head : layer.heads)
    attend<Scalar>(head, X, M - 1, update, round);
  Mat<Scalar> last = Mat<Scalar>(X.bottomRows(1)) + update;
  store(last, round);
  if (layer.mlp)
    applyMlp<Scalar>(*layer.mlp, last, round);
  return readoutLogits<Scalar>(net, last.row(0).transpose(), round);
}

template <typename Scalar>
Vec<Scalar> transformerLogits(const Network &net, const int32_t *tokens,
                              const float *features, int64_t M,
                              Rounding round) {
  const TransformerBody &t = net.transformer();
  // Identity layers (no head, no MLP) leave every row as it is, so after the
  // last layer that computes only the last row matters.
  const std::vector<size_t> computing = t.computingLayers();
  if (computing.size() == 1 && t.embed.position.isSparse())
    return sparseOneLayerLogits<Scalar>(net, t.layers[computing.front()],
                                        tokens, M, round);
  Mat<Scalar> X(M, net.width);
  for (int64_t i = 0; i < M; ++i)
    X.row(i) = (t.embed.token.row(tokens[i]) + t.embed.position.row(i))
                   .template cast<Scalar>();
  // Continuous inputs: X += f F^T, row i of f being position i's vector.
  if (const int64_t F = t.embed.featureDim(); F > 0 && features) {
    const Eigen::Map<const Mat<float>> f(features, M, F);
    X += f.template cast<Scalar>() *
         t.embed.feature.toDense().transpose().template cast<Scalar>();
  }
  store(X, round);
  for (size_t l = 0; l < t.layers.size(); ++l) {
    const TransformerLayer &layer = t.layers[l];
    // The read-out only sees the last row, so the last layer that computes
    // (and any identity after it) updates only it.
    const int64_t first = l >= computing.back() ? M - 1 : 0;
    Mat<Scalar> update = Mat<Scalar>::Zero(M - first, net.width);
    for (const AttentionHead &head : layer.heads)
      attend<Scalar>(head, X, first, update, round);
    X.bottomRows(M - first) += update;
    store(X.bottomRows(M - first), round);
    if (layer.mlp)
      applyMlp<Scalar>(*layer.mlp, X.bottomRows(M - first), round);
  }
  return readoutLogits<Scalar>(net, X.row(M - 1).transpose(), round);
}

// The recurrence: h_M, calling visit(t, h_{t+1}) after each token t.
template <typename Scalar, typename Visit>
Vec<Scalar> elmanState(const Network &net, const int32_t *tokens, int64_t M,
                       Rounding round, Visit &&visit) {
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
    visit(t, h);
  }
  return h;
}

template <typename Scalar>
Vec<Scalar> elmanLogits(const Network &net, const int32_t *tokens, int64_t M,
                        Rounding round) {
  const ElmanBody &e = net.elman();
  Vec<Scalar> h = elmanState<Scalar>(net, tokens, M, round,
                                     [](int64_t, const Vec<Scalar> &) {});
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
  return readoutLogits<Scalar>(net, h, round);
}

template <typename Scalar>
Vec<Scalar> logitsOf(const Network &net, const int32_t *tokens,
                     const float *features, int64_t length, Rounding round) {
  HW_ASSERT(length >= 1 && length <= net.maxSequenceLength,
            "input length out of the network's range");
  for (int64_t i = 0; i < length; ++i)
    HW_ASSERT(tokens[i] >= 0 && tokens[i] < net.tokenCount,
              "token out of range");
  return net.isTransformer()
             ? transformerLogits<Scalar>(net, tokens, features, length, round)
             : elmanLogits<Scalar>(net, tokens, length, round);
}

Rounding roundingOf(StorageFormat f) {
  return f == StorageFormat::BF16 ? roundToBf16 : roundToF16;
}

} // namespace

template <typename Scalar>
Eigen::Matrix<Scalar, Eigen::Dynamic, 1>
referenceLogits(const Network &net, const int32_t *tokens, int64_t length,
                const float *features) {
  return logitsOf<Scalar>(net, tokens, features, length, nullptr);
}

void referenceElmanStates(
    const Network &net, const int32_t *tokens, int64_t length,
    const std::function<void(int64_t, const Eigen::VectorXd &)> &visit) {
  HW_ASSERT(!net.isTransformer(), "states of a Transformer");
  HW_ASSERT(length >= 1 && length <= net.maxSequenceLength,
            "input length out of the network's range");
  elmanState<double>(net, tokens, length, nullptr, visit);
}

template Eigen::VectorXf referenceLogits<float>(const Network &,
                                                const int32_t *, int64_t,
                                                const float *);
template Eigen::VectorXd referenceLogits<double>(const Network &,
                                                 const int32_t *, int64_t,
                                                 const float *);

template <typename Scalar> std::string ReferenceBackend<Scalar>::name() const {
  return sizeof(Scalar) == 4 ? "reference-f32" : "reference-f64";
}

template <typename Scalar>
void ReferenceBackend<Scalar>::logits(const int32_t *tokens, int64_t length,
                                      const float *features,
                                      double *out) const {
  const auto l = referenceLogits<Scalar>(net_, tokens, length, features);
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
                                 const float *features, double *out) const {
  const auto l =
      logitsOf<float>(net_, tokens, features, length, roundingOf(format_));
  for (int64_t c = 0; c < l.size(); ++c)
    out[c] = static_cast<double>(l[c]);
}

} // namespace handwire
