// ONNX export (see Onnx.h and docs/export.md). The graphs transcribe the
// forward pass of ir/Network.h op by op, in the order the reference evaluator
// (runtime/reference/Evaluator.cpp) computes it:
//
// Transformer:  X = Gather(token, tokens) + Slice(position, 0, length)
//   (+ MatMul(features, feature^T) for a model with continuous inputs)
//   layer l < L-1: per head, S = (X Q^T)(X K^T)^T, future keys (j > i) set
//     to -inf, A = Softmax(S), update += (A (X V^T)) O^T; X += update; MLP
//   layer L-1 (the read-out sees the last row only): the same for the last
//     row x = X[length-1], attending to every key (no mask needed).
//   logits = x R^T + b.
// Elman RNN: Scan over the tokens with state h (h_0 = initial):
//   h = Relu((W h + bias) + U[:, token]), where W h and U[:, token] are
//   computed from padded per-row sparse lists (column, value), so the file is
//   O(non-zeros), not O(H^2): W h = ReduceSum(Reshape(GatherElements(h, cols)
//   * vals, (H, width)), axis 1),
//   U[:, t] = ReduceSum(Where(ucols == t, uvals, 0), axis 1). Padding entries
//   add exact zeros. Read-out head, after the Scan: z = Relu(W_k z + b_k) per
//   layer, from z = h_M, with W_k z sparse like W h. logits = R z + b.
// decision = ArgMax(logits), or -1 if the maximum appears more than once.
//
// Batched graphs (OnnxOptions::batch) run the same ops on a leading batch
// axis: the Transformer's MatMuls broadcast over it, the RNN scans axis 1 of
// tokens [batch, length] with state [batch, H] and gathers its sparse lists
// with Gather(axis 1) instead of GatherElements.
#include "export/Onnx.h"

#include "support/Diagnostics.h"
#include "support/FileIO.h"

#include <onnx/checker.h>
#include <onnx/onnx_pb.h>
#include <onnx/shape_inference/implementation.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <sstream>

namespace handwire {
namespace {

namespace fs = std::filesystem;

// Tensors below this size stay inline even in a model with external data
// (ONNX's own default, size_threshold = 1024): constants and shapes, which
// shape inference reads.
constexpr size_t kExternalTensorMinBytes = 1024;
// Offsets in an external data file are multiples of this (ONNX's
// convention, so that a runtime can map each tensor).
constexpr int64_t kExternalAlignment = 4096;

// Where initializers' bytes go: inline (raw_data), or, with an external data
// file open and from kExternalTensorMinBytes up, appended to that file at an
// aligned offset, the tensor keeping only its location, offset and length.
class TensorStore {
public:
  TensorStore() = default; // everything inline
  TensorStore(std::ostream &file, std::string location, std::string path)
      : file_(&file), location_(std::move(location)), path_(std::move(path)) {}

  void store(onnx::TensorProto &t, const char *data, size_t n) {
    if (!file_ || n < kExternalTensorMinBytes) {
      t.set_raw_data(std::string(data, n));
      return;
    }
    const int64_t start = (offset_ + kExternalAlignment - 1) /
                          kExternalAlignment * kExternalAlignment;
    const std::string padding(static_cast<size_t>(start - offset_), '\0');
    file_->write(padding.data(), static_cast<std::streamsize>(padding.size()));
    file_->write(data, static_cast<std::streamsize>(n));
    if (!*file_)
      throw UserError("error while writing '" + path_ + "'");
    offset_ = start + static_cast<int64_t>(n);
    t.set_data_location(onnx::TensorProto_DataLocation_EXTERNAL);
    entry(t, "location", location_);
    entry(t, "offset", std::to_string(start));
    entry(t, "length", std::to_string(n));
  }

private:
  static void entry(onnx::TensorProto &t, const std::string &key,
                    const std::string &value) {
    onnx::StringStringEntryProto &e = *t.add_external_data();
    e.set_key(key);
    e.set_value(value);
  }

  std::ostream *file_ = nullptr;
  std::string location_, path_;
  int64_t offset_ = 0;
};

// Padded per-row lists of a sparse matrix: row r's non-zeros, in column order,
// then padding up to the longest row.
struct PaddedRows {
  int64_t rows = 0, width = 0; // width: most non-zeros in a row
  std::vector<int64_t> columns;
  std::vector<float> values;
};

int64_t maxRowNonZeros(const SparseMatrix &m) {
  int64_t k = 0;
  for (int64_t r = 0; r < m.outerSize(); ++r) {
    int64_t n = 0;
    for (SparseMatrix::InnerIterator it(m, r); it; ++it)
      ++n;
    k = std::max(k, n);
  }
  return k;
}

PaddedRows paddedRows(const SparseMatrix &m, int64_t padColumn) {
  PaddedRows p;
  p.rows = m.rows();
  p.width = maxRowNonZeros(m);
  p.columns.assign(static_cast<size_t>(p.rows * p.width), padColumn);
  p.values.assign(static_cast<size_t>(p.rows * p.width), 0.0f);
  for (int64_t r = 0; r < m.outerSize(); ++r) {
    int64_t k = 0;
    for (SparseMatrix::InnerIterator it(m, r); it; ++it, ++k) {
      p.columns[static_cast<size_t>(r * p.width + k)] = it.index();
      p.values[static_cast<size_t>(r * p.width + k)] = it.value();
    }
  }
  return p;
}

int64_t paddedBytes(const SparseMatrix &m, int64_t floatBytes) {
  return (8 + floatBytes) * m.rows() * maxRowNonZeros(m);
}

// Builds one GraphProto: fresh value names, initializers, nodes. `batched`:
// every value carries a leading batch axis (OnnxOptions::batch).
class GraphBuilder {
public:
  GraphBuilder(onnx::GraphProto &g, onnx::TensorProto_DataType elem,
               std::string prefix, TensorStore &store, bool batched)
      : g_(g), elem_(elem), prefix_(std::move(prefix)), store_(store),
        batched_(batched) {}

