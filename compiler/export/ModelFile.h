// A compiled model on disk: NAME.safetensors (the weights) next to NAME.json
// (everything else: task, vocabulary, residual map, forward-pass conventions,
// provenance, certificate). docs/export.md documents both for outside tools.
#pragma once

#include "export/Safetensors.h"
#include "ir/Network.h"
#include "spec/TaskSpec.h"

#include <functional>
#include <string>
#include <vector>

namespace handwire {

struct ModelPaths {
  std::string config;  // .json
  std::string weights; // .safetensors
};

// Writes DIR/STEM.json and DIR/STEM.safetensors (creating DIR). Throws
// UserError if they cannot be written.
ModelPaths writeModel(const TaskSpec &task, const Network &net,
                      const std::string &dir, const std::string &stem);

// The JSON config alone (what `compile` writes), as text.
std::string modelConfigJson(const TaskSpec &task, const Network &net,
                            const std::string &weightsFile);

// The tensors `writeModel` would write: name, dtype ("F32"/"I32"), shape.
struct TensorInfo {
  std::string name, dtype;
  std::vector<int64_t> shape;
  int64_t elements() const;
};
std::vector<TensorInfo> listTensors(const Network &net);
// The same tensors with their data: each points into `net` (row-major, as
// the file stores it), valid while `net` lives and is not changed. For views
// without a copy (the Python module's Model.weights).
std::vector<TensorRef> networkTensors(const Network &net);

struct LoadedModel {
  TaskSpec task;
  Network net;
};

// Reads a model back from its .json config (the weights file is found next
// to it). Validates everything; throws UserError naming the file and the
// field or tensor at fault. Refuses weights above maxBytes before reading.
LoadedModel readModel(const std::string &configPath, int64_t maxBytes);

// The same from a config's text; `weights` reads the weights file whose
// path (next to configPath) the config names. For tests and the fuzzer
// (tests/fuzz/FuzzModelFile.cpp), which keep both files in memory.
using WeightsReader = std::function<SafetensorsFile(const std::string &path)>;
LoadedModel readModelText(const std::string &configText,
                          const std::string &configPath,
                          const WeightsReader &weights);

} // namespace handwire
