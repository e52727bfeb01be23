// Typed reads from a JSON document someone else may have written (a model
// config): every missing, ill-typed or out-of-range field throws a UserError
// naming the file and the field's path, "'m.json': field 'task.depth' is
// missing", "'m.json': field 'certificate.code.worst_pairs[0][0]' is -3,
// outside [0, 16]". Nothing here lets a nlohmann exception escape: a value of
// the wrong type is refused before it is converted.
#pragma once

#include "support/Diagnostics.h"

#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdint>
#include <limits>
#include <sstream>
#include <string>

namespace handwire {

class JsonReader {
public:
  explicit JsonReader(std::string path) : path_(std::move(path)) {}
  const std::string &path() const { return path_; }

  [[noreturn]] void fail(const std::string &field,
                         const std::string &what) const {
    throw UserError("'" + path_ + "': field '" + clipped(field) + "' " + what);
  }
  // A JSON value inside a message: at most 40 characters of it.
  // Lists and objects are described, not dumped: dump() recurses, and a
  // file may nest them a million deep.
  static std::string shown(const nlohmann::json &v) {
    if (v.is_array())
      return "a list of " + std::to_string(v.size()) + " entries";
    if (v.is_object())
      return "an object";
    return clipped(
        v.dump(-1, ' ', true, nlohmann::json::error_handler_t::replace));
  }
  // Text from the file inside a message: clipped (a 5,000-character name
  // must not become a 5,000-character message), control characters escaped
  // (a key may hold a terminal escape sequence).
  static std::string clipped(const std::string &text, size_t most = 80) {
    std::string out;
    for (unsigned char c : text.substr(0, most)) {
      if (c < 0x20 || c == 0x7f) {
        static const char hex[] = "0123456789abcdef";
        out += std::string("\\x") + hex[c >> 4] + hex[c & 15];
      } else {
        out += static_cast<char>(c);
      }
    }
    return text.size() <= most ? out : out + "...";
  }

  bool has(const nlohmann::json &j, const std::string &key) const {
    return j.is_object() && j.contains(key);
  }
  // j[key], where `ctx` is the path of j ("task.") for messages.
  const nlohmann::json &get(const nlohmann::json &j, const std::string &key,
                            const std::string &ctx) const {
    if (!j.is_object())
      fail(ctx.empty() ? "(top level)" : ctx.substr(0, ctx.size() - 1),
           "must be an object, got " + shown(j));
    if (!j.contains(key))
      fail(ctx + key, "is missing");
    return j.at(key);
  }
  const nlohmann::json &object(const nlohmann::json &j, const std::string &key,
                               const std::string &ctx) const {
    const nlohmann::json &v = get(j, key, ctx);
    if (!v.is_object())
      fail(ctx + key, "must be an object, got " + shown(v));
    return v;
  }
  // A list of lo to hi entries.
  const nlohmann::json &array(const nlohmann::json &j, const std::string &key,
                              const std::string &ctx, size_t lo,
                              size_t hi) const {
    const nlohmann::json &v = get(j, key, ctx);
    if (!v.is_array())
      fail(ctx + key, "must be a list, got " + shown(v));
    if (v.size() < lo || v.size() > hi)
      fail(ctx + key, "has " + std::to_string(v.size()) +
                          " entries, outside [" + std::to_string(lo) + ", " +
                          std::to_string(hi) + "]");
    return v;
  }
  // An integer in [lo, hi] (a JSON value here, for list entries).
  int64_t integerValue(const nlohmann::json &v, const std::string &field,
                       int64_t lo, int64_t hi) const {
    if (!v.is_number_integer())
      fail(field, "must be an integer, got " + shown(v));
    // Above 2^63 - 1 an unsigned value would wrap to a negative one.
    if (v.is_number_unsigned() &&
        v.get<uint64_t>() >
            static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
      fail(field, "is " + v.dump() + ", outside [" + std::to_string(lo) + ", " +
                      std::to_string(hi) + "]");
    const int64_t x = v.get<int64_t>();
    if (x < lo || x > hi)
      fail(field, "is " + std::to_string(x) + ", outside [" +
                      std::to_string(lo) + ", " + std::to_string(hi) + "]");
    return x;
  }
  int64_t integer(const nlohmann::json &j, const std::string &key,
                  const std::string &ctx, int64_t lo, int64_t hi) const {
    return integerValue(get(j, key, ctx), ctx + key, lo, hi);
  }
  int64_t integerOr(const nlohmann::json &j, const std::string &key,
                    const std::string &ctx, int64_t lo, int64_t hi,
                    int64_t absent) const {
    return has(j, key) ? integer(j, key, ctx, lo, hi) : absent;
  }
  // A finite number in [lo, hi] (JSON has no NaN, but 1e999 reads as inf).
  double number(const nlohmann::json &j, const std::string &key,
                const std::string &ctx,
                double lo = -std::numeric_limits<double>::max(),
                double hi = std::numeric_limits<double>::max()) const {
    const nlohmann::json &v = get(j, key, ctx);
    if (!v.is_number())
      fail(ctx + key, "must be a number, got " + shown(v));
    const double x = v.get<double>();
    if (!std::isfinite(x))
      fail(ctx + key, "must be finite, got " + shown(v));
    if (x < lo || x > hi) {
      std::ostringstream os;
      os << "is " << x << ", outside [" << lo << ", " << hi << "]";
      fail(ctx + key, os.str());
    }
    return x;
  }
  double numberOr(const nlohmann::json &j, const std::string &key,
                  const std::string &ctx, double lo, double hi,
                  double absent) const {
    return has(j, key) ? number(j, key, ctx, lo, hi) : absent;
  }
  bool boolean(const nlohmann::json &j, const std::string &key,
               const std::string &ctx) const {
    const nlohmann::json &v = get(j, key, ctx);
    if (!v.is_boolean())
      fail(ctx + key, "must be true or false, got " + shown(v));
    return v.get<bool>();
  }
  bool booleanOr(const nlohmann::json &j, const std::string &key,
                 const std::string &ctx, bool absent) const {
    return has(j, key) ? boolean(j, key, ctx) : absent;
  }
  std::string string(const nlohmann::json &j, const std::string &key,
                     const std::string &ctx) const {
    return stringValue(get(j, key, ctx), ctx + key);
  }
  std::string stringValue(const nlohmann::json &v,
                          const std::string &field) const {
    if (!v.is_string())
      fail(field, "must be a string, got " + shown(v));
    return v.get<std::string>();
  }
  std::string stringOr(const nlohmann::json &j, const std::string &key,
                       const std::string &ctx,
                       const std::string &absent) const {
    return has(j, key) ? string(j, key, ctx) : absent;
  }
  // A name (of a model, a block, a head, a symbol): a string of 1 to 256
  // bytes without control characters, which would reach terminals and the
  // one-line-per-record files that eval writes.
  std::string nameValue(const nlohmann::json &v, const std::string &field,
                        bool mayBeEmpty = false) const {
    const std::string s = stringValue(v, field);
    if (s.empty() && !mayBeEmpty)
      fail(field, "must not be empty");
    if (s.size() > 256)
      fail(field, "is " + std::to_string(s.size()) +
                      " bytes long; names have at most 256");
    for (unsigned char c : s)
      if (c < 0x20 || c == 0x7f)
        fail(field,
             "holds a control character (byte " + std::to_string(c) + ")");
    return s;
  }
  std::string name(const nlohmann::json &j, const std::string &key,
                   const std::string &ctx) const {
    return nameValue(get(j, key, ctx), ctx + key);
  }

private:
  std::string path_;
};

} // namespace handwire
