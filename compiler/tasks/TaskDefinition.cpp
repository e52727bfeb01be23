#include "tasks/TaskDefinition.h"

namespace handwire {

const char *boundKindName(BoundKind kind) {
  switch (kind) {
  case BoundKind::StateSize:
    return "state-size";
  case BoundKind::Cut:
    return "cut";
  case BoundKind::None:
    break;
  }
  return "none";
}

const char *boundKindMeaning(BoundKind kind) {
  switch (kind) {
  case BoundKind::StateSize:
    return "state-size bound on an RNN's m p (hidden units x bits per unit)";
  case BoundKind::Cut:
    return "cut bound on a one-layer Transformer's H (d_v + 1) p (heads x "
           "(value width + 1) x bits per number)";
  case BoundKind::None:
    break;
  }
  return "no lower bound applies";
}

namespace {
LowerBound boundOf(BoundKind kind, std::string formula, double bits,
                   std::string argument, const char *precision,
                   std::string note) {
  LowerBound b;
  b.kind = kind;
  b.formula = std::move(formula);
  b.bits = bits;
  b.argument = std::move(argument);
  b.precision = precision;
  b.note = std::move(note);
  return b;
}
} // namespace

LowerBound stateSizeBound(std::string formula, double bits,
                          std::string argument, std::string note) {
  // The state is the message: with m units of p bits there are at most
  // 2^(m p) states, whatever the number format and the update function.
  return boundOf(BoundKind::StateSize, std::move(formula), bits,
                 std::move(argument),
                 "p bits per state unit (at most 2^p distinct values each, "
                 "any number format); m counts every unit carried from one "
                 "token to the next",
                 std::move(note));
}

LowerBound cutBound(std::string formula, double bits, std::string argument,
                    std::string note) {
  // The protocol sends each head's partial sums; that they fit p bits is the
  // assumption (a model computing them more precisely could send more).
  return boundOf(BoundKind::Cut, std::move(formula), bits, std::move(argument),
                 "p bits per number crossing the cut: assumes each head's d_v "
                 "partial softmax numerators and its denominator are numbers "
                 "of the model's p-bit format",
                 std::move(note));
}

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

TaskParameter choiceParameter(const char *name, const char *meaning,
                              const char *defaultChoice,
                              std::vector<std::string> choices,
                              std::string TaskSpec::*field) {
  TaskParameter p;
  p.name = name;
  p.type = TaskParameter::Type::Choice;
  p.required = false;
  p.meaning = meaning;
  p.defaultValue = defaultChoice;
  p.choices = std::move(choices);
  p.text = field;
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

std::string TaskDefinition::checkInputWithFeatures(
    const TaskSpec &task, const std::vector<int32_t> &tokens,
    const std::vector<float> &features) const {
  if (!features.empty())
    return std::string("a ") + name() +
           " input is tokens alone; this one carries " +
           std::to_string(features.size()) + " continuous values";
  return checkInput(task, tokens);
}

} // namespace handwire
