#include "spec/Vocabulary.h"

namespace handwire {

Vocabulary vocabularyOf(const TaskSpec &task) {
  Vocabulary v;
  switch (task.kind) {
  case TaskKind::IndexLookup:
    v.symbolCount = static_cast<int64_t>(task.alphabet.size());
    v.firstIndexToken = v.symbolCount;
    v.tokenCount = v.symbolCount + task.maxLength;
    v.classCount = v.symbolCount;
    v.maxSequenceLength = task.maxLength + 1; // data, then the index token
    break;
  case TaskKind::BoundedDyck:
    v.symbolCount = 2 * task.brackets;
    v.endToken = v.symbolCount;
    v.tokenCount = v.symbolCount + 1;
    v.classCount = 2;
    v.maxSequenceLength = task.maxLength + 1; // brackets, then <eos>
    break;
  case TaskKind::StringEquality:
  case TaskKind::Disjointness:
    v.symbolCount = 2;
    v.endToken = 2;
    v.tokenCount = 3;
    v.classCount = 2;
    v.maxSequenceLength = 2 * task.maxLength + 1; // x, y, then <out>
    break;
  case TaskKind::NearestNeighbour:
    v.symbolCount = int64_t(1) << task.dimension; // the points
    v.firstLabelToken = v.symbolCount;
    v.beginToken = v.symbolCount + task.labels;
    v.tokenCount = v.beginToken + 1;
    v.classCount = task.labels;
    v.maxSequenceLength = 2 * task.maxLength + 2; // <bos>, pairs, query
    break;
  }
  return v;
}

namespace {
// Bracket pairs shown as ( ) [ ] { } < >, then open5 close5 ...
std::string bracketName(int64_t token) {
  static const char *kPairs = "()[]{}<>";
  if (token < 8)
    return std::string(1, kPairs[token]);
  return (token % 2 ? "close" : "open") + std::to_string(token / 2);
}
} // namespace

std::string Vocabulary::tokenName(const TaskSpec &task, int64_t token) const {
  if (token < 0 || token >= tokenCount)
    return "<invalid " + std::to_string(token) + ">";
  if (task.kind == TaskKind::BoundedDyck)
    return token == endToken ? "<eos>" : bracketName(token);
  if (task.kind == TaskKind::StringEquality ||
      task.kind == TaskKind::Disjointness)
    return token == endToken ? "<out>" : std::to_string(token);
  if (task.kind == TaskKind::NearestNeighbour) {
    if (token == beginToken)
      return "<bos>";
    if (token >= firstLabelToken)
      return "y" + std::to_string(token - firstLabelToken);
    std::string bits = "x";
    for (int64_t j = 0; j < task.dimension; ++j)
      bits += (token >> j) & 1 ? '1' : '0';
    return bits;
  }
  if (token < symbolCount)
    return task.alphabet[static_cast<size_t>(token)];
  return "IDX_" + std::to_string(token - firstIndexToken + 1);
}

std::string Vocabulary::className(const TaskSpec &task, int64_t cls) const {
  if (cls < 0 || cls >= classCount)
    return "<invalid " + std::to_string(cls) + ">";
  if (task.kind == TaskKind::BoundedDyck)
    return cls ? "accept" : "reject";
  if (task.kind == TaskKind::StringEquality)
    return cls ? "equal" : "different";
  if (task.kind == TaskKind::Disjointness)
    return cls ? "disjoint" : "intersect";
  if (task.kind == TaskKind::NearestNeighbour)
    return "y" + std::to_string(cls);
  return task.alphabet[static_cast<size_t>(cls)];
}

} // namespace handwire
