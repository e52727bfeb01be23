// ONNX export: one self-contained .onnx file per network (opset 13), built
// with the ONNX library's protobuf classes and checked with its checker
// (check_model plus strict shape and type inference). Onnx.cpp is the only
// file that includes ONNX or protobuf headers. docs/export.md documents the
// graph for outside users.
//
// Graph interface: input `tokens` (int64, shape [length], one sequence) and,
// for a model with continuous inputs (F = Network::featureDim() > 0),
// `features` (float32, shape [length, F], row i position i's vector);
// outputs `logits` (float32, or float64 for f64 models, shape [classes]) and
// `decision` (int64 scalar: argmax of the logits, -1 when the maximum is
// tied, the same rule handwire uses).
#pragma once

#include "ir/Network.h"
#include "spec/TaskSpec.h"

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace handwire {

inline constexpr int64_t kOnnxOpset = 13;

// Bytes of weights (initializers) the export of `net` needs. RNN matrices are
// exported in a padded sparse layout (see docs/export.md), so this is
// O(rows x max non-zeros per row), not O(H^2).
int64_t onnxWeightBytes(const Network &net);

// Builds and checks the ONNX model; returns its serialized bytes. Throws
// UserError (naming the model and the size) if twice the weights (the model
// and its serialized bytes) exceed maxBytes or the weights exceed the 2 GiB a
// single protobuf file can hold, and if the checker rejects the model (which
// would be a bug in the exporter).
std::string onnxModelBytes(const TaskSpec &task, const Network &net,
                           int64_t maxBytes);

// Writes DIR/STEM.onnx (creating DIR); returns the path. Throws UserError.
std::string writeOnnx(const TaskSpec &task, const Network &net,
                      const std::string &dir, const std::string &stem,
                      int64_t maxBytes);

// What a loaded .onnx file contains, after the checker accepted it.
struct OnnxSummary {
  int64_t irVersion = 0;
  int64_t opset = 0;
  std::vector<std::string> inputs, outputs;
  // Input or output name -> "TYPE[dims]", e.g. "INT64[length]".
  std::map<std::string, std::string> signatures;
  std::map<std::string, int64_t> ops; // op type -> count (subgraphs included)
  int64_t initializerBytes = 0;
  std::map<std::string, std::string> metadata;
};

// Parses a serialized model and runs the ONNX checker (with strict shape and
// type inference) on it. Throws UserError naming `what` if either fails.
OnnxSummary checkOnnxBytes(const std::string &bytes, const std::string &what);
OnnxSummary checkOnnxFile(const std::string &path);

} // namespace handwire
