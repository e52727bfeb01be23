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
// tied, the same rule handwire uses). With OnnxOptions::batch every input and
// output gains a leading `batch` dimension (sequences of one length).
//
// Weights above OnnxOptions::externalDataAbove bytes (by default: those that
// would not fit one protobuf) go to an external data file next to the .onnx
// (ONNX's external-data convention), written while the graph is built.
#pragma once

#include "ir/Network.h"
#include "spec/TaskSpec.h"

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace handwire {

inline constexpr int64_t kOnnxOpset = 13;

// The most weight bytes an .onnx file holds inline: one protobuf message
// cannot exceed 2 GiB; leave room for the graph itself.
inline constexpr int64_t kOnnxInlineLimit =
    (int64_t(2) << 30) - (int64_t(64) << 20);

struct OnnxOptions {
  // Inputs tokens [batch, length] (features [batch, length, F]), outputs
  // logits [batch, classes] and decision [batch].
  bool batch = false;
  // Weights (onnxWeightBytes) above this many bytes go to the external data
  // file STEM.onnx.data; 0: always.
  int64_t externalDataAbove = kOnnxInlineLimit;
};

// Whether the export of `net` writes an external data file.
bool onnxUsesExternalData(const Network &net, const OnnxOptions &options);
// The names (no directory) of the files writeOnnx writes for `stem`: the
// .onnx, then the external data file if there is one.
std::vector<std::string> onnxFileNames(const Network &net,
                                       const std::string &stem,
                                       const OnnxOptions &options);

// Bytes of weights (initializers) the export of `net` needs. RNN matrices are
// exported in a padded sparse layout (see docs/export.md), so this is
// O(rows x max non-zeros per row), not O(H^2).
int64_t onnxWeightBytes(const Network &net);

// Builds and checks the ONNX model, every weight inline; returns its
// serialized bytes. Throws UserError (naming the model and the size) if twice
// the weights (the model and its serialized bytes) exceed maxBytes, if the
// model needs an external data file (onnxUsesExternalData: use writeOnnx),
// and if the checker rejects the model (which would be a bug in the
// exporter).
std::string onnxModelBytes(const TaskSpec &task, const Network &net,
                           int64_t maxBytes, const OnnxOptions &options = {});

// Writes DIR/STEM.onnx (creating DIR), and DIR/STEM.onnx.data when the
// weights go to an external data file (streamed there: the weights are then
// held once, and only maxBytes bounds them); returns the paths, in the order
// of onnxFileNames. Checks the written model. Throws UserError.
std::vector<std::string> writeOnnx(const TaskSpec &task, const Network &net,
                                   const std::string &dir,
                                   const std::string &stem, int64_t maxBytes,
                                   const OnnxOptions &options = {});

// What a loaded .onnx file contains, after the checker accepted it.
struct OnnxSummary {
  int64_t irVersion = 0;
  int64_t opset = 0;
  std::vector<std::string> inputs, outputs;
  // Input or output name -> "TYPE[dims]", e.g. "INT64[length]".
  std::map<std::string, std::string> signatures;
  std::map<std::string, int64_t> ops; // op type -> count (subgraphs included)
  int64_t initializerBytes = 0;       // inline and external
  int64_t externalBytes = 0;          // of which in external data files
  std::vector<std::string> externalFiles; // their locations, once each
  std::map<std::string, std::string> metadata;
};

// Parses a serialized model and runs the ONNX checker (with strict shape and
// type inference) on it. Throws UserError naming `what` if either fails. A
// model with external data can only be checked from its file:
// checkOnnxFile also checks that every external tensor lies inside its data
// file (location, offset and length against the file's size).
OnnxSummary checkOnnxBytes(const std::string &bytes, const std::string &what);
OnnxSummary checkOnnxFile(const std::string &path);

} // namespace handwire
