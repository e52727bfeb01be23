// Typed reads from a JSON document someone else may have written (a model
// config): every missing or ill-typed field throws a UserError naming the
// file and the field, "'m.json': field 'task.depth' is missing".
#pragma once

#include "support/Diagnostics.h"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>

namespace handwire {

class JsonReader {
public:
  explicit JsonReader(std::string path) : path_(std::move(path)) {}
  const std::string &path() const { return path_; }

  [[noreturn]] void fail(const std::string &field,
                         const std::string &what) const {
    throw UserError("'" + path_ + "': field '" + field + "' " + what);
  }
  // j[key], where `ctx` is the path of j ("task.") for messages.
  const nlohmann::json &get(const nlohmann::json &j, const std::string &key,
                            const std::string &ctx) const {
    if (!j.is_object() || !j.contains(key))
      fail(ctx + key, "is missing");
    return j.at(key);
  }
  int64_t integer(const nlohmann::json &j, const std::string &key,
                  const std::string &ctx, int64_t lo, int64_t hi) const {
    const nlohmann::json &v = get(j, key, ctx);
    if (!v.is_number_integer())
      fail(ctx + key, "must be an integer");
    const int64_t x = v.get<int64_t>();
    if (x < lo || x > hi)
      fail(ctx + key, "is " + std::to_string(x) + ", outside [" +
                          std::to_string(lo) + ", " + std::to_string(hi) + "]");
    return x;
  }
  double number(const nlohmann::json &j, const std::string &key,
                const std::string &ctx) const {
    const nlohmann::json &v = get(j, key, ctx);
    if (!v.is_number())
      fail(ctx + key, "must be a number");
    return v.get<double>();
  }
  std::string string(const nlohmann::json &j, const std::string &key,
                     const std::string &ctx) const {
    const nlohmann::json &v = get(j, key, ctx);
    if (!v.is_string())
      fail(ctx + key, "must be a string");
    return v.get<std::string>();
  }

private:
  std::string path_;
};

} // namespace handwire
