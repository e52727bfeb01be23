// libFuzzer target for compiled model files (export/ModelFile.cpp,
// Safetensors.cpp, JsonForm.cpp, tasks/TaskJson.cpp): reading the JSON config
// and its safetensors weights, then what `inspect` and `eval` do with a model
// that loads: the reports, the precision certificate, the forward plans, the
// ONNX export and a few inputs through the reference evaluator. Any crash,
// sanitizer report, leak, hang or escaping exception other than UserError is a
// bug: a corrupt file must only ever be refused with a message.
//
// An input is the config's text, optionally followed by a line
// "#safetensors" and the weights file's bytes (kSeparator):
//   {"format": "handwire-model", ...}\n#safetensors\n<8-byte length>{...}...
// The custom mutator below knows this framing and both JSON documents: it
// changes values, keys and list lengths, and the weights' header and data,
// rather than bytes only (which would mostly break the JSON syntax).
#include "analysis/PrecisionCertificate.h"
#include "analysis/SeparationCard.h"
#include "codegen/ForwardPlan.h"
#include "eval/Evaluate.h"
#include "export/ModelFile.h"
#include "export/Onnx.h"
#include "export/Safetensors.h"
#include "reference/Evaluator.h"
#include "report/ModelReport.h"
#include "support/Diagnostics.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <vector>

using namespace handwire;
using nlohmann::json;

