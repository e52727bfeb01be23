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
  }
  return v;
}

std::string Vocabulary::tokenName(const TaskSpec &task, int64_t token) const {
  if (token < 0 || token >= tokenCount)
    return "<invalid " + std::to_string(token) + ">";
  if (token < symbolCount)
    return task.alphabet[static_cast<size_t>(token)];
  return "IDX_" + std::to_string(token - firstIndexToken + 1);
}

std::string Vocabulary::className(const TaskSpec &task, int64_t cls) const {
  if (cls < 0 || cls >= classCount)
    return "<invalid " + std::to_string(cls) + ">";
  return task.alphabet[static_cast<size_t>(cls)];
}

} // namespace handwire
