// Network IR: an explicit, hand-wired network with its weights, the layout of
// its residual stream (or hidden state), where it came from, and why it is
// correct. Constructions produce it; the verifier checks it; the reference
// evaluator, the JIT and the exporters consume it.
//
// Conventions (docs/export.md repeats them for outside users):
// - Matrices are row-major float32; y = W x, so W has shape (out, in).
// - Transformer: x_i = token[w_i] + position[i] + feature f_i (i = 0 .. M-1
//   is the token's 0-based position; f_i in R^F is the position's continuous
//   input, F = 0 for token-only models); per layer, for each head h:
//     q_i = Q x_i, k_j = K x_j, v_j = V x_j,
//     a_ij = softmax_j (q_i . k_j) over j <= i (causal), computed
//     max-subtracted, x_i += O sum_j a_ij v_j;
//   then x_i += out * ReLU(in * x_i + inBias) + outBias if the layer has an
//   MLP. The softmax scale is already folded into Q; there is no 1/sqrt(d)
//   factor and no LayerNorm. logits = readout.weight * x_{M-1} + readout.bias.
// - Elman RNN: h_0 = initial; h_t = ReLU(recurrent h_{t-1} + input[:, w_t] +
//   bias). An optional read-out head of ReLU layers follows:
//   z_0 = h_M, z_{k+1} = ReLU(head[k].weight * z_k + head[k].bias);
//   logits = readout.weight * z_K + readout.bias (K = head layers; with no
//   head, z_K = h_M and this is the plain Elman read-out).
// - A Transformer matrix is dense or compressed row-major (WeightMatrix);
//   the one-layer linear-width models store theirs sparse.
// - The RNN's matrices (recurrent, input, head weights) are sparse, row-major
//   and compressed (CSR). A head can be far wider than the state (~10^5
//   units reading ~20 of 10^4 each), so nothing downstream densifies it.
// - The decision is argmax(logits); ties count as errors.
#pragma once

#include "spec/TaskSpec.h"

#include <Eigen/Dense>
#include <Eigen/SparseCore>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace handwire {

using Matrix =
    Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using Vector = Eigen::VectorXf;
using SparseMatrix = Eigen::SparseMatrix<float, Eigen::RowMajor, int32_t>;

// Matrix::Zero(rows, cols), its memory advised to huge pages before it is
// zeroed (support/HugeArray.h): the position tables at N = 65536 are tens of
// MB, 20,000 page faults of 4 KiB otherwise.
Matrix zeroMatrix(int64_t rows, int64_t cols);

// A Transformer weight matrix (out, in): dense row-major, or compressed
// row-major (CSR) where a construction's matrix is almost all zeros. The
// one-layer equality model has linear width: dense, its weights at N = 65536
// would take 384 GiB (its position table alone is M x D ~ 2 n^2 floats);
// sparse, they take a few MB. Constructions assign a dense Matrix and write
// entries, or assign a compressed SparseMatrix.
class WeightMatrix {
public:
  WeightMatrix() = default;
  WeightMatrix(Matrix m) : dense_(std::move(m)) {}
  template <typename Derived>
  WeightMatrix(const Eigen::MatrixBase<Derived> &m) : dense_(m) {}
  WeightMatrix(SparseMatrix s);