  onnx::TensorProto_DataType elem() const { return elem_; }
  bool batched() const { return batched_; }
  TensorStore &store() { return store_; }

  std::string fresh(const std::string &hint) {
    return prefix_ + hint + "_" + std::to_string(counter_++);
  }

  // A node with one output; returns the output's name.
  std::string op(const std::string &type, const std::vector<std::string> &in,
                 const std::string &hint,
                 const std::function<void(onnx::NodeProto &)> &attrs = {}) {
    std::string out = fresh(hint);
    opTo(type, in, out, attrs);
    return out;
  }
  onnx::NodeProto &
  opTo(const std::string &type, const std::vector<std::string> &in,
       const std::string &out,
       const std::function<void(onnx::NodeProto &)> &attrs = {}) {
    onnx::NodeProto &n = *g_.add_node();
    n.set_op_type(type);
    n.set_name(prefix_ + type + "_" + std::to_string(g_.node_size()));
    for (const std::string &i : in)
      n.add_input(i);
    n.add_output(out);
    if (attrs)
      attrs(n);
    return n;
  }

  // Floating-point initializer in the graph's element type.
  std::string floats(const std::string &name, std::vector<int64_t> shape,
                     const float *data) {
    onnx::TensorProto &t = *g_.add_initializer();
    t.set_name(name);
    t.set_data_type(elem_);
    int64_t n = 1;
    for (int64_t d : shape) {
      t.add_dims(d);
      n *= d;
    }
    if (elem_ == onnx::TensorProto_DataType_FLOAT) {
      store_.store(t, reinterpret_cast<const char *>(data),
                   static_cast<size_t>(n) * sizeof(float));
    } else {
      std::vector<double> d(data, data + n);
      store_.store(t, reinterpret_cast<const char *>(d.data()),
                   d.size() * sizeof(double));
    }
    return name;
  }
  // The transpose of a row-major (rows, cols) matrix: shape (cols, rows), so
  // that MatMul(x, W^T) computes W x for row vectors x.
  std::string transposed(const std::string &name, const Matrix &m) {
    const Matrix t = m.transpose();
    return floats(name, {m.cols(), m.rows()}, t.data());
  }
  std::string matrix(const std::string &name, const Matrix &m) {
    return floats(name, {m.rows(), m.cols()}, m.data());
  }
  // ONNX initializers are dense: a sparse weight matrix is expanded (the
  // caller has checked onnxWeightBytes, which counts it dense, against the
  // limit).
  std::string transposed(const std::string &name, const WeightMatrix &m) {
    return m.isSparse() ? transposed(name, m.toDense())
                        : transposed(name, m.dense());
  }
  std::string matrix(const std::string &name, const WeightMatrix &m) {
    return m.isSparse() ? matrix(name, m.toDense()) : matrix(name, m.dense());
  }
  std::string vector(const std::string &name, const Vector &v) {
    return floats(name, {v.size()}, v.data());
  }
  std::string scalar(const std::string &name, float v) {
    return floats(name, {}, &v);
  }
  std::string int64s(const std::string &name, std::vector<int64_t> shape,
                     const std::vector<int64_t> &data) {
    onnx::TensorProto &t = *g_.add_initializer();
    t.set_name(name);
    t.set_data_type(onnx::TensorProto_DataType_INT64);
    for (int64_t d : shape)
      t.add_dims(d);
    store_.store(t, reinterpret_cast<const char *>(data.data()),
                 data.size() * sizeof(int64_t));
    return name;
  }

  // Graph inputs/outputs with a (possibly symbolic) shape.
  void input(const std::string &name, onnx::TensorProto_DataType type,
             const std::vector<std::string> &dims) {
    declare(*g_.add_input(), name, type, dims);
  }
  void output(const std::string &name, onnx::TensorProto_DataType type,
              const std::vector<std::string> &dims) {
    declare(*g_.add_output(), name, type, dims);
  }

private:
  static void declare(onnx::ValueInfoProto &v, const std::string &name,
                      onnx::TensorProto_DataType type,
                      const std::vector<std::string> &dims) {
    v.set_name(name);
    onnx::TypeProto_Tensor &t = *v.mutable_type()->mutable_tensor_type();
    t.set_elem_type(type);
    onnx::TensorShapeProto &s = *t.mutable_shape();
    for (const std::string &d : dims) {
      onnx::TensorShapeProto_Dimension &dim = *s.add_dim();
      if (!d.empty() && std::all_of(d.begin(), d.end(), ::isdigit))
        dim.set_dim_value(std::stoll(d));
      else
        dim.set_dim_param(d);
    }
  }

