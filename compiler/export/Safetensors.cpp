#include "export/Safetensors.h"

#include "spec/JsonReader.h"
#include "support/Diagnostics.h"
#include "support/FileIO.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <set>

namespace handwire {

namespace {
size_t dtypeSize(DType) { return 4; }
const char *dtypeName(DType t) { return t == DType::F32 ? "F32" : "I32"; }
int64_t product(const std::vector<int64_t> &shape) {
  int64_t n = 1;
  for (int64_t d : shape)
    n *= d;
  return n;
}
} // namespace

int64_t Tensor::elements() const { return product(shape); }

void writeSafetensors(const std::string &path, std::vector<TensorRef> tensors,
                      const std::map<std::string, std::string> &metadata) {
  std::sort(
      tensors.begin(), tensors.end(),
      [](const TensorRef &a, const TensorRef &b) { return a.name < b.name; });
  nlohmann::json header = nlohmann::json::object();
  uint64_t offset = 0;
  for (const auto &t : tensors) {
    const uint64_t bytes =
        static_cast<uint64_t>(product(t.shape)) * dtypeSize(t.dtype);
    header[t.name] = {{"dtype", dtypeName(t.dtype)},
                      {"shape", t.shape},
                      {"data_offsets", {offset, offset + bytes}}};
    offset += bytes;
  }
  if (!metadata.empty())
    header["__metadata__"] = metadata;
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' '); // align the data to 8 bytes

  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out)
    throw UserError("cannot write '" + path + "': " + std::strerror(errno));
  const uint64_t n = text.size();
  unsigned char len[8];
  for (int i = 0; i < 8; ++i)
    len[i] = static_cast<unsigned char>(n >> (8 * i));
  out.write(reinterpret_cast<const char *>(len), 8);
  out.write(text.data(), static_cast<std::streamsize>(text.size()));
  for (const auto &t : tensors)
    out.write(
        static_cast<const char *>(t.data),
        static_cast<std::streamsize>(product(t.shape) * dtypeSize(t.dtype)));
  out.flush();
  if (!out)
    throw UserError("error while writing '" + path +
                    "': " + std::strerror(errno));
}