  int64_t rows() const { return sparse_ ? sparse_->rows() : dense_.rows(); }
  int64_t cols() const { return sparse_ ? sparse_->cols() : dense_.cols(); }
  bool isSparse() const { return sparse_.has_value(); }
  // The storage. dense() of a sparse matrix (and sparse() of a dense one)
  // is a programming error: consumers ask isSparse() or call visit().
  const Matrix &dense() const;
  Matrix &dense();
  const SparseMatrix &sparse() const;
  SparseMatrix &sparse();
  // Entry (r, c) of a dense matrix, for constructions that write entries.
  float &operator()(int64_t r, int64_t c) { return dense()(r, c); }
  // Entry (r, c) of either storage.
  float coeff(int64_t r, int64_t c) const;
  // Stored floats: every entry (dense) or the non-zeros (sparse), and where
  // they are (values in row-major order either way).
  int64_t storedCount() const;
  const float *storedValues() const;
  float *storedValues();
  // Bytes the matrix would take dense (what a dense consumer must allocate).
  double denseBytes() const {
    return 4.0 * static_cast<double>(rows()) * static_cast<double>(cols());
  }
  Matrix toDense() const;
  SparseMatrix toSparse() const; // compressed; a dense one without its zeros
  Eigen::RowVectorXf row(int64_t r) const; // row r, dense
  bool allFinite() const;
  // f(const Matrix &) or f(const SparseMatrix &), whichever is stored.
  template <typename F> decltype(auto) visit(F &&f) const {
    return sparse_ ? f(*sparse_) : f(dense_);
  }

private:
  Matrix dense_;
  std::optional<SparseMatrix> sparse_;
};

// A named range of residual-stream (or hidden-state) dimensions.
struct ResidualBlock {
  std::string name; // "S", "K", "Q", ...
  int64_t offset = 0;
  int64_t width = 0;
  std::string meaning; // one line for people
};

// The longest continuous input a model may take per position.
constexpr int64_t kMaxFeatureDim = 4096;

struct Embedding {
  WeightMatrix token;    // (tokenCount, D)
  WeightMatrix position; // (maxSequenceLength, D); row i is 0-based position i
  // Continuous inputs: (D, F), F = featureDim(). An input then carries a
  // vector f_i in R^F at every position (zero where its token has none, e.g.
  // nearest neighbour's points on the sphere), and x_i gains feature f_i.
  // F = 0 (no columns): a token-only model, the inputs are tokens alone.
  WeightMatrix feature;
  // The inputs' promise that the certificate assumes: ||f_i||_2 <=
  // featureNorm at every position (checked on every input evaluated).
  double featureNorm = 1;
  int64_t featureDim() const { return feature.cols(); }
};

struct AttentionHead {
  WeightMatrix query;  // (dk, D), softmax scale folded in
  WeightMatrix key;    // (dk, D)
  WeightMatrix value;  // (dv, D)
  WeightMatrix output; // (D, dv)
};

struct MLP {
  WeightMatrix in; // (H, D)
  Vector inBias;
  WeightMatrix out; // (D, H)
  Vector outBias;
};

struct TransformerLayer {
  std::vector<AttentionHead> heads;
  std::optional<MLP> mlp;
  // No head and no MLP: x is left as it is. A construction of depth L asked
  // for more layers appends such layers (they have no parameters); every
  // consumer may skip them.
  bool isIdentity() const { return heads.empty() && !mlp; }
};

struct TransformerBody {
  Embedding embed;
  std::vector<TransformerLayer> layers;
  // The layers that change x (not isIdentity()), in order; if every layer is
  // an identity, the last one, so that a forward pass has a layer to run.
  std::vector<size_t> computingLayers() const;
  // How many layers are identities.
  int64_t identityLayerCount() const;
};

// One layer of an RNN's read-out head: y = ReLU(weight x + bias). Sparse:
// the constructions' heads read a few units each.
struct HeadLayer {
  SparseMatrix weight; // (out, in), row-major CSR like ElmanBody::recurrent
  Vector bias;         // (out)
};

struct ElmanBody {
  SparseMatrix recurrent; // (H, H)
  SparseMatrix input;     // (H, tokenCount): column t is the input for token t
  Vector bias;            // (H)
  Vector initial;         // (H): h_0
  // ReLU layers applied to h_M, in order, before the read-out (empty: the
  // read-out sees h_M). Layer 0 is (w_0, H), layer k is (w_k, w_{k-1}).
  std::vector<HeadLayer> head;
};

struct Readout {
  Matrix weight; // (classCount, readoutWidth()): D, H or the last head width
  Vector bias;   // (classCount)
};

// Which construction made the network, and which result of the paper it
// realizes.
struct Provenance {
  std::string
      construction;    // registry id, e.g. "index_lookup/transformer-1layer"
  std::string result;  // which result, cited so a reader can find it:
                       // the paper and the result in words
  std::string source;  // the construction's file, for people who want the proof
  std::string summary; // one line
};

