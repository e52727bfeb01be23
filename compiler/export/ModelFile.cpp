#include "export/ModelFile.h"

#include "spec/Vocabulary.h"
#include "tasks/TaskJson.h"

#include "export/JsonForm.h"
#include "export/Safetensors.h"
#include "ir/Verifier.h"
#include "support/Diagnostics.h"
#include "support/FileIO.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <optional>
#include <set>
#include <tuple>
#include <type_traits>

namespace handwire {

using nlohmann::json;
namespace fs = std::filesystem;

namespace {

constexpr int kFormatVersion = 1;

// Tensors of a network, by their exported names, pointing into it.
struct TensorList {
  std::vector<TensorRef> refs;

  void dense(const std::string &name, const Matrix &m) {
    refs.push_back({name, DType::F32, {m.rows(), m.cols()}, m.data()});
  }
  void vec(const std::string &name, const Vector &v) {
    refs.push_back({name, DType::F32, {v.size()}, v.data()});
  }
  // A Transformer matrix as it is stored: dense, or CSR like the RNN's.
  void weights(const std::string &name, const WeightMatrix &m) {
    if (m.isSparse())
      csr(name, m.sparse());
    else
      dense(name, m.dense());
  }
  void csr(const std::string &name, const SparseMatrix &m) {
    static_assert(std::is_same_v<SparseMatrix::StorageIndex, int32_t>,
                  "CSR index arrays are written as I32 in place");
    HW_ASSERT(m.isCompressed(), "sparse weights must be compressed");
    refs.push_back({name + ".row_offsets",
                    DType::I32,
                    {m.outerSize() + 1},
                    m.outerIndexPtr()});
    refs.push_back(
        {name + ".columns", DType::I32, {m.nonZeros()}, m.innerIndexPtr()});
    refs.push_back(
        {name + ".values", DType::F32, {m.nonZeros()}, m.valuePtr()});
  }
};

TensorList tensorsOf(const Network &net) {
  TensorList t;
  if (net.isTransformer()) {
    const TransformerBody &b = net.transformer();
    t.weights("embed.token", b.embed.token);
    t.weights("embed.position", b.embed.position);
    if (b.embed.featureDim() > 0)
      t.weights("embed.feature", b.embed.feature);
    for (size_t l = 0; l < b.layers.size(); ++l) {
      const std::string L = "layers." + std::to_string(l);
      for (size_t h = 0; h < b.layers[l].heads.size(); ++h) {
        const std::string H = L + ".heads." + std::to_string(h);
        const AttentionHead &hd = b.layers[l].heads[h];
        t.weights(H + ".query", hd.query);
        t.weights(H + ".key", hd.key);
        t.weights(H + ".value", hd.value);
        t.weights(H + ".output", hd.output);
      }
      if (const auto &mlp = b.layers[l].mlp) {
        t.weights(L + ".mlp.in", mlp->in);
        t.vec(L + ".mlp.in_bias", mlp->inBias);
        t.weights(L + ".mlp.out", mlp->out);
        t.vec(L + ".mlp.out_bias", mlp->outBias);
      }
    }
  } else {
    const ElmanBody &e = net.elman();
    t.csr("rnn.recurrent", e.recurrent);
    t.csr("rnn.input", e.input);
    t.vec("rnn.bias", e.bias);
    t.vec("rnn.initial", e.initial);
    for (size_t k = 0; k < e.head.size(); ++k) {
      const std::string K = "rnn.head." + std::to_string(k);
      t.csr(K + ".weight", e.head[k].weight);
      t.vec(K + ".bias", e.head[k].bias);
    }
  }
  t.dense("readout.weight", net.readout.weight);
  t.vec("readout.bias", net.readout.bias);
  return t;
}

json configOf(const TaskSpec &task, const Network &net,
              const std::string &weightsFile) {
  json j;
  j["format"] = "handwire-model";
  j["version"] = kFormatVersion;
  j["name"] = net.name;
  j["task"] = taskToJson(task);
  j["architecture"] = architectureName(net.arch);
  j["precision"] = precisionName(net.precision);
  // What each token and class means and how an input is laid out, derived
  // from the task, so that a reader needs no compiler source.
  j["vocabulary"] = {{"token_count", net.tokenCount},
                     {"class_count", net.classCount},
                     {"max_sequence_length", net.maxSequenceLength},
                     {"tokens", vocabularyTokensJson(task)},
                     {"roles", roleMeaningsJson(task)}};
  j["input_layout"] = inputLayoutJson(task);
  j["classes"] = classesJson(task);
  j["width"] = net.width;
  j["residual_blocks"] = json::array();
  for (const auto &b : net.blocks)
    j["residual_blocks"].push_back({{"name", b.name},
                                    {"offset", b.offset},
                                    {"width", b.width},
                                    {"meaning", b.meaning}});
  if (net.isTransformer()) {
    j["forward"] = {
        {"kind", "transformer"},
        {"embedding",
         net.featureDim() > 0
             ? "x_i = embed.token[w_i] + embed.position[i] + embed.feature "
               "f_i, i 0-based, f_i the input vector at position i"
             : "x_i = embed.token[w_i] + embed.position[i], i 0-based"},
        {"attention", "causal softmax(q_i . k_j) over j <= i, max-subtracted; "
                      "scale folded into query; no 1/sqrt(d); no LayerNorm"},
        {"residual",
         "x_i += sum_h output_h (sum_j a_ij value_h x_j); then "
         "x_i += mlp.out relu(mlp.in x_i + mlp.in_bias) + mlp.out_bias"},
        {"readout",
         "logits = readout.weight x_last + readout.bias; decision = argmax"}};
    json layers = json::array();
    for (const auto &l : net.transformer().layers)
      layers.push_back({{"heads", l.heads.size()}, {"mlp", l.mlp.has_value()}});
    j["layers"] = layers;
    if (net.featureDim() > 0) {
      j["features"] = net.featureDim();
      j["feature_norm"] = net.transformer().embed.featureNorm;
    }
  } else {
    j["forward"] = {
        {"kind", "elman_rnn"},
        {"recurrence", "h_0 = rnn.initial; h_t = relu(rnn.recurrent h_{t-1} + "
                       "rnn.input[:, w_t] + rnn.bias)"},
        {"sparse",
         "rnn.recurrent and rnn.input are CSR: row_offsets, columns, values"},
        {"readout",
         "logits = readout.weight h_last + readout.bias; decision = argmax"}};
    // A read-out head is written only when there is one, so that models
    // without it keep their files byte for byte.
    const std::vector<HeadLayer> &head = net.elman().head;
    if (!head.empty()) {
      j["forward"]["head"] =
          "z_0 = h_last; z_{k+1} = relu(rnn.head.k.weight z_k + "
          "rnn.head.k.bias) for k < head_layers";
      j["forward"]["sparse"] = "rnn.recurrent, rnn.input and rnn.head.k.weight "
                               "are CSR: row_offsets, columns, values";
      j["forward"]["readout"] =
          "logits = readout.weight z_last + readout.bias; decision = argmax";
      j["head_layers"] = head.size();
    }
  }
  j["provenance"] = {{"construction", net.provenance.construction},
                     {"result", net.provenance.result},
                     {"source", net.provenance.source},
                     {"summary", net.provenance.summary}};
  j["certificate"] = certificateToJson(net.certificate);
  j["weights"] = weightsFile;
  return j;
}

// --- reading ---------------------------------------------------------------

class WeightReader {
public:
  WeightReader(std::string path, SafetensorsFile file)
      : path_(std::move(path)), file_(std::move(file)) {}