  onnx::GraphProto &g_;
  onnx::TensorProto_DataType elem_;
  std::string prefix_;
  TensorStore &store_;
  bool batched_;
  int64_t counter_ = 0;
};

void setInt(onnx::NodeProto &n, const std::string &name, int64_t v) {
  onnx::AttributeProto &a = *n.add_attribute();
  a.set_name(name);
  a.set_type(onnx::AttributeProto_AttributeType_INT);
  a.set_i(v);
}
void setInts(onnx::NodeProto &n, const std::string &name,
             const std::vector<int64_t> &v) {
  onnx::AttributeProto &a = *n.add_attribute();
  a.set_name(name);
  a.set_type(onnx::AttributeProto_AttributeType_INTS);
  for (int64_t x : v)
    a.add_ints(x);
}

// Batched logits [batch, classes] -> decision [batch], per row as below.
void emitBatchDecision(GraphBuilder &b, const std::string &logits) {
  const std::string mx = b.op("ReduceMax", {logits}, "max", [](auto &n) {
    setInts(n, "axes", {-1});
    setInt(n, "keepdims", 1); // [batch, 1], broadcast against the row
  });
  const std::string isMax = b.op("Equal", {logits, mx}, "is_max");
  const std::string asInt = b.op("Cast", {isMax}, "is_max_i64", [](auto &n) {
    setInt(n, "to", onnx::TensorProto_DataType_INT64);
  });
  const std::string count =
      b.op("ReduceSum", {asInt, b.int64s("const.last_axis", {1}, {-1})},
           "max_count", [](auto &n) { setInt(n, "keepdims", 0); });
  const std::string one = b.int64s("const.one_i64", {}, {1});
  const std::string tied = b.op("Greater", {count, one}, "tied");
  const std::string arg = b.op("ArgMax", {logits}, "argmax", [](auto &n) {
    setInt(n, "axis", -1);
    setInt(n, "keepdims", 0);
  });
  const std::string none = b.int64s("const.no_decision", {}, {-1});
  b.opTo("Where", {tied, none, arg}, "decision");
}

// logits -> decision: ArgMax, or -1 if the maximum is not unique.
void emitDecision(GraphBuilder &b, const std::string &logits) {
  if (b.batched())
    return emitBatchDecision(b, logits);
  const std::string mx = b.op("ReduceMax", {logits}, "max",
                              [](auto &n) { setInt(n, "keepdims", 0); });
  const std::string isMax = b.op("Equal", {logits, mx}, "is_max");
  const std::string asInt = b.op("Cast", {isMax}, "is_max_i64", [](auto &n) {
    setInt(n, "to", onnx::TensorProto_DataType_INT64);
  });
  const std::string count = b.op("ReduceSum", {asInt}, "max_count",
                                 [](auto &n) { setInt(n, "keepdims", 0); });
  const std::string one = b.int64s("const.one_i64", {}, {1});
  const std::string tied = b.op("Greater", {count, one}, "tied");
  const std::string arg = b.op("ArgMax", {logits}, "argmax", [](auto &n) {
    setInt(n, "axis", 0);
    setInt(n, "keepdims", 0);
  });
  const std::string none = b.int64s("const.no_decision", {}, {-1});
  b.opTo("Where", {tied, none, arg}, "decision");
}

// W x for a sparse W in O(non-zeros), from W's padded rows (ELL):
// ReduceSum(Reshape(GatherElements(x, columns) * values, (rows, width)),
// axis 1). The lists are flat (rows * width): GatherElements on flat indices
// is ~3x faster in ONNX Runtime than Gather with (rows, width) indices.
// Padding entries (column 0, value 0) add exact zeros. The initializers
// NAME.{columns,values,shape} go into `weights`, the nodes into `ops` (a Scan
// body reads its weights from the outer graph). Batched, x is [batch, in]:
// Gather(axis 1) takes every row's entries at once, and the Reshape to
// (0, rows, width) keeps the batch axis. `rowAxis` (the axis after the
// Reshape that holds a row's entries) is summed. Returns "" if W is zero.
std::string sparseProduct(GraphBuilder &weights, GraphBuilder &ops,
                          const std::string &name, const SparseMatrix &W,
                          const std::string &x, const std::string &rowAxis,
                          const std::string &hint) {
  const PaddedRows p = paddedRows(W, 0);
  if (!p.width)
    return "";
  const int64_t n = p.rows * p.width;
  const std::string cols = weights.int64s(name + ".columns", {n}, p.columns);
  const std::string vals =
      weights.floats(name + ".values", {n}, p.values.data());
  const bool batched = ops.batched();
  const std::string shape =
      batched ? weights.int64s(name + ".shape", {3}, {0, p.rows, p.width})
              : weights.int64s(name + ".shape", {2}, {p.rows, p.width});
  const std::string g =
      batched ? ops.op("Gather", {x, cols}, hint + ".gathered",
                       [](auto &n) { setInt(n, "axis", 1); })
              : ops.op("GatherElements", {x, cols}, hint + ".gathered");
  const std::string prod = ops.op("Mul", {g, vals}, hint + ".products");
  const std::string rows = ops.op("Reshape", {prod, shape}, hint + ".by_row");
  return ops.op("ReduceSum", {rows, rowAxis}, hint,
                [](auto &n) { setInt(n, "keepdims", 0); });
}

// X = Gather(token, tokens) + Slice(position, 0, length): [length, D], plus
// MatMul(features, feature^T) for a model with continuous inputs. The
// features are added last, as the reference evaluator adds them to the
// token + position sum.
std::string embedSequence(GraphBuilder &b, const TransformerBody &t,
                          const std::string &tokens, const std::string &length,
                          const std::string &zero1) {
  const std::string tok = b.op(
      "Gather", {b.matrix("embed.token", t.embed.token), tokens}, "tok_embed");
  const std::string pos = b.op(
      "Slice", {b.matrix("embed.position", t.embed.position), zero1, length},
      "pos_embed");
  const std::string x0 = b.op("Add", {tok, pos}, "x0");
  if (t.embed.featureDim() == 0)
    return x0;
  // The input is float32 in every precision (the reference evaluator reads
  // float features too); an f64 graph widens it exactly.
  std::string f = "features";
  if (b.elem() != onnx::TensorProto_DataType_FLOAT)
    f = b.op("Cast", {f}, "features_wide",
             [&](auto &n) { setInt(n, "to", b.elem()); });
  const std::string fx =
      b.op("MatMul", {f, b.transposed("embed.feature_T", t.embed.feature)},
           "feature_embed");
  return b.op("Add", {x0, fx}, "x0_features");
}

// Causal mask for the layers that update every row: future[i][j] = j > i.
struct CausalMask {
  std::string future, negInf;
};

CausalMask causalMask(GraphBuilder &b, const std::string &length,
                      const std::string &zero1, const std::string &one1) {
  CausalMask m;
  const std::string lengthScalar = b.op("Squeeze", {length}, "length_scalar");
  const std::string r = b.op("Range",
                             {b.int64s("const.zero", {}, {0}), lengthScalar,
                              b.int64s("const.one", {}, {1})},
                             "positions");
  const std::string rows = b.op("Unsqueeze", {r, one1}, "row_positions");
  const std::string cols = b.op("Unsqueeze", {r, zero1}, "col_positions");
  m.future = b.op("Greater", {cols, rows}, "future");
  m.negInf = b.scalar("const.neg_inf", -std::numeric_limits<float>::infinity());
  return m;
}

// One head's update (Softmax(S) (X V^T)) O^T of `rows`, S = (rows Q^T)(X
// K^T)^T; with a mask, future keys are set to -inf (mask null: the read-out
// row attends to every key).
std::string headUpdate(GraphBuilder &b, const AttentionHead &head,
                       const std::string &H, const std::string &rows,
                       const std::string &X, const CausalMask *mask) {
  const std::string q = b.op(
      "MatMul", {rows, b.transposed(H + ".query_T", head.query)}, H + ".q");
  const std::string k =
      b.op("MatMul", {X, b.transposed(H + ".key_T", head.key)}, H + ".k");
  const std::string v =
      b.op("MatMul", {X, b.transposed(H + ".value_T", head.value)}, H + ".v");
  const std::string kT = b.op("Transpose", {k}, H + ".k_T", [&](auto &n) {
    setInts(n, "perm",
            b.batched() ? std::vector<int64_t>{0, 2, 1}
                        : std::vector<int64_t>{1, 0});
  });
  std::string s = b.op("MatMul", {q, kT}, H + ".scores");
  if (mask)
    s = b.op("Where", {mask->future, mask->negInf, s}, H + ".causal_scores");
  const std::string a = b.op("Softmax", {s}, H + ".weights",
                             [](auto &n) { setInt(n, "axis", -1); });
  const std::string mixed = b.op("MatMul", {a, v}, H + ".mixed");
  return b.op("MatMul", {mixed, b.transposed(H + ".output_T", head.output)},
              H + ".update");
}

// The MLP's update Relu(rows In^T + inBias) Out^T + outBias.
std::string mlpUpdate(GraphBuilder &b, const MLP &m, const std::string &M,
                      const std::string &rows) {
  const std::string pre =
      b.op("Add",
           {b.op("MatMul", {rows, b.transposed(M + ".in_T", m.in)}, M + ".in"),
            b.vector(M + ".in_bias", m.inBias)},
           M + ".pre");
  const std::string hidden = b.op("Relu", {pre}, M + ".hidden");
  return b.op(
      "Add",
      {b.op("MatMul", {hidden, b.transposed(M + ".out_T", m.out)}, M + ".out"),
       b.vector(M + ".out_bias", m.outBias)},
      M + ".update");
}

// Layer L applied to `rows` (all of X, or the last row for the read-out
// layer, with no mask): the rows after attention and MLP.
std::string transformerLayer(GraphBuilder &b, const TransformerLayer &layer,
                             const std::string &L, std::string rows,
                             const std::string &X, const CausalMask *mask) {
  std::string update;
  for (size_t h = 0; h < layer.heads.size(); ++h) {
    const std::string o = headUpdate(
        b, layer.heads[h], L + ".heads." + std::to_string(h), rows, X, mask);
    update = update.empty() ? o : b.op("Add", {update, o}, L + ".update");
  }
  if (!update.empty())
    rows = b.op("Add", {rows, update}, L + ".after_attention");
  if (layer.mlp) {
    const std::string out = mlpUpdate(b, *layer.mlp, L + ".mlp", rows);
    rows = b.op("Add", {rows, out}, L + ".after_mlp");
  }
  return rows;
}

// The last row of X: [1, D], or [batch, 1, D] (positions are axis 1).
std::string lastRow(GraphBuilder &b, const std::string &X,
                    const std::string &lastIndex, const std::string &hint) {
  if (!b.batched())
    return b.op("Gather", {X, lastIndex}, hint);
  return b.op("Gather", {X, lastIndex}, hint,
              [](auto &n) { setInt(n, "axis", 1); });
}

void buildTransformer(GraphBuilder &b, const Network &net) {
  const TransformerBody &t = net.transformer();
  const std::string tokens = "tokens";
  const bool batched = b.batched();
  // [length], or [batch, length] when batched.
  const std::string shape =
      b.op("Shape", {tokens}, batched ? "tokens_shape" : "length");
  const std::string zero1 = b.int64s("const.zero_1", {1}, {0});
  const std::string one1 = b.int64s("const.one_1", {1}, {1});
  const std::string length = // [1]
      batched ? b.op("Slice", {shape, one1, b.int64s("const.two_1", {1}, {2})},
                     "length")
              : shape;
  // X: [length, D], or [batch, length, D] (the position rows broadcast).
  std::string X = embedSequence(b, t, tokens, length, zero1);
  const std::string lastIndex = b.op("Sub", {length, one1}, "last_index");
  // Identity layers (no head, no MLP) add no node: the last layer that
  // computes is the read-out's.
  const std::vector<size_t> computing = t.computingLayers();
  CausalMask mask;
  if (computing.size() > 1)
    mask = causalMask(b, length, zero1, one1);

  std::string last; // the last row, [1, D], once computed
  for (const size_t l : computing) {
    const bool lastLayer = l == computing.back();
    const std::string L = "layers." + std::to_string(l);
    // Rows this layer updates: all, or only the last one (read-out).
    const std::string rows =
        lastLayer ? lastRow(b, X, lastIndex, L + ".last") : X;
    const std::string after = transformerLayer(b, t.layers[l], L, rows, X,
                                               lastLayer ? nullptr : &mask);
    if (lastLayer)
      last = after;
    else
      X = after;
  }
  if (last.empty())
    last = lastRow(b, X, lastIndex, "last");
  const std::string logits2 =
      b.op("Add",
           {b.op("MatMul",
                 {last, b.transposed("readout.weight_T", net.readout.weight)},
                 "readout"),
            b.vector("readout.bias", net.readout.bias)},
           "logits_row");
  if (batched) // [batch, 1, classes] -> [batch, classes]
    b.opTo("Squeeze", {logits2, one1}, "logits");
  else
    b.opTo("Reshape", {logits2, b.int64s("const.flat", {1}, {-1})}, "logits");
}

// The Scan's initial state: rnn.initial [H], or, batched, expanded to
// [batch, H] (the batch size read from the tokens' shape).
std::string initialState(GraphBuilder &b, const Vector &initial) {
  const std::string h0 = b.vector("rnn.initial", initial);
  if (!b.batched())
    return h0;
  const std::string zero1 = b.int64s("const.zero_1", {1}, {0});
  const std::string one1 = b.int64s("const.one_1", {1}, {1});
  const std::string shape = b.op("Shape", {"tokens"}, "tokens_shape");
  const std::string batch = b.op("Slice", {shape, zero1, one1}, "batch");
  const std::string target = b.op("Concat", {batch, one1}, "initial_shape",
                                  [](auto &n) { setInt(n, "axis", 0); });
  // Expand broadcasts [H] against [batch, 1]: [batch, H].
  return b.op("Expand", {h0, target}, "initial_rows");
}

void buildRnn(GraphBuilder &b, const Network &net) {
  const ElmanBody &e = net.elman();
  const int64_t H = net.width;
  const bool batched = b.batched();
  const PaddedRows U = paddedRows(e.input, -1); // -1 matches no token

  // Outer-scope initializers, read by the loop body (the recurrence's are
  // added by sparseProduct).
  const std::string uCols =
      U.width ? b.int64s("rnn.input.columns", {H, U.width}, U.columns) : "";
  const std::string uVals =
      U.width ? b.floats("rnn.input.values", {H, U.width}, U.values.data())
              : "";
  const std::string bias = b.vector("rnn.bias", e.bias);
  const std::string initial = initialState(b, e.initial);
  // The axis of a row's entries: 1 of [H, width], 2 of [batch, H, width].
  const std::string rowAxis = batched ? b.int64s("const.axis_2", {1}, {2})
                                      : b.int64s("const.axis_1", {1}, {1});
  const std::string zero = b.scalar("const.zero_f", 0.0f);

  // The loop body: (h_prev, token) -> (h, nothing scanned out).
  onnx::GraphProto body;
  body.set_name("rnn_step");
  GraphBuilder s(body, b.elem(), "step.", b.store(), batched);
  const std::vector<std::string> state =
      batched ? std::vector<std::string>{"batch", std::to_string(H)}
              : std::vector<std::string>{std::to_string(H)};
  s.input("h_prev", b.elem(), state);
  s.input("token", onnx::TensorProto_DataType_INT64,
          batched ? std::vector<std::string>{"batch"}
                  : std::vector<std::string>{});
  const std::string wh = sparseProduct(b, s, "rnn.recurrent", e.recurrent,
                                       "h_prev", rowAxis, "recurrent");
  std::string pre = wh.empty() // W = 0: W h + bias = bias
                        ? s.op("Identity", {bias}, "plus_bias")
                        : s.op("Add", {wh, bias}, "plus_bias");
  if (U.width) {
    // Batched, each row's token as [batch, 1, 1] against [H, width].
    const std::string token =
        batched ? s.op("Unsqueeze",
                       {"token", b.int64s("const.axes_1_2", {2}, {1, 2})},
                       "token_column")
                : "token";
    const std::string hit = s.op("Equal", {uCols, token}, "input_hit");
    const std::string sel = s.op("Where", {hit, uVals, zero}, "input_entries");
    const std::string u = s.op("ReduceSum", {sel, rowAxis}, "input",
                               [](auto &n) { setInt(n, "keepdims", 0); });
    pre = s.op("Add", {pre, u}, "pre_activation");
  }
  s.opTo("Relu", {pre}, "h");
  s.output("h", b.elem(), state);

  onnx::NodeProto &scan = b.opTo("Scan", {initial, "tokens"}, "h_final");
  setInt(scan, "num_scan_inputs", 1);
  if (batched) // tokens [batch, length]: one step per position
    setInts(scan, "scan_input_axes", {1});
  onnx::AttributeProto &a = *scan.add_attribute();
  a.set_name("body");
  a.set_type(onnx::AttributeProto_AttributeType_GRAPH);
  *a.mutable_g() = std::move(body);

  // The read-out head: sparse ReLU layers on the final state.
  std::string z = "h_final";
  for (size_t k = 0; k < e.head.size(); ++k) {
    const std::string K = "rnn.head." + std::to_string(k);
    const std::string wz = sparseProduct(b, b, K + ".weight", e.head[k].weight,
                                         z, rowAxis, K + ".product");
    const std::string bias = b.vector(K + ".bias", e.head[k].bias);
    const std::string pre = wz.empty() // W = 0: W z + bias = bias
                                ? b.op("Identity", {bias}, K + ".pre")
                                : b.op("Add", {wz, bias}, K + ".pre");
    z = b.op("Relu", {pre}, K + ".out");
  }
  // Batched: rows z [batch, w] times R^T, as the Transformer's read-out.
  const std::string logits =
      batched
          ? b.op("MatMul",
                 {z, b.transposed("readout.weight_T", net.readout.weight)},
                 "readout")
          : b.op("MatMul", {b.matrix("readout.weight", net.readout.weight), z},
                 "readout");
  b.opTo("Add", {logits, b.vector("readout.bias", net.readout.bias)}, "logits");
}

// An external tensor's entries (location, offset, length).
struct ExternalExtent {
  std::string location;
  int64_t offset = 0, length = -1; // length -1: absent (to the file's end)
};

bool isExternal(const onnx::TensorProto &t) {
  return t.data_location() == onnx::TensorProto_DataLocation_EXTERNAL;
}

ExternalExtent externalExtent(const onnx::TensorProto &t,
                              const std::string &what) {
  ExternalExtent x;
  for (const auto &e : t.external_data()) {
    if (e.key() == "location") {
      x.location = e.value();
      continue;
    }
    if (e.key() != "offset" && e.key() != "length")
      continue;
    int64_t v = -1;
    const char *end = e.value().data() + e.value().size();
    const auto [ptr, ec] = std::from_chars(e.value().data(), end, v);
    if (ec != std::errc() || ptr != end || v < 0)
      throw UserError(what + ": tensor '" + t.name() + "': external_data " +
                      e.key() + " '" + e.value() +
                      "' is not a non-negative integer");
    (e.key() == "offset" ? x.offset : x.length) = v;
  }
  if (x.location.empty())
    throw UserError(what + ": tensor '" + t.name() +
                    "' is external but has no external_data location");
  return x;
}

// Calls `visit` on every initializer, those of subgraphs (a Scan's body)
// included.
void forEachInitializer(
    const onnx::GraphProto &g,
    const std::function<void(const onnx::TensorProto &)> &visit) {
  for (const auto &t : g.initializer())
    visit(t);
  for (const auto &n : g.node())
    for (const auto &a : n.attribute())
      if (a.has_g())
        forEachInitializer(a.g(), visit);
}

void countOps(const onnx::GraphProto &g, std::map<std::string, int64_t> &ops) {
  for (const auto &n : g.node()) {
    ++ops[n.op_type()];
    for (const auto &a : n.attribute())
      if (a.has_g())
        countOps(a.g(), ops);
  }
}

bool hasExternalData(const onnx::ModelProto &model) {
  bool any = false;
  forEachInitializer(model.graph(), [&](const onnx::TensorProto &t) {
    any = any || isExternal(t);
  });
  return any;
}

// Bytes per element of the types handwire writes (0: another type).
int64_t elementBytes(int32_t type) {
  switch (type) {
  case onnx::TensorProto_DataType_FLOAT:
  case onnx::TensorProto_DataType_INT32:
    return 4;
  case onnx::TensorProto_DataType_DOUBLE:
  case onnx::TensorProto_DataType_INT64:
    return 8;
  default:
    return 0;
  }
}

// Every external tensor of the model at `path` lies inside a regular data
// file next to it, with the length its shape needs.
void checkExternalData(const onnx::ModelProto &model, const std::string &path) {
  const fs::path dir = fs::path(path).parent_path();
  std::map<std::string, int64_t> sizes; // data file -> its size
  forEachInitializer(model.graph(), [&](const onnx::TensorProto &t) {
    if (!isExternal(t))
      return;
    const ExternalExtent x = externalExtent(t, "'" + path + "'");
    const std::string file = (dir / x.location).string();
    if (!sizes.count(file)) {
      int64_t size = 0;
      const std::string why =
          checkRegularFile(file, std::numeric_limits<int64_t>::max(),
                           "an ONNX external data file", size);
      if (!why.empty())
        throw UserError("'" + path + "': tensor '" + t.name() + "': " + why);
      sizes[file] = size;
    }
    int64_t expected = elementBytes(t.data_type());
    for (int64_t d : t.dims())
      expected *= d;
    const int64_t length = x.length >= 0
                               ? x.length
                               : sizes[file] - std::min(x.offset, sizes[file]);
    if (expected && length != expected)
      throw UserError("'" + path + "': tensor '" + t.name() + "': external " +
                      "length " + std::to_string(length) +
                      ", its shape needs " + std::to_string(expected) +
                      " bytes");
    if (x.offset > sizes[file] || length > sizes[file] - x.offset)
      throw UserError("'" + path + "': tensor '" + t.name() + "': bytes " +
                      std::to_string(x.offset) + " .. " +
                      std::to_string(x.offset + length) + " of '" + file +
                      "', which has " + std::to_string(sizes[file]) +
                      " (truncated?)");
  });
}

// "TYPE[d0,d1,...]" of a graph input or output, a dimension printed as its
// value or its symbolic name ("FLOAT[length,16]").
std::string signatureOf(const onnx::ValueInfoProto &v) {
  const onnx::TypeProto_Tensor &t = v.type().tensor_type();
  std::string s = onnx::TensorProto_DataType_Name(
                      static_cast<onnx::TensorProto_DataType>(t.elem_type())) +
                  "[";
  for (int d = 0; d < t.shape().dim_size(); ++d) {
    const onnx::TensorShapeProto_Dimension &dim = t.shape().dim(d);
    s += (d ? "," : "") + (dim.has_dim_value() ? std::to_string(dim.dim_value())
                                               : dim.dim_param());
  }
  return s + "]";
}

// Strict type and shape inference, as onnx.checker's full_check does. In
// place: it adds value_info (shapes of intermediate values) to the model,
// which is valid ONNX and spares a copy of the weights.
void inferShapesStrictly(onnx::ModelProto &model) {
  onnx::shape_inference::InferShapes(
      model, onnx::OpSchemaRegistry::Instance(),
      onnx::ShapeInferenceOptions(/*check_type=*/true, /*error_mode=*/1));
}

// Checks in place (see inferShapesStrictly).
void check(onnx::ModelProto &model, const std::string &what) {
  try {
    onnx::checker::check_model(model);
    inferShapesStrictly(model);
  } catch (const std::exception &e) {
    throw UserError("ONNX checker rejects " + what + ": " + e.what());
  }
}

// A model with external data, written at `path`: the checker resolves its
// data file's location from the path (only from a path).
void checkWritten(const onnx::ModelProto &model, const std::string &path,
                  const std::string &what) {
  try {
    onnx::checker::check_model(path);
  } catch (const std::exception &e) {
    throw UserError("ONNX checker rejects " + what + ": " + e.what());
  }
  checkExternalData(model, path);
}

void refuseAboveLimits(const Network &net, int64_t maxBytes, bool external) {
  const std::string what = "model '" + net.name + "'";
  const int64_t bytes = onnxWeightBytes(net);
  const std::string need =
      "cannot export " + what + " to ONNX: its weights need " +
      humanBytes(double(bytes)) + " (" + std::to_string(bytes) + " bytes)";
  // Streamed into the external data file, the weights are held once;
  // inline, twice at the peak: in the model, then serialized.
  if (external && bytes > maxBytes)
    throw UserError(need + ", above --memory-limit " +
                    humanBytes(double(maxBytes)) + "; use a smaller N");
  if (!external && 2 * bytes > maxBytes)
    throw UserError(need +
                    ", held twice while writing (the model and its "
                    "serialized file), above --memory-limit " +
                    humanBytes(double(maxBytes)) + "; use a smaller N");
  if (!external && bytes > kOnnxInlineLimit)
    throw UserError(need + ", but one .onnx file holds at most 2 GiB "
                           "(protobuf limit); write them to an external data "
                           "file (--onnx-external-data)");
}

// The model's versions, opset, metadata and graph names.
void describeModel(onnx::ModelProto &model, const TaskSpec &task,
                   const Network &net, const OnnxOptions &options) {
  model.set_ir_version(7); // the IR version of opset 13
  model.set_producer_name("handwire");
  model.set_producer_version("0.1.0");
  model.set_domain("handwire");
  model.set_model_version(1);
  model.set_doc_string(net.provenance.summary);
  onnx::OperatorSetIdProto &opset = *model.add_opset_import();
  opset.set_domain("");
  opset.set_version(kOnnxOpset);
  auto meta = [&](const std::string &k, const std::string &v) {
    onnx::StringStringEntryProto &p = *model.add_metadata_props();
    p.set_key(k);
    p.set_value(v);
  };
  meta("handwire.name", net.name);
  meta("handwire.task", taskKindName(task.kind));
  meta("handwire.architecture", architectureName(net.arch));
  meta("handwire.precision", precisionName(net.precision));
  meta("handwire.construction", net.provenance.construction);
  meta("handwire.result", net.provenance.result);
  meta("handwire.token_count", std::to_string(net.tokenCount));
  meta("handwire.class_count", std::to_string(net.classCount));
  meta("handwire.max_sequence_length", std::to_string(net.maxSequenceLength));
  // Only models with continuous inputs carry these (and only batched ones
  // handwire.batch), so that the other files stay as they were.
  if (const int64_t F = net.featureDim()) {
    meta("handwire.features", std::to_string(F));
    std::ostringstream norm;
    norm.precision(17);
    norm << net.transformer().embed.featureNorm;
    meta("handwire.feature_norm", norm.str());
  }
  if (options.batch)
    meta("handwire.batch", "leading batch axis on every input and output; "
                           "the sequences of a batch have one length");
  meta("handwire.decision",
       "argmax(logits); a tied maximum is no decision (-1)");

  onnx::GraphProto &g = *model.mutable_graph();
  g.set_name(std::string(taskKindName(task.kind)) + "." + net.name);
  const std::string F = std::to_string(net.featureDim());
  g.set_doc_string(
      "handwire " + std::string(architectureName(net.arch)) + " (" +
      net.provenance.construction + "). Input: token ids of " +
      (options.batch ? "a batch of sequences of one length, [batch, length]"
                     : "one sequence") +
      ", 1 <= length <= " + std::to_string(net.maxSequenceLength) + ", ids < " +
      std::to_string(net.tokenCount) +
      ". Outputs: logits, and decision = argmax(logits) or -1 on a tie" +
      (options.batch ? ", one per sequence." : ".") +
      (net.featureDim() > 0
           ? " Input features: float32 " +
                 (options.batch ? "[batch, length, " + F + "]"
                                : "[length, " + F + "]") +
                 ", row i the continuous input of position i (zero where "
                 "its token carries none)."
           : ""));
}

// The whole model, its initializers' bytes going to `store`.
onnx::ModelProto buildModel(const TaskSpec &task, const Network &net,
                            const OnnxOptions &options, TensorStore &store) {
  onnx::ModelProto model;
  describeModel(model, task, net, options);
  const onnx::TensorProto_DataType elem =
      net.precision == Precision::F64 ? onnx::TensorProto_DataType_DOUBLE
                                      : onnx::TensorProto_DataType_FLOAT;
  GraphBuilder b(*model.mutable_graph(), elem, "", store, options.batch);
  auto dims = [&](std::vector<std::string> d) {
    if (options.batch)
      d.insert(d.begin(), "batch");
    return d;
  };
  b.input("tokens", onnx::TensorProto_DataType_INT64, dims({"length"}));
  // Same symbolic length as tokens: one row per position.
  if (const int64_t F = net.featureDim())
    b.input("features", onnx::TensorProto_DataType_FLOAT,
            dims({"length", std::to_string(F)}));
  try {
    if (net.isTransformer())
      buildTransformer(b, net);
    else
      buildRnn(b, net);
  } catch (const std::bad_alloc &) {
    throw UserError("out of memory while exporting model '" + net.name +
                    "' to ONNX (" + humanBytes(double(onnxWeightBytes(net))) +
                    " of weights)");
  }
  emitDecision(b, "logits");
  b.output("logits", elem, dims({std::to_string(net.classCount)}));
  b.output("decision", onnx::TensorProto_DataType_INT64, dims({}));
  return model;
}

std::string serialize(const onnx::ModelProto &model, const std::string &what) {
  std::string out;
  if (!model.SerializeToString(&out))
    throw UserError("cannot serialize " + what + " to ONNX");
  return out;
}

void writeBytes(const std::string &path, const std::string &bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out)
    throw UserError("cannot write '" + path + "'");
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!out)
    throw UserError("error while writing '" + path + "'");
}

