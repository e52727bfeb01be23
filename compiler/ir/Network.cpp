#include "ir/Network.h"

#include "support/Diagnostics.h"
#include "support/HugeArray.h"

#include <algorithm>
#include <cmath>

namespace handwire {

Matrix zeroMatrix(int64_t rows, int64_t cols) {
  Matrix m(rows, cols);
  adviseHugePages(m.data(), static_cast<size_t>(m.size()) * sizeof(float));
  m.setZero();
  return m;
}

WeightMatrix::WeightMatrix(SparseMatrix s) : sparse_(std::move(s)) {
  sparse_->makeCompressed(); // consumers walk the value array
}

const Matrix &WeightMatrix::dense() const {
  HW_ASSERT(!sparse_, "dense() of a sparse weight matrix");
  return dense_;
}
Matrix &WeightMatrix::dense() {
  HW_ASSERT(!sparse_, "dense() of a sparse weight matrix");
  return dense_;
}
const SparseMatrix &WeightMatrix::sparse() const {
  HW_ASSERT(sparse_.has_value(), "sparse() of a dense weight matrix");
  return *sparse_;
}
SparseMatrix &WeightMatrix::sparse() {
  HW_ASSERT(sparse_.has_value(), "sparse() of a dense weight matrix");
  return *sparse_;
}

float WeightMatrix::coeff(int64_t r, int64_t c) const {
  return sparse_ ? sparse_->coeff(r, c) : dense_(r, c);
}

int64_t WeightMatrix::storedCount() const {
  return sparse_ ? sparse_->nonZeros() : dense_.size();
}
const float *WeightMatrix::storedValues() const {
  return sparse_ ? sparse_->valuePtr() : dense_.data();
}
float *WeightMatrix::storedValues() {
  return sparse_ ? sparse_->valuePtr() : dense_.data();
}

Matrix WeightMatrix::toDense() const {
  return sparse_ ? Matrix(*sparse_) : dense_;
}

SparseMatrix WeightMatrix::toSparse() const {
  if (sparse_)
    return *sparse_;
  SparseMatrix m = dense_.sparseView(0.0f, 0.0f);
  m.makeCompressed();
  return m;
}

Eigen::RowVectorXf WeightMatrix::row(int64_t r) const {
  if (!sparse_)
    return dense_.row(r);
  Eigen::RowVectorXf v = Eigen::RowVectorXf::Zero(cols());
  for (SparseMatrix::InnerIterator it(*sparse_, r); it; ++it)
    v[it.col()] = it.value();
  return v;
}

bool WeightMatrix::allFinite() const {
  const float *v = storedValues();
  return std::all_of(v, v + storedCount(),
                     [](float x) { return std::isfinite(x); });
}

namespace {
// f(WeightMatrix &) for every matrix of a Transformer body, in model order.
template <typename Body, typename F> void forEachMatrix(Body &t, const F &f) {
  f(t.embed.token);
  f(t.embed.position);
  if (t.embed.featureDim() > 0)
    f(t.embed.feature);
  for (auto &layer : t.layers) {
    for (auto &h : layer.heads) {
      f(h.query);
      f(h.key);
      f(h.value);
      f(h.output);
    }
    if (layer.mlp) {
      f(layer.mlp->in);
      f(layer.mlp->out);
    }
  }
}
} // namespace

void forEachTransformerMatrix(Network &net,
                              const std::function<void(WeightMatrix &)> &f) {
  if (net.isTransformer())
    forEachMatrix(std::get<TransformerBody>(net.body), f);
}
void forEachTransformerMatrix(
    const Network &net, const std::function<void(const WeightMatrix &)> &f) {
  if (net.isTransformer())
    forEachMatrix(net.transformer(), f);
}

std::vector<size_t> TransformerBody::computingLayers() const {
  std::vector<size_t> out;
  for (size_t l = 0; l < layers.size(); ++l)
    if (!layers[l].isIdentity())
      out.push_back(l);
  if (out.empty() && !layers.empty())
    out.push_back(layers.size() - 1);
  return out;
}

int64_t TransformerBody::identityLayerCount() const {
  int64_t n = 0;
  for (const TransformerLayer &l : layers)
    n += l.isIdentity() ? 1 : 0;
  return n;
}

bool Network::hasSparseTransformerWeights() const {
  bool any = false;
  if (isTransformer())
    forEachMatrix(transformer(),
                  [&](const WeightMatrix &m) { any |= m.isSparse(); });
  return any;
}

double Network::denseTransformerBytes() const {
  double bytes = 0;
  if (isTransformer())
    forEachMatrix(transformer(),
                  [&](const WeightMatrix &m) { bytes += m.denseBytes(); });
  return bytes;
}

const ResidualBlock *Network::block(const std::string &name) const {
  for (const auto &b : blocks)
    if (b.name == name)
      return &b;
  return nullptr;
}

int64_t Network::readoutWidth() const {
  if (isTransformer() || elman().head.empty())
    return width;
  return elman().head.back().weight.rows();
}

void makeTransformerWeightsDense(Network &net) {
  if (net.isTransformer())
    forEachMatrix(std::get<TransformerBody>(net.body), [](WeightMatrix &m) {
      if (m.isSparse())
        m = WeightMatrix(m.toDense());
    });
}

void WeightSize::addDense(double rows, double cols) {
  parameters += rows * cols;
  bytes += 4 * rows * cols;
}

void WeightSize::addCompressed(double rows, double nonZeros) {
  parameters += nonZeros;
  bytes += 4 * nonZeros      // f32 values
           + 4 * nonZeros    // i32 column indices
           + 4 * (rows + 1); // i32 row offsets
}

WeightSize weightSize(const Network &net) {
  WeightSize w;
  // As stored compressed (what every construction and the model file hold).
  auto csr = [&](const SparseMatrix &m) {
    w.addCompressed(double(m.rows()), double(m.nonZeros()));
  };
  if (net.isTransformer()) {
    const TransformerBody &t = net.transformer();
    forEachMatrix(t, [&](const WeightMatrix &m) {
      if (m.isSparse())
        csr(m.sparse());
      else
        w.addDense(double(m.rows()), double(m.cols()));
    });
    for (const auto &layer : t.layers)
      if (layer.mlp) {
        w.addVector(double(layer.mlp->inBias.size()));
        w.addVector(double(layer.mlp->outBias.size()));
      }
  } else {
    const ElmanBody &e = net.elman();
    csr(e.recurrent);
    csr(e.input);
    w.addVector(double(e.bias.size()));
    w.addVector(double(e.initial.size()));
    for (const HeadLayer &layer : e.head) {
      csr(layer.weight);
      w.addVector(double(layer.bias.size()));
    }
  }
  w.addDense(double(net.readout.weight.rows()),
             double(net.readout.weight.cols()));
  w.addVector(double(net.readout.bias.size()));
  return w;
}

int64_t parameterCount(const Network &net) {
  return static_cast<int64_t>(weightSize(net).parameters);
}

namespace {
// One walk for both constnesses: Net is Network or const Network.
template <typename Net, typename Visit>
void walkWeights(Net &net, const Visit &visit) {
  auto dense = [&](const std::string &name, auto &m) {
    visit(name, m.data(), int64_t(m.size()));
  };
  auto sparse = [&](const std::string &name, auto &m) {
    visit(name, m.valuePtr(), int64_t(m.nonZeros()));
  };
  auto weights = [&](const std::string &name, auto &m) {
    visit(name, m.storedValues(), m.storedCount());
  };
  if (net.isTransformer()) {
    auto &t = std::get<TransformerBody>(net.body);
    weights("embed.token", t.embed.token);
    weights("embed.position", t.embed.position);
    if (t.embed.featureDim() > 0)
      weights("embed.feature", t.embed.feature);
    for (size_t l = 0; l < t.layers.size(); ++l) {
      const std::string L = "layers." + std::to_string(l);
      for (size_t h = 0; h < t.layers[l].heads.size(); ++h) {
        auto &hd = t.layers[l].heads[h];
        const std::string H = L + ".heads." + std::to_string(h);
        weights(H + ".query", hd.query);
        weights(H + ".key", hd.key);
        weights(H + ".value", hd.value);
        weights(H + ".output", hd.output);
      }
      if (auto &mlp = t.layers[l].mlp) {
        weights(L + ".mlp.in", mlp->in);
        dense(L + ".mlp.in_bias", mlp->inBias);
        weights(L + ".mlp.out", mlp->out);
        dense(L + ".mlp.out_bias", mlp->outBias);
      }
    }
  } else {
    auto &e = std::get<ElmanBody>(net.body);
    sparse("rnn.recurrent", e.recurrent);
    sparse("rnn.input", e.input);
    dense("rnn.bias", e.bias);
    dense("rnn.initial", e.initial);
    for (size_t k = 0; k < e.head.size(); ++k) {
      const std::string K = "rnn.head." + std::to_string(k);
      sparse(K + ".weight", e.head[k].weight);
      dense(K + ".bias", e.head[k].bias);
    }
  }
  dense("readout.weight", net.readout.weight);
  dense("readout.bias", net.readout.bias);
}
} // namespace

void forEachWeightArray(const Network &net, const ConstWeightVisitor &visit) {
  walkWeights(net, visit);
}

void forEachWeightArray(Network &net, const WeightVisitor &visit) {
  walkWeights(net, visit);
}

} // namespace handwire
