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
#include "export/Onnx.h"

#include "support/Diagnostics.h"
#include "support/FileIO.h"

#include <onnx/checker.h>
#include <onnx/onnx_pb.h>
#include <onnx/shape_inference/implementation.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <sstream>

namespace handwire {
namespace {

namespace fs = std::filesystem;

// A single .onnx file is one protobuf message, which cannot exceed 2 GiB;
// leave room for the graph itself.
constexpr int64_t kProtobufLimit = (int64_t(2) << 30) - (int64_t(64) << 20);

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

// Builds one GraphProto: fresh value names, initializers, nodes.
class GraphBuilder {
public:
  GraphBuilder(onnx::GraphProto &g, onnx::TensorProto_DataType elem,
               std::string prefix)
      : g_(g), elem_(elem), prefix_(std::move(prefix)) {}

  onnx::TensorProto_DataType elem() const { return elem_; }

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
      t.set_raw_data(std::string(reinterpret_cast<const char *>(data),
                                 static_cast<size_t>(n) * sizeof(float)));
    } else {
      std::vector<double> d(data, data + n);
      t.set_raw_data(std::string(reinterpret_cast<const char *>(d.data()),
                                 d.size() * sizeof(double)));
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
    t.set_raw_data(std::string(reinterpret_cast<const char *>(data.data()),
                               data.size() * sizeof(int64_t)));
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

// logits -> decision: ArgMax, or -1 if the maximum is not unique.
void emitDecision(GraphBuilder &b, const std::string &logits) {
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
// body reads its weights from the outer graph). Returns "" if W is zero.
std::string sparseProduct(GraphBuilder &weights, GraphBuilder &ops,
                          const std::string &name, const SparseMatrix &W,
                          const std::string &x, const std::string &axis1,
                          const std::string &hint) {
  const PaddedRows p = paddedRows(W, 0);
  if (!p.width)
    return "";
  const int64_t n = p.rows * p.width;
  const std::string cols = weights.int64s(name + ".columns", {n}, p.columns);
  const std::string vals =
      weights.floats(name + ".values", {n}, p.values.data());
  const std::string shape =
      weights.int64s(name + ".shape", {2}, {p.rows, p.width});
  const std::string g = ops.op("GatherElements", {x, cols}, hint + ".gathered");
  const std::string prod = ops.op("Mul", {g, vals}, hint + ".products");
  const std::string rows = ops.op("Reshape", {prod, shape}, hint + ".by_row");
  return ops.op("ReduceSum", {rows, axis1}, hint,
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
  const std::string kT = b.op("Transpose", {k}, H + ".k_T", [](auto &n) {
    setInts(n, "perm", {1, 0});
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

void buildTransformer(GraphBuilder &b, const Network &net) {
  const TransformerBody &t = net.transformer();
  const std::string tokens = "tokens";
  const std::string length = b.op("Shape", {tokens}, "length"); // [1]
  const std::string zero1 = b.int64s("const.zero_1", {1}, {0});
  const std::string one1 = b.int64s("const.one_1", {1}, {1});
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
        lastLayer ? b.op("Gather", {X, lastIndex}, L + ".last") : X;
    const std::string after = transformerLayer(b, t.layers[l], L, rows, X,
                                               lastLayer ? nullptr : &mask);
    if (lastLayer)
      last = after;
    else
      X = after;
  }
  if (last.empty())
    last = b.op("Gather", {X, lastIndex}, "last");
  const std::string logits2 =
      b.op("Add",
           {b.op("MatMul",
                 {last, b.transposed("readout.weight_T", net.readout.weight)},
                 "readout"),
            b.vector("readout.bias", net.readout.bias)},
           "logits_row");
  b.opTo("Reshape", {logits2, b.int64s("const.flat", {1}, {-1})}, "logits");
}

void buildRnn(GraphBuilder &b, const Network &net) {
  const ElmanBody &e = net.elman();
  const int64_t H = net.width;
  const PaddedRows U = paddedRows(e.input, -1); // -1 matches no token

  // Outer-scope initializers, read by the loop body (the recurrence's are
  // added by sparseProduct).
  const std::string uCols =
      U.width ? b.int64s("rnn.input.columns", {H, U.width}, U.columns) : "";
  const std::string uVals =
      U.width ? b.floats("rnn.input.values", {H, U.width}, U.values.data())
              : "";
  const std::string bias = b.vector("rnn.bias", e.bias);
  const std::string initial = b.vector("rnn.initial", e.initial);
  const std::string axis1 = b.int64s("const.axis_1", {1}, {1});
  const std::string zero = b.scalar("const.zero_f", 0.0f);

  // The loop body: (h_prev, token) -> (h, nothing scanned out).
  onnx::GraphProto body;
  body.set_name("rnn_step");
  GraphBuilder s(body, b.elem(), "step.");
  s.input("h_prev", b.elem(), {std::to_string(H)});
  s.input("token", onnx::TensorProto_DataType_INT64, {});
  const std::string wh = sparseProduct(b, s, "rnn.recurrent", e.recurrent,
                                       "h_prev", axis1, "recurrent");
  std::string pre = wh.empty() // W = 0: W h + bias = bias
                        ? s.op("Identity", {bias}, "plus_bias")
                        : s.op("Add", {wh, bias}, "plus_bias");
  if (U.width) {
    const std::string hit = s.op("Equal", {uCols, "token"}, "input_hit");
    const std::string sel = s.op("Where", {hit, uVals, zero}, "input_entries");
    const std::string u = s.op("ReduceSum", {sel, axis1}, "input",
                               [](auto &n) { setInt(n, "keepdims", 0); });
    pre = s.op("Add", {pre, u}, "pre_activation");
  }
  s.opTo("Relu", {pre}, "h");
  s.output("h", b.elem(), {std::to_string(H)});

  onnx::NodeProto &scan = b.opTo("Scan", {initial, "tokens"}, "h_final");
  setInt(scan, "num_scan_inputs", 1);
  onnx::AttributeProto &a = *scan.add_attribute();
  a.set_name("body");
  a.set_type(onnx::AttributeProto_AttributeType_GRAPH);
  *a.mutable_g() = std::move(body);

  // The read-out head: sparse ReLU layers on the final state.
  std::string z = "h_final";
  for (size_t k = 0; k < e.head.size(); ++k) {
    const std::string K = "rnn.head." + std::to_string(k);
    const std::string wz = sparseProduct(b, b, K + ".weight", e.head[k].weight,
                                         z, axis1, K + ".product");
    const std::string bias = b.vector(K + ".bias", e.head[k].bias);
    const std::string pre = wz.empty() // W = 0: W z + bias = bias
                                ? b.op("Identity", {bias}, K + ".pre")
                                : b.op("Add", {wz, bias}, K + ".pre");
    z = b.op("Relu", {pre}, K + ".out");
  }
  const std::string logits = b.op(
      "MatMul", {b.matrix("readout.weight", net.readout.weight), z}, "readout");
  b.opTo("Add", {logits, b.vector("readout.bias", net.readout.bias)}, "logits");
}

void countOps(const onnx::GraphProto &g, std::map<std::string, int64_t> &ops,
              int64_t &bytes) {
  for (const auto &t : g.initializer())
    bytes += static_cast<int64_t>(t.raw_data().size());
  for (const auto &n : g.node()) {
    ++ops[n.op_type()];
    for (const auto &a : n.attribute())
      if (a.has_g())
        countOps(a.g(), ops, bytes);
  }
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

// Checks in place: strict inference adds value_info (shapes of intermediate
// values) to the model, which is valid ONNX and spares a copy of the weights.
void check(onnx::ModelProto &model, const std::string &what) {
  try {
    onnx::checker::check_model(model);
    // Strict type and shape inference, as onnx.checker's full_check does.
    onnx::shape_inference::InferShapes(
        model, onnx::OpSchemaRegistry::Instance(),
        onnx::ShapeInferenceOptions(/*check_type=*/true, /*error_mode=*/1));
  } catch (const std::exception &e) {
    throw UserError("ONNX checker rejects " + what + ": " + e.what());
  }
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

std::string onnxModelBytes(const TaskSpec &task, const Network &net,
                           int64_t maxBytes) {
  const std::string what = "model '" + net.name + "'";
  const int64_t bytes = onnxWeightBytes(net);
  // The weights are held twice at the peak: in the model, then serialized.
  if (2 * bytes > maxBytes)
    throw UserError("cannot export " + what + " to ONNX: its weights need " +
                    humanBytes(double(bytes)) + " (" + std::to_string(bytes) +
                    " bytes), held twice while writing (the model and its "
                    "serialized file), above --memory-limit " +
                    humanBytes(double(maxBytes)) + "; use a smaller N");
  if (bytes > kProtobufLimit)
    throw UserError("cannot export " + what + " to ONNX: its weights need " +
                    humanBytes(double(bytes)) + " (" + std::to_string(bytes) +
                    " bytes), but one .onnx file holds at most 2 GiB "
                    "(protobuf limit); use a smaller N");

  onnx::ModelProto model;
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
  // Only models with continuous inputs carry these, so that token-only
  // models' files stay as they were.
  if (const int64_t F = net.featureDim()) {
    meta("handwire.features", std::to_string(F));
    std::ostringstream norm;
    norm.precision(17);
    norm << net.transformer().embed.featureNorm;
    meta("handwire.feature_norm", norm.str());
  }
  meta("handwire.decision",
       "argmax(logits); a tied maximum is no decision (-1)");

  const onnx::TensorProto_DataType elem =
      net.precision == Precision::F64 ? onnx::TensorProto_DataType_DOUBLE
                                      : onnx::TensorProto_DataType_FLOAT;
  onnx::GraphProto &g = *model.mutable_graph();
  g.set_name(std::string(taskKindName(task.kind)) + "." + net.name);
  g.set_doc_string(
      "handwire " + std::string(architectureName(net.arch)) + " (" +
      net.provenance.construction +
      "). Input: token ids of one sequence, 1 <= length <= " +
      std::to_string(net.maxSequenceLength) + ", ids < " +
      std::to_string(net.tokenCount) +
      ". Outputs: logits, and decision = argmax(logits) or -1 on a tie." +
      (net.featureDim() > 0
           ? " Input features: float32 [length, " +
                 std::to_string(net.featureDim()) +
                 "], row i the continuous input of position i (zero where "
                 "its token carries none)."
           : ""));
  GraphBuilder b(g, elem, "");
  b.input("tokens", onnx::TensorProto_DataType_INT64, {"length"});
  // Same symbolic length as tokens: one row per position.
  if (const int64_t F = net.featureDim())
    b.input("features", onnx::TensorProto_DataType_FLOAT,
            {"length", std::to_string(F)});
  try {
    if (net.isTransformer())
      buildTransformer(b, net);
    else
      buildRnn(b, net);
  } catch (const std::bad_alloc &) {
    throw UserError("out of memory while exporting " + what + " to ONNX (" +
                    humanBytes(double(bytes)) + " of weights)");
  }
  emitDecision(b, "logits");
  b.output("logits", elem, {std::to_string(net.classCount)});
  b.output("decision", onnx::TensorProto_DataType_INT64, {});

  check(model, what);
  std::string out;
  if (!model.SerializeToString(&out))
    throw UserError("cannot serialize " + what + " to ONNX");
  return out;
}

std::string writeOnnx(const TaskSpec &task, const Network &net,
                      const std::string &dir, const std::string &stem,
                      int64_t maxBytes) {
  const std::string bytes = onnxModelBytes(task, net, maxBytes);
  std::error_code ec;
  fs::create_directories(dir.empty() ? "." : dir, ec);
  if (ec)
    throw UserError("cannot create output directory '" + dir +
                    "': " + ec.message());
  const std::string path = (fs::path(dir) / (stem + ".onnx")).string();
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out)
    throw UserError("cannot write '" + path + "'");
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!out)
    throw UserError("error while writing '" + path + "'");
  return path;
}

OnnxSummary checkOnnxBytes(const std::string &bytes, const std::string &what) {
  onnx::ModelProto model;
  if (!model.ParseFromString(bytes))
    throw UserError("'" + what +
                    "' is not an ONNX model (protobuf parse failed)");
  check(model, "'" + what + "'");
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
  countOps(model.graph(), s.ops, s.initializerBytes);
  for (const auto &p : model.metadata_props())
    s.metadata[p.key()] = p.value();
  return s;
}

OnnxSummary checkOnnxFile(const std::string &path) {
  // protobuf's own limit on one message is 2 GiB.
  return checkOnnxBytes(readRegularFile(path, int64_t(2) << 30, "an ONNX file"),
                        path);
}

} // namespace handwire