namespace {

const std::string kSeparator = "\n#safetensors\n";

struct Parts {
  std::string config, weights;
};

Parts split(const std::string &input) {
  const size_t at = input.find(kSeparator);
  if (at == std::string::npos)
    return {input, ""};
  return {input.substr(0, at), input.substr(at + kSeparator.size())};
}

// What inspect and eval do with a model that loads, where it is small
// enough that one input stays fast.
void exercise(const LoadedModel &m) {
  const Network &net = m.net;
  std::ostringstream os;
  printTaskLine(os, m.task);
  printModelLine(os, net);
  printCertificate(os, net);
  const SeparationCard card = separationCard(m.task, net);
  printSeparationCard(os, card);
  (void)separationCardJson(card).dump();
  (void)certificateJson(net).dump();
  (void)taskJson(m.task).dump();
  (void)listTensors(net);
  (void)modelConfigJson(m.task, net, "m.safetensors");

  double floats = 0;
  for (const TensorInfo &t : listTensors(net))
    floats += static_cast<double>(t.elements());
  if (floats > 2e5 || net.width > 512 || net.maxSequenceLength > 300 ||
      m.task.maxLength > 256 || net.tokenCount > 4096)
    return;
  (void)precisionVerdicts(net);
  for (std::optional<StorageFormat> storage :
       {std::optional<StorageFormat>(), std::optional(StorageFormat::BF16),
        std::optional(StorageFormat::F16)}) {
    ForwardPlan plan = planForward(net, storage);
    plan.fillTables();
  }
  // compile --emit onnx (its checker refuses what the exporter got wrong).
  (void)onnxModelBytes(m.task, net, int64_t(64) << 20);
  ReferenceBackend<float> f32(net);
  ReferenceBackend<double> f64(net);
  LowPrecisionBackend bf16(net, StorageFormat::BF16);
  LowPrecisionBackend f16(net, StorageFormat::F16);
  EvalOptions options;
  options.samples = 6;
  options.threads = 1;
  (void)evaluate(m.task, net, {&f32, &f64, &bf16, &f16}, options);
}

bool verbose() {
  static const bool on = std::getenv("HANDWIRE_FUZZ_VERBOSE") != nullptr;
  return on;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const Parts p =
      split(std::string(reinterpret_cast<const char *>(data), size));
  LoadedModel m;
  try {
    m = readModelText(p.config, "fuzz/m.json", [&](const std::string &path) {
      std::istringstream in(p.weights);
      return readSafetensors(in, static_cast<int64_t>(p.weights.size()), path);
    });
  } catch (const UserError &e) {
    // Refused with a message: what a corrupt file must get.
    // HANDWIRE_FUZZ_VERBOSE=1 prints it (to check that the seeds load).
    if (verbose())
      std::fprintf(stderr, "refused: %s\n", e.what());
    return 0;
  }
  if (verbose())
    std::fprintf(stderr, "loaded: %s\n", m.net.name.c_str());
  try {
    exercise(m);
  } catch (const UserError &) {
    // A plan may refuse a network too large to expand (kDensePlanLimitBytes).
  }
  return 0;
}

// --- the structure-aware mutator --------------------------------------------

extern "C" size_t LLVMFuzzerMutate(uint8_t *data, size_t size, size_t maxSize);

namespace {

using Rng = std::minstd_rand;

size_t below(Rng &rng, size_t n) {
  return n == 0 ? 0 : static_cast<size_t>(rng() % n);
}

// Every node of a document, walked without recursion (a mutated file may
// nest deeply), at most 20,000 and 40 deep.
std::vector<json *> nodesOf(json &root) {
  std::vector<json *> out;
  std::vector<std::pair<json *, int>> stack = {{&root, 0}};
  while (!stack.empty() && out.size() < 20000) {
    auto [node, depth] = stack.back();
    stack.pop_back();
    out.push_back(node);
    if (depth < 40 && node->is_structured())
      for (auto &child : *node)
        stack.push_back({&child, depth + 1});
  }
  return out;
}

// A value that JSON cannot spell: replaced by 1e999 (inf) after dumping.
const char *const kInfMarker = "\x01inf\x01";

// old + d without signed overflow (wrapping, which the mutator may do).
json nudged(const json &old, int64_t d) {
  return static_cast<int64_t>(static_cast<uint64_t>(old.get<int64_t>()) +
                              static_cast<uint64_t>(d));
}

json interestingNumber(Rng &rng, const json &old) {
  const double x = old.is_number() ? old.get<double>() : 1;
  switch (below(rng, 14)) {
  case 0:
    return -1;
  case 1:
    return 0;
  case 2:
    return 1;
  case 3:
    return int64_t(1) << 31;
  case 4:
    return std::numeric_limits<int64_t>::max();
  case 5:
    return std::numeric_limits<uint64_t>::max();
  case 6:
    return std::numeric_limits<int64_t>::min();
  case 7:
    return 1e308;
  case 8:
    return kInfMarker;
  case 9:
    return 0.5;
  case 10:
    return -x;
  case 11:
    return old.is_number_integer() ? nudged(old, 1) : json(x * 2);
  case 12:
    return old.is_number_integer() ? nudged(old, -1) : json(x / 2);
  default:
    return static_cast<int64_t>(rng() % 70) - 3;
  }
}

json otherType(Rng &rng, const json &old) {
  switch (below(rng, 8)) {
  case 0:
    return nullptr;
  case 1:
    return true;
  case 2:
    return "7";
  case 3:
    return json::array();
  case 4:
    return json::object();
  case 5:
    return json::array({old});
  case 6:
    return std::string(1 + below(rng, 300), 'x');
  default:
    return std::string("a\0b\x1b", 4);
  }
}

const char *const kStrings[] = {"",
                                "F32",
                                "I32",
                                "F16",
                                "transformer",
                                "rnn",
                                "f32",
                                "bf16",
                                "f16",
                                "f64",
                                "index_lookup",
                                "bounded_dyck",
                                "string_equality",
                                "disjointness",
                                "associative_recall",
                                "nearest_neighbour",
                                "one-sided",
                                "two-sided",
                                "m.safetensors",
                                "layers.0.heads.0.query",
                                "readout.weight",
                                "rnn.recurrent.values",
                                "a"};

// One structural change somewhere in `doc`; false if none applied.
bool mutateJson(json &doc, Rng &rng) {
  std::vector<json *> nodes = nodesOf(doc);
  if (nodes.empty())
    return false;
  json &n = *nodes[below(rng, nodes.size())];
  switch (below(rng, 8)) {
  case 0: // a number at the edge
    n = interestingNumber(rng, n);
    return true;
  case 1: // the wrong type
    n = otherType(rng, n);
    return true;
  case 2: // a known string
    n = kStrings[below(rng, std::size(kStrings))];
    return true;
  case 3: // another node's value (a subtree copied elsewhere)
    n = json(*nodes[below(rng, nodes.size())]);
    return true;
  case 4: // a list: an entry removed, repeated, or the list cut
    if (n.is_array() && !n.empty()) {
      const size_t i = below(rng, n.size());
      switch (below(rng, 4)) {
      case 0:
        n.erase(i);
        break;
      case 1:
        n.push_back(json(n[i]));
        break;
      case 2:
        std::swap(n[i], n[below(rng, n.size())]);
        break;
      default:
        n.get_ref<json::array_t &>().resize(below(rng, n.size()));
      }
      return true;
    }
    return false;
  case 5: // an object: a key removed or renamed
    if (n.is_object() && !n.empty()) {
      auto it = n.begin();
      std::advance(it, static_cast<long>(below(rng, n.size())));
      const std::string key = it.key();
      json value = *it;
      n.erase(key);
      if (below(rng, 2))
        n[kStrings[below(rng, std::size(kStrings))]] = std::move(value);
      return true;
    }
    return false;
  case 6: // an object: a key added
    if (n.is_object()) {
      n[kStrings[below(rng, std::size(kStrings))]] =
          interestingNumber(rng, json(1));
      return true;
    }
    return false;
  default: // a number nudged
    if (n.is_number()) {
      n = interestingNumber(rng, n);
      return true;
    }
    return false;
  }
}

// How deeply `text` nests lists and objects (outside strings). dump() and
// copies recurse, so the mutator leaves deeper documents to LLVMFuzzerMutate.
int nesting(const std::string &text) {
  int depth = 0, deepest = 0;
  bool inString = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (inString) {
      if (c == '\\')
        ++i;
      else if (c == '"')
        inString = false;
    } else if (c == '"') {
      inString = true;
    } else if (c == '[' || c == '{') {
      deepest = std::max(deepest, ++depth);
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return deepest;
}

// A JSON document, if `text` is one the mutator may work on.
std::optional<json> parsed(const std::string &text) {
  if (nesting(text) > 64)
    return std::nullopt;
  json doc = json::parse(text, nullptr, false);
  if (doc.is_discarded())
    return std::nullopt;
  return doc;
}

std::string dumpJson(const json &doc) {
  std::string text = doc.dump(-1, ' ', false, json::error_handler_t::replace);
  const std::string marker = json(kInfMarker).dump();
  for (size_t at; (at = text.find(marker)) != std::string::npos;)
    text.replace(at, marker.size(), "1e999");
  return text;
}

// The weights: the header changed as JSON, or the data words changed to
// numbers at the edge, or the file cut or extended.
bool mutateWeights(std::string &w, Rng &rng) {
  if (w.size() < 8)
    return false;
  uint64_t n = 0;
  for (int i = 0; i < 8; ++i)
    n |= uint64_t(static_cast<unsigned char>(w[i])) << (8 * i);
  if (n > w.size() - 8)
    return false;
  const size_t dataStart = 8 + n;
  switch (below(rng, 4)) {
  case 0:
  case 1: { // the header, structurally
    std::optional<json> header = parsed(w.substr(8, n));
    if (!header || !mutateJson(*header, rng))
      return false;
    const std::string text = dumpJson(*header);
    std::string out(8, '\0');
    for (int i = 0; i < 8; ++i)
      out[i] = static_cast<char>(uint64_t(text.size()) >> (8 * i));
    w = out + text + w.substr(dataStart);
    return true;
  }
  case 2: { // a data word: float and int32 values at the edge
    if (w.size() < dataStart + 4)
      return false;
    const size_t words = (w.size() - dataStart) / 4;
    const size_t at = dataStart + 4 * below(rng, words);
    static const float floats[] = {std::numeric_limits<float>::quiet_NaN(),
                                   std::numeric_limits<float>::infinity(),
                                   -std::numeric_limits<float>::infinity(),
                                   3e38f,
                                   1e-45f,
                                   0.0f,
                                   1.0f,
                                   -1.0f,
                                   0.5f};
    static const int32_t ints[] = {-1,
                                   0,
                                   1,
                                   2,
                                   7,
                                   1000,
                                   65536,
                                   std::numeric_limits<int32_t>::max(),
                                   std::numeric_limits<int32_t>::min()};
    if (below(rng, 2))
      std::memcpy(&w[at], &floats[below(rng, std::size(floats))], 4);
    else
      std::memcpy(&w[at], &ints[below(rng, std::size(ints))], 4);
    return true;
  }
  default: // cut or extended
    if (below(rng, 2) && w.size() > 8)
      w.resize(8 + below(rng, w.size() - 8));
    else
      w.append(below(rng, 16) + 1, '\0');
    return true;
  }
}

} // namespace

extern "C" size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size,
                                          size_t maxSize, unsigned seed) {
  Rng rng(seed);
  // A third of the time, libFuzzer's own byte-level mutations (they find
  // what structure misses: syntax, escapes, framing).
  if (below(rng, 3) == 0)
    return LLVMFuzzerMutate(data, size, maxSize);
  Parts p = split(std::string(reinterpret_cast<const char *>(data), size));
  bool changed = false;
  if (!p.weights.empty() && below(rng, 2))
    changed = mutateWeights(p.weights, rng);
  if (!changed) {
    std::optional<json> doc = parsed(p.config);
    if (doc && mutateJson(*doc, rng)) {
      p.config = dumpJson(*doc);
      changed = true;
    }
  }
  if (!changed)
    return LLVMFuzzerMutate(data, size, maxSize);
  std::string out = p.config;
  if (!p.weights.empty())
    out += kSeparator + p.weights;
  if (out.size() > maxSize)
    return LLVMFuzzerMutate(data, size, maxSize);
  std::memcpy(data, out.data(), out.size());
  return out.size();
}