OnnxSummary summarize(const onnx::ModelProto &model, const std::string &what) {
  OnnxSummary s;
  s.irVersion = model.ir_version();
  for (const auto &o : model.opset_import())
    if (o.domain().empty() || o.domain() == "ai.onnx")
      s.opset = o.version();
  for (const auto &i : model.graph().input()) {
    s.inputs.push_back(i.name());
    s.signatures[i.name()] = signatureOf(i);
  }
  for (const auto &o : model.graph().output()) {
    s.outputs.push_back(o.name());
    s.signatures[o.name()] = signatureOf(o);
  }
  countOps(model.graph(), s.ops);
  forEachInitializer(model.graph(), [&](const onnx::TensorProto &t) {
    if (!isExternal(t)) {
      s.initializerBytes += static_cast<int64_t>(t.raw_data().size());
      return;
    }
    const ExternalExtent x = externalExtent(t, what);
    s.initializerBytes += x.length;
    s.externalBytes += x.length;
    if (std::find(s.externalFiles.begin(), s.externalFiles.end(), x.location) ==
        s.externalFiles.end())
      s.externalFiles.push_back(x.location);
  });
  for (const auto &p : model.metadata_props())
    s.metadata[p.key()] = p.value();
  return s;
}

} // namespace

int64_t onnxWeightBytes(const Network &net) {
  const int64_t f = net.precision == Precision::F64 ? 8 : 4;
  // Every matrix is exported dense, sparse ones too.
  auto size = [&](const auto &m) { return f * m.rows() * m.cols(); };
  int64_t bytes = size(net.readout.weight) + f * net.readout.bias.size();
  if (net.isTransformer()) {
    const TransformerBody &t = net.transformer();
    bytes +=
        size(t.embed.token) + size(t.embed.position) + size(t.embed.feature);
    for (const TransformerLayer &l : t.layers) {
      for (const AttentionHead &h : l.heads)
        bytes += size(h.query) + size(h.key) + size(h.value) + size(h.output);
      if (l.mlp)
        bytes += size(l.mlp->in) + size(l.mlp->out) +
                 f * (l.mlp->inBias.size() + l.mlp->outBias.size());
    }
  } else {
    const ElmanBody &e = net.elman();
    bytes += paddedBytes(e.recurrent, f) + paddedBytes(e.input, f);
    bytes += 2 * f * net.width;
    // A head layer: its padded rows, their shape (2 int64) and its bias.
    for (const HeadLayer &l : e.head) {
      const int64_t padded = paddedBytes(l.weight, f);
      bytes += padded + (padded ? 16 : 0) + f * l.bias.size();
    }
  }
  return bytes;
}