namespace {

// A tensor name inside a message: clipped, control characters escaped.
std::string shownName(const std::string &name, size_t most = 80) {
  return JsonReader::clipped(name, most);
}

UserError invalidFile(const std::string &path, const std::string &what) {
  return UserError("'" + path + "' is not a valid safetensors file: " + what);
}

// The JSON header after the 8-byte little-endian length, which goes to
// headerSize. `in` holds a file of `size` bytes.
nlohmann::json readHeader(std::istream &in, const std::string &path,
                          int64_t size, uint64_t &headerSize) {
  if (size < 8)
    throw invalidFile(path, "shorter than its 8-byte header length");
  in.seekg(0);
  unsigned char len[8];
  in.read(reinterpret_cast<char *>(len), 8);
  headerSize = 0;
  for (int i = 0; i < 8; ++i)
    headerSize |= uint64_t(len[i]) << (8 * i);
  if (headerSize > static_cast<uint64_t>(size - 8) ||
      headerSize > (uint64_t(100) << 20))
    throw invalidFile(path, "header length " + std::to_string(headerSize) +
                                " exceeds the file");
  std::string text(headerSize, '\0');
  in.read(text.data(), static_cast<std::streamsize>(headerSize));
  nlohmann::json header;
  // A repeated tensor name would silently keep only its last entry.
  std::set<std::string> names;
  std::string repeated;
  auto noRepeats = [&](int depth, nlohmann::json::parse_event_t event,
                       nlohmann::json &parsed) {
    if (depth == 1 && event == nlohmann::json::parse_event_t::key &&
        !names.insert(parsed.get<std::string>()).second && repeated.empty())
      repeated = parsed.get<std::string>();
    return true;
  };
  try {
    header = nlohmann::json::parse(text, noRepeats);
  } catch (const nlohmann::json::exception &e) {
    throw invalidFile(path,
                      "header is not JSON (" + shownName(e.what(), 300) + ")");
  }
  if (!repeated.empty())
    throw invalidFile(path, "tensor '" + shownName(repeated) +
                                "' appears twice in the header");
  if (!header.is_object())
    throw invalidFile(path, "header is not a JSON object");
  return header;
}

// The string entries of __metadata__ (others are ignored).
void readMetadata(const nlohmann::json &m, const std::string &path,
                  std::map<std::string, std::string> &metadata) {
  if (!m.is_object())
    throw invalidFile(path, "__metadata__ is not an object");
  for (auto it = m.begin(); it != m.end(); ++it)
    if (it->is_string())
      metadata[it.key()] = it->get<std::string>();
}

// A tensor's header entry, validated: its dtype and shape (bytes still
// empty), and its data range [begin, end) within the dataSize data bytes.
struct TensorEntry {
  Tensor tensor;
  uint64_t begin = 0, end = 0;
};

TensorEntry validateTensorEntry(const nlohmann::json &e,
                                const std::string &path,
                                const std::string &where, uint64_t dataSize) {
  auto fail = [&](const std::string &what) {
    return invalidFile(path, where + what);
  };
  if (!e.is_object() || !e.contains("dtype") || !e.contains("shape") ||
      !e.contains("data_offsets"))
    throw fail("needs dtype, shape and data_offsets");
  TensorEntry entry;
  Tensor &t = entry.tensor;
  if (e["dtype"] == "F32")
    t.dtype = DType::F32;
  else if (e["dtype"] == "I32")
    t.dtype = DType::I32;
  else
    throw fail("unsupported dtype " +
               (e["dtype"].is_string()
                    ? "\"" + shownName(e["dtype"].get<std::string>()) + "\""
                    : std::string("of JSON type ") + e["dtype"].type_name()) +
               " (F32 or I32)");
  if (!e["shape"].is_array() || e["shape"].size() > 8)
    throw fail("shape must be an array of at most 8 dimensions");
  uint64_t elements = 1;
  for (const auto &d : e["shape"]) {
    if (!d.is_number_unsigned() || d.get<uint64_t>() > (uint64_t(1) << 40))
      throw fail("shape entries must be non-negative integers");
    // elements <= dataSize before the product; checked by division so
    // that [2^24, 2^40] cannot wrap around to a small count.
    const uint64_t n = d.get<uint64_t>();
    t.shape.push_back(static_cast<int64_t>(n));
    if (n != 0 && elements > dataSize / n)
      throw fail("shape is larger than the file's data");
    elements *= n;
  }
  const auto &off = e["data_offsets"];
  if (!off.is_array() || off.size() != 2 || !off[0].is_number_unsigned() ||
      !off[1].is_number_unsigned())
    throw fail("data_offsets must be two non-negative integers");
  const uint64_t begin = off[0], end = off[1];
  if (begin > end || end > dataSize)
    throw fail("data_offsets [" + std::to_string(begin) + ", " +
               std::to_string(end) + ") outside the " +
               std::to_string(dataSize) + " data bytes (truncated file?)");
  if (end - begin != elements * dtypeSize(t.dtype))
    throw fail("data_offsets cover " + std::to_string(end - begin) +
               " bytes but the shape needs " +
               std::to_string(elements * dtypeSize(t.dtype)));
  entry.begin = begin;
  entry.end = end;
  return entry;
}

void checkNoOverlap(std::vector<std::pair<uint64_t, uint64_t>> ranges,
                    const std::string &path) {
  std::sort(ranges.begin(), ranges.end());
  for (size_t i = 1; i < ranges.size(); ++i)
    if (ranges[i].first < ranges[i - 1].second)
      throw invalidFile(path, "two tensors overlap in the data");
}

} // namespace

SafetensorsFile readSafetensors(const std::string &path, int64_t maxBytes) {
  int64_t size = 0;
  std::ifstream in = openRegularFile(path, "a weights file", size);
  if (size > maxBytes)
    throw UserError("'" + path + "' is " + std::to_string(size) +
                    " bytes, above the limit of " + std::to_string(maxBytes) +
                    "; raise it with --memory-limit");
  return readSafetensors(in, size, path);
}

SafetensorsFile readSafetensors(std::istream &in, int64_t size,
                                const std::string &path) {
  uint64_t headerSize = 0;
  const nlohmann::json header = readHeader(in, path, size, headerSize);

  const uint64_t dataSize = static_cast<uint64_t>(size) - 8 - headerSize;
  SafetensorsFile file;
  std::vector<std::pair<uint64_t, uint64_t>> ranges;
  for (auto it = header.begin(); it != header.end(); ++it) {
    if (it.key() == "__metadata__") {
      readMetadata(*it, path, file.metadata);
      continue;
    }
    // Names are what the model's config asks for: printable, non-empty.
    const std::string where = "tensor '" + shownName(it.key()) + "': ";
    if (it.key().empty() || it.key().size() > 256 ||
        std::any_of(it.key().begin(), it.key().end(), [](char c) {
          return static_cast<unsigned char>(c) < 0x20 || c == 0x7f;
        }))
      throw invalidFile(path, where +
                                  "a tensor name must be 1 to 256 printable "
                                  "characters");
    TensorEntry entry = validateTensorEntry(*it, path, where, dataSize);
    Tensor &t = entry.tensor;
    ranges.emplace_back(entry.begin, entry.end);
    t.bytes.resize(entry.end - entry.begin);
    in.seekg(static_cast<std::streamoff>(8 + headerSize + entry.begin));
    in.read(t.bytes.data(), static_cast<std::streamsize>(t.bytes.size()));
    if (!in)
      throw invalidFile(path, where + "could not read its data");
    file.tensors.emplace(it.key(), std::move(t));
  }
  checkNoOverlap(std::move(ranges), path);
  return file;
}

} // namespace handwire