// Certificate of the position code (paper-constructions.md §5.1).
struct CodeCertificate {
  std::string family;    // the family built: "ext_bch", "rademacher", ...
  std::string requested; // what the spec asked for: "auto" or a family
  std::string params;    // the member: "m = 6, designed distance 23: ..."
  std::string requirement = "two-sided"; // or "one-sided" (a lookup's gap)
  std::string method; // how the numbers below were established
  uint64_t seed = 0;
  int64_t dim = 0;            // k
  int64_t count = 0;          // number of codewords
  int draws = 1;              // how many draws/growths were needed
  double targetCoherence = 0; // the requirement's bound mu
  double coherence = 0;       // max_{i!=j} |<T(i),T(j)>| (exact)
  double maxInnerProduct = 0; // max_{i!=j} <T(i),T(j)> (one-sided)
  // No code of `count` unit vectors meeting the requirement (one- or
  // two-sided, at targetCoherence) has fewer dimensions (0: not computed),
  // by the bound named in lowerLimitBound (codes/SphericalBounds.h). Files
  // written before the name existed computed a two-sided limit and name none.
  int64_t lowerLimitDim = 0;
  std::string lowerLimitBound; // "Welch", "Levenshtein LP", ...
  // Families considered and the width each would take (-1: cannot meet it).
  std::vector<std::pair<std::string, int64_t>> alternatives;
  // Pairs of codewords (0-based ids) attaining maxInnerProduct, at most 64:
  // where a selection head is weakest, so adversarial inputs aim there.
  std::vector<std::pair<int64_t, int64_t>> worstPairs;
};

// Certificate of one attention head that must pick out a single key (§6.0),
// and the error model of its rounding chain (ir/SoftmaxChain.h).
struct HeadCertificate {
  std::string head;        // "layers.0.heads.0"
  double gap = 0;          // logit gap per unit of scale: target - best other
  int64_t competitors = 0; // most keys besides the target (M_max - 1)
  double leakage = 0;      // delta: how far the output may be from the target's
  double requiredScale = 0; // the smallest scale at which the chain holds
  double scale = 0;         // the scale folded into Q
  // w': the target's weight after rounding is at least this (the chain's
  // step 6; 1 / (1 + competitors exp(-scale gap)) in exact arithmetic).
  double worstTargetWeight = 0;
  // B: the largest sum of |q_l| |k_l| per unit of scale (1 for unit codes; a
  // query and key with extra coordinates, like nearest neighbour's [x; 1] .
  // [Cx; 2], have more).
  double logitBound = 1;

  // Error model, declared by the construction (SoftmaxChain.h, steps 1-3).
  int64_t dotLength = 1;  // dk: terms of q . k
  int64_t inputTerms = 1; // S: the longest sum behind an entry of q or k
  int inputRoundings = 4; // R: roundings on an entry's path, the scale's apart
  bool scaleIsWeight = false; // the scale is stored as a weight by itself
  // A construction's own bound on the score error per unit of scale, in units
  // of fp32's u, for fp32 storage (0: the generic bound of step 3).
  double scoreErrorUnits = 0;

  // The chain's results in the model's precision.
  double storedScale = 0; // step 1
  double scoreError = 0;  // step 3: E
  double outputError = 1; // max(1 - w', leak): at most `leakage` when it holds

  // Significand bits (with the implicit one, fp32 accumulation) at which the
  // chain holds at this scale.
  int requiredBits() const;
};

// Whether the network is exact when stored in one precision (filled by
// analysis/PrecisionCertificate).
struct PrecisionVerdict {
  Precision precision = Precision::F32;
  bool exact = false;
  int requiredBits = 0; // significand bits (with the implicit one) needed
  std::vector<std::string> reasons; // why exact, or what fails
};