bool onnxUsesExternalData(const Network &net, const OnnxOptions &options) {
  return onnxWeightBytes(net) > options.externalDataAbove;
}

std::vector<std::string> onnxFileNames(const Network &net,
                                       const std::string &stem,
                                       const OnnxOptions &options) {
  if (onnxUsesExternalData(net, options))
    return {stem + ".onnx", stem + ".onnx.data"};
  return {stem + ".onnx"};
}

std::string onnxModelBytes(const TaskSpec &task, const Network &net,
                           int64_t maxBytes, const OnnxOptions &options) {
  const std::string what = "model '" + net.name + "'";
  if (onnxUsesExternalData(net, options))
    throw UserError("cannot export " + what +
                    " to ONNX in memory: its weights (" +
                    humanBytes(double(onnxWeightBytes(net))) +
                    ") go to an external data file (writeOnnx)");
  refuseAboveLimits(net, maxBytes, /*external=*/false);
  TensorStore inlined;
  onnx::ModelProto model = buildModel(task, net, options, inlined);
  check(model, what);
  return serialize(model, what);
}

std::vector<std::string> writeOnnx(const TaskSpec &task, const Network &net,
                                   const std::string &dir,
                                   const std::string &stem, int64_t maxBytes,
                                   const OnnxOptions &options) {
  std::error_code ec;
  fs::create_directories(dir.empty() ? "." : dir, ec);
  if (ec)
    throw UserError("cannot create output directory '" + dir +
                    "': " + ec.message());
  const std::vector<std::string> names = onnxFileNames(net, stem, options);
  const std::string path = (fs::path(dir) / names[0]).string();
  if (names.size() == 1) {
    writeBytes(path, onnxModelBytes(task, net, maxBytes, options));
    return {path};
  }
  // External data: the weights are streamed to the data file as the graph
  // is built; the .onnx holds the graph and the small constants.
  const std::string what = "model '" + net.name + "'";
  refuseAboveLimits(net, maxBytes, /*external=*/true);
  const std::string dataPath = (fs::path(dir) / names[1]).string();
  onnx::ModelProto model;
  {
    std::ofstream data(dataPath, std::ios::binary | std::ios::trunc);
    if (!data)
      throw UserError("cannot write '" + dataPath + "'");
    TensorStore external(data, names[1], dataPath);
    model = buildModel(task, net, options, external);
    data.close();
    if (!data)
      throw UserError("error while writing '" + dataPath + "'");
  }
  try {
    inferShapesStrictly(model);
  } catch (const std::exception &e) {
    throw UserError("ONNX checker rejects " + what + ": " + e.what());
  }
  writeBytes(path, serialize(model, what));
  checkWritten(model, path, what);
  return {path, dataPath};
}

