#include "ir/Verifier.h"

#include <cmath>
#include <set>
#include <sstream>

namespace handwire {
namespace {

class Checker {
public:
  std::vector<std::string> problems;

  void require(bool ok, const std::string &what) {
    if (!ok)
      problems.push_back(what);
  }
  template <typename M>
  void shape(const M &m, int64_t rows, int64_t cols, const std::string &name) {
    if (m.rows() != rows || m.cols() != cols) {
      std::ostringstream os;
      os << name << " has shape (" << m.rows() << ", " << m.cols()
         << "), expected (" << rows << ", " << cols << ")";
      problems.push_back(os.str());
    }
  }
  void vec(const Vector &v, int64_t n, const std::string &name) {
    if (v.size() != n)
      problems.push_back(name + " has length " + std::to_string(v.size()) +
                         ", expected " + std::to_string(n));
  }
  template <typename M> void finite(const M &m, const std::string &name) {
    if (!m.allFinite())
      problems.push_back(name + " has a non-finite entry");
  }
  // A Transformer matrix: its shape, finite entries, and (sparse) compressed.
  void weights(const WeightMatrix &m, int64_t rows, int64_t cols,
               const std::string &name) {
    shape(m, rows, cols, name);
    if (m.isSparse())
      compressed(m.sparse(), name);
    finite(m, name);
  }
  // Every consumer walks valuePtr()[0 .. nonZeros()), which is only the
  // non-zeros once the matrix is compressed (insert() leaves gaps).
  void compressed(const SparseMatrix &m, const std::string &name) {
    if (!m.isCompressed())
      problems.push_back(name + " is not compressed (makeCompressed)");
  }
  void finiteSparse(const SparseMatrix &m, const std::string &name) {
    for (int64_t i = 0; i < m.nonZeros(); ++i)
      if (!std::isfinite(m.valuePtr()[i])) {
        problems.push_back(name + " has a non-finite entry");
        return;
      }
  }
};

// 1. counts.
void checkCounts(Checker &c, const Network &net) {
  c.require(net.tokenCount >= 1 && net.classCount >= 1 &&
                net.maxSequenceLength >= 1 && net.width >= 1,
            "token, class, length and width counts must be positive");
}

// 2. blocks.
void checkBlocks(Checker &c, const Network &net) {
  int64_t next = 0;
  std::set<std::string> names;
  for (const auto &b : net.blocks) {
    c.require(!b.name.empty(), "a residual block has no name");
    c.require(names.insert(b.name).second,
              "residual block '" + b.name + "' twice");
    c.require(b.offset == next && b.width >= 1,
              "residual block '" + b.name +
                  "' does not start where the previous ends");
    next = b.offset + b.width;
  }
  c.require(next == net.width, "residual blocks cover " + std::to_string(next) +
                                   " of " + std::to_string(net.width) +
                                   " dimensions");
}

// 3. transformer shapes (and 6. for its weights).
void checkTransformer(Checker &c, const Network &net) {
  const int64_t D = net.width;
  const TransformerBody &t = net.transformer();
  c.weights(t.embed.token, net.tokenCount, D, "embed.token");
  c.weights(t.embed.position, net.maxSequenceLength, D, "embed.position");
  if (t.embed.featureDim() > 0)
    c.weights(t.embed.feature, D, t.embed.featureDim(), "embed.feature");
  c.require(!t.layers.empty(), "a transformer needs at least one layer");
  for (size_t l = 0; l < t.layers.size(); ++l) {
    const std::string L = "layers." + std::to_string(l);
    for (size_t h = 0; h < t.layers[l].heads.size(); ++h) {
      const AttentionHead &hd = t.layers[l].heads[h];
      const std::string n = L + ".heads." + std::to_string(h);
      const int64_t dk = hd.query.rows(), dv = hd.value.rows();
      c.require(dk >= 1 && dv >= 1, n + " has an empty query or value");
      c.weights(hd.query, dk, D, n + ".query");
      c.weights(hd.key, dk, D, n + ".key");
      c.weights(hd.value, dv, D, n + ".value");
      c.weights(hd.output, D, dv, n + ".output");
    }
    if (const auto &mlp = t.layers[l].mlp) {
      const int64_t H = mlp->in.rows();
      c.weights(mlp->in, H, D, L + ".mlp.in");
      c.vec(mlp->inBias, H, L + ".mlp.in_bias");
      c.weights(mlp->out, D, H, L + ".mlp.out");
      c.vec(mlp->outBias, D, L + ".mlp.out_bias");
      c.finite(mlp->inBias, L + ".mlp.in_bias");
      c.finite(mlp->outBias, L + ".mlp.out_bias");
    }
  }
}

// 4. RNN shapes (and 6. for its weights).
void checkElman(Checker &c, const Network &net) {
  const int64_t D = net.width;
  const ElmanBody &e = net.elman();
  c.shape(e.recurrent, D, D, "rnn.recurrent");
  c.shape(e.input, D, net.tokenCount, "rnn.input");
  c.vec(e.bias, D, "rnn.bias");
  c.vec(e.initial, D, "rnn.initial");
  c.compressed(e.recurrent, "rnn.recurrent");
  c.compressed(e.input, "rnn.input");
  c.finiteSparse(e.recurrent, "rnn.recurrent");
  c.finiteSparse(e.input, "rnn.input");
  c.finite(e.bias, "rnn.bias");
  c.finite(e.initial, "rnn.initial");
  int64_t in = D; // what the next head layer reads
  for (size_t k = 0; k < e.head.size(); ++k) {
    const HeadLayer &layer = e.head[k];
    const std::string K = "rnn.head." + std::to_string(k);
    const int64_t out = layer.weight.rows();
    c.require(out >= 1, K + ".weight has no rows");
    c.shape(layer.weight, out, in, K + ".weight");
    c.vec(layer.bias, out, K + ".bias");
    c.compressed(layer.weight, K + ".weight");
    c.finiteSparse(layer.weight, K + ".weight");
    c.finite(layer.bias, K + ".bias");
    in = out;
  }
}

// 5. read-out (and 6. for its weights).
void checkReadout(Checker &c, const Network &net) {
  c.shape(net.readout.weight, net.classCount, net.readoutWidth(),
          "readout.weight");
  c.vec(net.readout.bias, net.classCount, "readout.bias");
  c.finite(net.readout.weight, "readout.weight");
  c.finite(net.readout.bias, "readout.bias");
}

// 7. certificate.
void checkCertificate(Checker &c, const Certificate &cert) {
  for (const auto &h : cert.heads) {
    c.require(h.gap > 0, h.head + ": selection gap must be positive");
    c.require(h.leakage > 0 && h.leakage < 0.5,
              h.head + ": leakage must be in (0, 1/2)");
  }
  // Selection heads over a position code carry its certificate; a head whose
  // keys are exact indicators (the bounded-Dyck lookup) has none.
  if (cert.code)
    c.require(cert.code->coherence >= 0 && cert.code->coherence <= 1 &&
                  cert.code->maxInnerProduct < 1,
              "code certificate out of range");
  c.require(cert.certified == cert.failures.empty(),
            "certificate verdict disagrees with its failures");
}

} // namespace

std::vector<std::string> verifyNetwork(const Network &net) {
  Checker c;
  checkCounts(c, net);
  checkBlocks(c, net);
  if (net.isTransformer())
    checkTransformer(c, net);
  else
    checkElman(c, net);
  checkReadout(c, net);
  checkCertificate(c, net.certificate);
  return c.problems;
}

} // namespace handwire