  const Tensor &find(const std::string &name, DType dtype) {
    auto it = file_.tensors.find(name);
    if (it == file_.tensors.end())
      throw UserError("'" + path_ + "': tensor '" + name + "' is missing");
    if (it->second.dtype != dtype)
      throw UserError("'" + path_ + "': tensor '" + name + "' has dtype " +
                      dtypeName(it->second.dtype) + ", expected " +
                      dtypeName(dtype));
    used_.insert(name);
    return it->second;
  }
  Matrix dense(const std::string &name, int64_t rows, int64_t cols) {
    const Tensor &t = find(name, DType::F32);
    if (t.shape != std::vector<int64_t>{rows, cols})
      throw UserError("'" + path_ + "': tensor '" + name +
                      "' should have shape [" + std::to_string(rows) + ", " +
                      std::to_string(cols) + "]");
    return Eigen::Map<const Matrix>(t.f32(), rows, cols);
  }
  Matrix denseRows(const std::string &name, int64_t cols) {
    const Tensor &t = find(name, DType::F32);
    if (t.shape.size() != 2 || t.shape[1] != cols || t.shape[0] < 1 ||
        t.shape[0] > (1 << 24))
      throw UserError("'" + path_ + "': tensor '" + name +
                      "' should have shape [*, " + std::to_string(cols) + "]");
    return Eigen::Map<const Matrix>(t.f32(), t.shape[0], cols);
  }
  // A Transformer matrix: dense if the file has `name`, else CSR.
  WeightMatrix weights(const std::string &name, int64_t rows, int64_t cols) {
    if (file_.tensors.count(name) || !file_.tensors.count(name + ".values"))
      return dense(name, rows, cols);
    return csr(name, rows, cols);
  }
  WeightMatrix weightsRows(const std::string &name, int64_t cols) {
    if (file_.tensors.count(name) || !file_.tensors.count(name + ".values"))
      return denseRows(name, cols);
    return csrRows(name, cols);
  }
  Vector vec(const std::string &name, int64_t n) {
    const Tensor &t = find(name, DType::F32);
    if (t.shape != std::vector<int64_t>{n})
      throw UserError("'" + path_ + "': tensor '" + name +
                      "' should have shape [" + std::to_string(n) + "]");
    return Eigen::Map<const Vector>(t.f32(), n);
  }
  // A CSR matrix whose row count the file decides (a read-out head layer's
  // width): 1 to 2^24 rows.
  SparseMatrix csrRows(const std::string &name, int64_t cols) {
    const Tensor &offsets = find(name + ".row_offsets", DType::I32);
    const int64_t rows = offsets.elements() - 1;
    if (offsets.shape.size() != 1 || rows < 1 || rows > (1 << 24))
      throw UserError("'" + path_ + "': sparse tensor '" + name +
                      "' should have 1 to 2^24 rows (row_offsets of shape "
                      "[rows + 1])");
    return csr(name, rows, cols);
  }
  SparseMatrix csr(const std::string &name, int64_t rows, int64_t cols) {
    const Tensor &offsets = find(name + ".row_offsets", DType::I32);
    const Tensor &columns = find(name + ".columns", DType::I32);
    const Tensor &values = find(name + ".values", DType::F32);
    auto bad = [&](const std::string &what) {
      return UserError("'" + path_ + "': sparse tensor '" + name + "' " + what);
    };
    if (offsets.elements() != rows + 1 ||
        columns.elements() != values.elements())
      throw bad("has inconsistent row_offsets/columns/values lengths");
    const int32_t *o = offsets.i32(), *c = columns.i32();
    const int64_t nnz = values.elements();
    if (o[0] != 0 || o[rows] != nnz)
      throw bad("row_offsets must start at 0 and end at the number of values");
    // All offsets first: a row that ends past the values (o = [0, 100, 5])
    // must be refused before its columns are read.
    for (int64_t r = 0; r < rows; ++r)
      if (o[r + 1] < o[r])
        throw bad("row_offsets must not decrease");
    for (int64_t r = 0; r < rows; ++r) {
      for (int32_t k = o[r]; k < o[r + 1]; ++k)
        if (c[k] < 0 || c[k] >= cols || (k > o[r] && c[k] <= c[k - 1]))
          throw bad("has a column index out of range or out of order in row " +
                    std::to_string(r));
    }
    SparseMatrix m(rows, cols);
    m.resizeNonZeros(nnz);
    std::copy(o, o + rows + 1, m.outerIndexPtr());
    std::copy(c, c + nnz, m.innerIndexPtr());
    std::copy(values.f32(), values.f32() + nnz, m.valuePtr());
    return m;
  }
  // Every tensor of the file must belong to the model: an extra one means
  // the config and the weights disagree (a layer or head the config lost).
  void checkAllUsed() const {
    for (const auto &[name, t] : file_.tensors)
      if (!used_.count(name))
        throw UserError("'" + path_ + "': tensor '" +
                        JsonReader::clipped(name) +
                        "' is not part of the model its config describes");
  }

private:
  static const char *dtypeName(DType t) {
    return t == DType::F32 ? "F32" : "I32";
  }
  std::string path_;
  SafetensorsFile file_;
  std::set<std::string> used_;
};

} // namespace

int64_t TensorInfo::elements() const {
  int64_t n = 1;
  for (int64_t d : shape)
    n *= d;
  return n;
}

std::vector<TensorRef> networkTensors(const Network &net) {
  return tensorsOf(net).refs;
}

std::vector<TensorInfo> listTensors(const Network &net) {
  TensorList t = tensorsOf(net);
  std::vector<TensorInfo> out;
  for (const auto &r : t.refs)
    out.push_back({r.name, r.dtype == DType::F32 ? "F32" : "I32", r.shape});
  std::sort(
      out.begin(), out.end(),
      [](const TensorInfo &a, const TensorInfo &b) { return a.name < b.name; });
  return out;
}

std::string modelConfigJson(const TaskSpec &task, const Network &net,
                            const std::string &weightsFile) {
  return configOf(task, net, weightsFile).dump(2) + "\n";
}

ModelPaths writeModel(const TaskSpec &task, const Network &net,
                      const std::string &dir, const std::string &stem) {
  std::error_code ec;
  fs::create_directories(dir.empty() ? "." : dir, ec);
  if (ec)
    throw UserError("cannot create output directory '" + dir +
                    "': " + ec.message());
  ModelPaths paths;
  paths.weights = (fs::path(dir) / (stem + ".safetensors")).string();
  paths.config = (fs::path(dir) / (stem + ".json")).string();
  TensorList tensors = tensorsOf(net);
  writeSafetensors(paths.weights, tensors.refs,
                   {{"format", "handwire-model"}, {"config", stem + ".json"}});
  std::ofstream out(paths.config, std::ios::trunc);
  if (!out)
    throw UserError("cannot write '" + paths.config + "'");
  out << modelConfigJson(task, net, stem + ".safetensors");
  out.close(); // the last buffer is written here: check after it
  if (!out)
    throw UserError("error while writing '" + paths.config + "'");
  return paths;
}

namespace {
constexpr int64_t kMaxConfigBytes = int64_t(64) << 20;

// The config's text, at most 64 MiB.
std::string readConfigText(const std::string &configPath) {
  return readRegularFile(configPath, kMaxConfigBytes, "a model config");
}

// The config's JSON with its format and version checked.
json readConfigJson(const std::string &text, const std::string &configPath,
                    JsonReader &r) {
  json j;
  if (static_cast<int64_t>(text.size()) > kMaxConfigBytes)
    throw UserError("'" + configPath + "' is too large for a model config");
  try {
    j = json::parse(text);
  } catch (const json::exception &e) {
    // Clipped: the parser quotes what it read, which may be megabytes.
    throw UserError("'" + configPath + "' is not valid JSON: " +
                    JsonReader::clipped(e.what(), 300));
  }
  if (!j.is_object() || !j.contains("format") ||
      j["format"] != "handwire-model")
    throw UserError("'" + configPath +
                    "' is not a handwire model config (no "
                    "\"format\": \"handwire-model\")");
  if (r.integer(j, "version", "", 1, 1000) != kFormatVersion)
    r.fail("version", "is not supported (this handwire reads version " +
                          std::to_string(kFormatVersion) + ")");
  return j;
}

// Name, architecture, precision and vocabulary. The task fixes the
// vocabulary, and the network must take its longest input: a file that
// disagrees with its own task was edited by hand or written by something else.
void readHeaderFields(const json &j, const TaskSpec &task, JsonReader &r,
                      Network &net) {
  net.task = task.kind;
  net.name = r.name(j, "name", "");
  const std::string arch = r.string(j, "architecture", "");
  if (arch != "transformer" && arch != "rnn")
    r.fail("architecture", "must be \"transformer\" or \"rnn\"");
  net.arch = arch == "rnn" ? Architecture::RNN : Architecture::Transformer;
  const std::string prec = r.string(j, "precision", "");
  const std::optional<Precision> precision = precisionByName(prec);
  if (!precision)
    r.fail("precision", "must be \"f32\", \"f64\", \"f16\" or \"bf16\"");
  net.precision = *precision;
  const json &voc = r.get(j, "vocabulary", "");
  net.tokenCount =
      r.integer(voc, "token_count", "vocabulary.", 1, int64_t(1) << 27);
  net.classCount = r.integer(voc, "class_count", "vocabulary.", 1, 65536);
  net.maxSequenceLength = r.integer(voc, "max_sequence_length", "vocabulary.",
                                    1, (int64_t(1) << 26) + 1);
  const Vocabulary implied = vocabularyOf(task);
  auto agree = [&](const char *field, int64_t got, int64_t want) {
    if (got != want)
      r.fail(std::string("vocabulary.") + field, "is " + std::to_string(got) +
                                                     ", but the task implies " +
                                                     std::to_string(want));
  };
  agree("token_count", net.tokenCount, implied.tokenCount);
  agree("class_count", net.classCount, implied.classCount);
  if (net.maxSequenceLength < implied.maxSequenceLength)
    r.fail("vocabulary.max_sequence_length",
           "is " + std::to_string(net.maxSequenceLength) +
               ", shorter than the task's longest input (" +
               std::to_string(implied.maxSequenceLength) + " tokens)");
}

// Where `got` first differs from `want`: the field's path (from `at`) and
// what is wrong; nullopt if they are equal.
using Difference = std::optional<std::pair<std::string, std::string>>;
Difference firstDifference(const json &got, const json &want,
                           const std::string &at) {
  if (got.is_object() && want.is_object()) {
    for (auto it = want.begin(); it != want.end(); ++it) {
      const std::string field = at + "." + it.key();
      if (!got.contains(it.key()))
        return std::pair(field, std::string("is missing"));
      if (Difference d = firstDifference(got.at(it.key()), it.value(), field))
        return d;
    }
    for (auto it = got.begin(); it != got.end(); ++it)
      if (!want.contains(it.key()))
        return std::pair(at + "." + it.key(),
                         std::string("is not implied by the task"));
    return std::nullopt;
  }
  if (got.is_array() && want.is_array()) {
    for (size_t i = 0; i < std::min(got.size(), want.size()); ++i)
      if (Difference d = firstDifference(got[i], want[i],
                                         at + "[" + std::to_string(i) + "]"))
        return d;
    if (got.size() != want.size())
      return std::pair(at, "has " + std::to_string(got.size()) +
                               " entries, but the task implies " +
                               std::to_string(want.size()));
    return std::nullopt;
  }
  if (got != want)
    return std::pair(at, "is " + JsonReader::shown(got) +
                             ", but the task implies " +
                             JsonReader::shown(want));
  return std::nullopt;
}

// The task's self-description (vocabulary.tokens and .roles, input_layout,
// classes): optional, since older files lack it, but a file that has it must
// say what the task implies, or a reader trusting it would be misled.
void checkDescription(const json &j, const TaskSpec &task,
                      const JsonReader &r) {
  const json &voc = j.at("vocabulary"); // readHeaderFields checked it
  const std::tuple<const json &, const char *, const char *, json> sections[] =
      {{voc, "tokens", "vocabulary.tokens", vocabularyTokensJson(task)},
       {voc, "roles", "vocabulary.roles", roleMeaningsJson(task)},
       {j, "input_layout", "input_layout", inputLayoutJson(task)},
       {j, "classes", "classes", classesJson(task)}};
  for (const auto &[parent, key, path, want] : sections)
    if (parent.contains(key))
      if (Difference d = firstDifference(parent.at(key), want, path))
        r.fail(d->first, d->second);
}

// Width, residual blocks, provenance and certificate.
void readLayoutFields(const json &j, JsonReader &r, Network &net) {
  net.width = r.integer(j, "width", "", 1, int64_t(1) << 30);
  // Each block is at least one dimension wide.
  const json &blocks =
      r.array(j, "residual_blocks", "", 1, static_cast<size_t>(net.width));
  for (size_t i = 0; i < blocks.size(); ++i) {
    const std::string at = "residual_blocks[" + std::to_string(i) + "].";
    const json &b = blocks[i];
    net.blocks.push_back({r.name(b, "name", at),
                          r.integer(b, "offset", at, 0, net.width - 1),
                          r.integer(b, "width", at, 1, net.width),
                          r.stringOr(b, "meaning", at, "")});
  }
  const json &prov = r.object(j, "provenance", "");
  net.provenance = {r.string(prov, "construction", "provenance."),
                    r.string(prov, "result", "provenance."),
                    r.stringOr(prov, "source", "provenance.", ""),
                    r.stringOr(prov, "summary", "provenance.", "")};
  net.certificate = certificateFromJson(r.get(j, "certificate", ""), r);
}

TransformerBody readTransformerBody(const json &j, const Network &net,
                                    const JsonReader &r, WeightReader &w) {
  const int64_t D = net.width;
  TransformerBody body;
  body.embed.token = w.weights("embed.token", net.tokenCount, D);
  body.embed.position = w.weights("embed.position", net.maxSequenceLength, D);
  // Continuous inputs (F numbers per position), absent in token-only models.
  if (const int64_t F = r.integerOr(j, "features", "", 1, kMaxFeatureDim, 0)) {
    body.embed.feature = w.weights("embed.feature", D, F);
    body.embed.featureNorm = r.number(j, "feature_norm", "", 0, 1e6);
  }
  const json &layers = r.array(j, "layers", "", 1, 64);
  for (size_t l = 0; l < layers.size(); ++l) {
    const std::string L = "layers." + std::to_string(l);
    const std::string at = "layers[" + std::to_string(l) + "].";
    TransformerLayer layer;
    const int64_t heads = r.integer(layers[l], "heads", at, 0, 64);
    for (int64_t h = 0; h < heads; ++h) {
      const std::string H = L + ".heads." + std::to_string(h);
      AttentionHead hd;
      hd.query = w.weightsRows(H + ".query", D);
      hd.key = w.weights(H + ".key", hd.query.rows(), D);
      hd.value = w.weightsRows(H + ".value", D);
      hd.output = w.weights(H + ".output", D, hd.value.rows());
      layer.heads.push_back(std::move(hd));
    }
    if (r.booleanOr(layers[l], "mlp", at, false)) {
      MLP mlp;
      mlp.in = w.weightsRows(L + ".mlp.in", D);
      mlp.inBias = w.vec(L + ".mlp.in_bias", mlp.in.rows());
      mlp.out = w.weights(L + ".mlp.out", D, mlp.in.rows());
      mlp.outBias = w.vec(L + ".mlp.out_bias", D);
      layer.mlp = std::move(mlp);
    }
    body.layers.push_back(std::move(layer));
  }
  return body;
}

ElmanBody readElmanBody(const json &j, const Network &net, const JsonReader &r,
                        WeightReader &w) {
  const int64_t D = net.width;
  ElmanBody body;
  body.recurrent = w.csr("rnn.recurrent", D, D);
  body.input = w.csr("rnn.input", D, net.tokenCount);
  body.bias = w.vec("rnn.bias", D);
  body.initial = w.vec("rnn.initial", D);
  const int64_t headLayers = r.integerOr(j, "head_layers", "", 0, 64, 0);
  int64_t in = D;
  for (int64_t k = 0; k < headLayers; ++k) {
    const std::string K = "rnn.head." + std::to_string(k);
    HeadLayer layer;
    layer.weight = w.csrRows(K + ".weight", in);
    layer.bias = w.vec(K + ".bias", layer.weight.rows());
    in = layer.weight.rows();
    body.head.push_back(std::move(layer));
  }
  return body;
}
} // namespace

LoadedModel readModel(const std::string &configPath, int64_t maxBytes) {
  return readModelText(readConfigText(configPath), configPath,
                       [&](const std::string &weightsPath) {
                         return readSafetensors(weightsPath, maxBytes);
                       });
}

LoadedModel readModelText(const std::string &configText,
                          const std::string &configPath,
                          const WeightsReader &weights) {
  JsonReader r(configPath);
  const json j = readConfigJson(configText, configPath, r);

  LoadedModel m;
  // The same ranges as a .task file (tasks/TaskDefinition.h).
  m.task = taskFromJson(r.get(j, "task", ""), r);
  Network &net = m.net;
  readHeaderFields(j, m.task, r, net);
  checkDescription(j, m.task, r);
  readLayoutFields(j, r, net);

  const std::string weightsName = r.name(j, "weights", "");
  if (weightsName.find('/') != std::string::npos || weightsName == "." ||
      weightsName == "..")
    r.fail("weights", "must be a plain file name next to the config");
  const std::string weightsPath =
      (fs::path(configPath).parent_path() / weightsName).string();
  WeightReader w(weightsPath, weights(weightsPath));
  if (net.arch == Architecture::Transformer)
    net.body = readTransformerBody(j, net, r, w);
  else
    net.body = readElmanBody(j, net, r, w);
  net.readout.weight =
      w.dense("readout.weight", net.classCount, net.readoutWidth());
  net.readout.bias = w.vec("readout.bias", net.classCount);
  w.checkAllUsed();

  std::vector<std::string> problems = verifyNetwork(net);
  if (!problems.empty())
    throw UserError("'" + configPath +
                    "' describes an inconsistent network: " + problems.front());
  return m;
}

} // namespace handwire