OnnxSummary checkOnnxBytes(const std::string &bytes, const std::string &what) {
  onnx::ModelProto model;
  if (!model.ParseFromString(bytes))
    throw UserError("'" + what +
                    "' is not an ONNX model (protobuf parse failed)");
  if (hasExternalData(model))
    throw UserError("'" + what +
                    "' keeps weights in an external data file: check it "
                    "from its path, next to that file");
  check(model, "'" + what + "'");
  return summarize(model, "'" + what + "'");
}

OnnxSummary checkOnnxFile(const std::string &path) {
  // protobuf's own limit on one message is 2 GiB.
  const std::string bytes =
      readRegularFile(path, int64_t(2) << 30, "an ONNX file");
  onnx::ModelProto model;
  if (!model.ParseFromString(bytes))
    throw UserError("'" + path +
                    "' is not an ONNX model (protobuf parse failed)");
  if (!hasExternalData(model)) {
    check(model, "'" + path + "'");
    return summarize(model, "'" + path + "'");
  }
  try {
    inferShapesStrictly(model);
  } catch (const std::exception &e) {
    throw UserError("ONNX checker rejects '" + path + "': " + e.what());
  }
  checkWritten(model, path, "'" + path + "'");
  return summarize(model, "'" + path + "'");
}

} // namespace handwire
