#include "tasks/TaskDefinition.h"

namespace handwire {

TaskParameter integerParameter(const char *name, const char *meaning,
                               int64_t min, int64_t max,
                               int64_t TaskSpec::*field,
                               const char *defaultValue) {
  TaskParameter p;
  p.name = name;
  p.type = TaskParameter::Type::Integer;
  p.required = !*defaultValue;
  p.defaultValue = defaultValue;
  p.meaning = meaning;
  p.min = min;
  p.max = max;
  p.integer = field;
  return p;
}

TaskParameter numberParameter(const char *name, const char *meaning,
                              double above, double atMost,
                              double TaskSpec::*field,
                              const char *defaultValue) {
  TaskParameter p;
  p.name = name;
  p.type = TaskParameter::Type::Number;
  p.required = !*defaultValue;
  p.defaultValue = defaultValue;
  p.meaning = meaning;
  p.above = above;
  p.atMost = atMost;
  p.number = field;
  return p;
}

TaskParameter symbolListParameter(const char *name, const char *meaning,
                                  int64_t min, int64_t max,
                                  std::vector<std::string> TaskSpec::*field) {
  TaskParameter p;
  p.name = name;
  p.type = TaskParameter::Type::SymbolList;
  p.meaning = meaning;
  p.min = min;
  p.max = max;
  p.symbols = field;
  return p;
}

TaskParameter maxLengthParameter(const char *meaning) {
  return integerParameter("max_length", meaning, 2, kMaxTaskLength,
                          &TaskSpec::maxLength);
}

std::string checkItemCount(const std::vector<int32_t> &tokens,
                           int64_t maxLength, const char *tooShort,
                           const char *items) {
  if (tokens.size() < 2)
    return tooShort;
  const int64_t n = static_cast<int64_t>(tokens.size()) - 1;
  if (n > maxLength)
    return "input has " + std::to_string(n) + " " + items +
           ", more than N = " + std::to_string(maxLength);
  return {};
}

} // namespace handwire
