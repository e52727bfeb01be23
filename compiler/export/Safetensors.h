// safetensors (https://huggingface.co/docs/safetensors): an 8-byte
// little-endian header length, a JSON header {name: {dtype, shape,
// data_offsets}, __metadata__}, then the raw little-endian tensor bytes.
// Tensors are written in name order, so the same network always gives the same
// bytes.
#pragma once

#include <cstdint>
#include <istream>
#include <map>
#include <string>
#include <vector>

namespace handwire {

enum class DType { F32, I32 };

struct TensorRef {
  std::string name;
  DType dtype;
  std::vector<int64_t> shape;
  const void *data; // shape-product elements of dtype
};

// Throws UserError if the file cannot be written.
void writeSafetensors(const std::string &path, std::vector<TensorRef> tensors,
                      const std::map<std::string, std::string> &metadata);

struct Tensor {
  DType dtype = DType::F32;
  std::vector<int64_t> shape;
  std::vector<char> bytes;
  int64_t elements() const;
  const float *f32() const {
    return reinterpret_cast<const float *>(bytes.data());
  }
  const int32_t *i32() const {
    return reinterpret_cast<const int32_t *>(bytes.data());
  }
};

struct SafetensorsFile {
  std::map<std::string, Tensor> tensors;
  std::map<std::string, std::string> metadata;
};

// Reads and validates a file: header size and JSON, dtypes, shapes, offsets
// inside the data and consistent with the shapes. Throws UserError naming the
// file and what is wrong. Refuses files above maxBytes before reading them.
SafetensorsFile readSafetensors(const std::string &path, int64_t maxBytes);
// The same from a stream of `size` bytes (a file's contents in memory);
// `path` names it in messages.
SafetensorsFile readSafetensors(std::istream &in, int64_t size,
                                const std::string &path);

} // namespace handwire