struct Certificate {
  std::optional<CodeCertificate> code;
  std::vector<HeadCertificate> heads;
  double readoutMargin =
      0; // guaranteed logit gap of the right class at the read-out
  // Smallest nonzero attention average the read-out must resolve (a count
  // c / M, a weight 1 / Z; 0: none), and the significand bits it needs there.
  // Subnormal numbers of a 16-bit format may have fewer.
  double smallestAverage = 0;
  int averageBits = 0;
  // Largest |logit| difference allowed between two correct fp32 forward passes
  // of this network (JIT vs reference); declared by the construction.
  double logitTolerance = 1e-3;
  std::string argument;   // why the network is exact, in one or two sentences
  bool certified = false; // every condition holds
  std::vector<PrecisionVerdict> precisions; // f32, f16, bf16
  std::vector<std::string> failures;        // what does not hold, for people
};

struct Network {
  std::string name; // the model's name in the spec
  TaskKind task = TaskKind::IndexLookup;
  Architecture arch = Architecture::Transformer;
  Precision precision = Precision::F32;
  int64_t tokenCount = 0;
  int64_t classCount = 0;
  int64_t maxSequenceLength = 0;
  int64_t width = 0; // residual width D (Transformer) or hidden size H (RNN)
  std::vector<ResidualBlock> blocks; // covers [0, width) exactly, in order
  std::variant<TransformerBody, ElmanBody> body;
  Readout readout;
  Provenance provenance;
  Certificate certificate;

  // Whether some Transformer matrix is stored sparse, and the bytes all of
  // them would take dense.
  bool hasSparseTransformerWeights() const;
  double denseTransformerBytes() const;

  bool isTransformer() const {
    return std::holds_alternative<TransformerBody>(body);
  }
  const TransformerBody &transformer() const {
    return std::get<TransformerBody>(body);
  }
  const ElmanBody &elman() const { return std::get<ElmanBody>(body); }
  // F, the length of each position's continuous input (0: tokens only).
  int64_t featureDim() const {
    return isTransformer() ? transformer().embed.featureDim() : 0;
  }
  // Length of the vector the read-out multiplies: the residual width, the
  // hidden size, or the width of the RNN's last head layer.
  int64_t readoutWidth() const;
  const ResidualBlock *block(const std::string &name) const;
};

// What weights take, in memory and in the model file, counted one way for a
// built network (weightSize) and for a construction's plan
// (Construction::size): `parameters` are the stored floats (every entry of a
// dense matrix or vector, the non-zeros of a compressed one); `bytes` are 4 per
// float plus a compressed matrix's int32 index arrays (one column index per
// non-zero, rows + 1 row offsets). Doubles, exact up to 2^53: a plan of an
// absurd network must give an absurd number, not a wrapped-around integer.
struct WeightSize {
  double parameters = 0;
  double bytes = 0;
  void addDense(double rows, double cols);
  void addVector(double n) { addDense(n, 1); }
  void addCompressed(double rows, double nonZeros);
};
WeightSize weightSize(const Network &net);

// Number of weights that are stored: weightSize(net).parameters.
int64_t parameterCount(const Network &net);

// f(m) for every Transformer matrix in model order: the embedding's token
// and position tables, then per layer each head's query, key, value and
// output, and the MLP's in and out (no-op for an RNN).
void forEachTransformerMatrix(Network &net,
                              const std::function<void(WeightMatrix &)> &f);
void forEachTransformerMatrix(
    const Network &net, const std::function<void(const WeightMatrix &)> &f);

// Stores every Transformer matrix dense (for consumers that need it; check
// denseTransformerBytes first).
void makeTransformerWeightsDense(Network &net);

// Every weight array of the network in a fixed order, named as the model file
// names its tensors ("layers.0.heads.0.query", "rnn.bias"; for sparse
// matrices, their non-zero values: "rnn.recurrent", "rnn.head.0.weight").
using ConstWeightVisitor =
    std::function<void(const std::string &, const float *, int64_t)>;
using WeightVisitor =
    std::function<void(const std::string &, float *, int64_t)>;
void forEachWeightArray(const Network &net, const ConstWeightVisitor &visit);
void forEachWeightArray(Network &net, const WeightVisitor &visit);

} // namespace handwire
