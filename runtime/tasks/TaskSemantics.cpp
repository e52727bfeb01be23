#include "tasks/TaskSemantics.h"

#include "spec/Vocabulary.h"
#include "support/Diagnostics.h"

namespace handwire {

std::string checkInput(const TaskSpec &task,
                       const std::vector<int32_t> &tokens) {
  const Vocabulary voc = vocabularyOf(task);
  switch (task.kind) {
  case TaskKind::IndexLookup: {
    // s_1 .. s_n IDX_p with 1 <= p <= n <= N.
    if (tokens.size() < 2)
      return "an index-lookup input has at least one symbol and an index token";
    const int64_t n = static_cast<int64_t>(tokens.size()) - 1;
    if (n > task.maxLength)
      return "input has " + std::to_string(n) +
             " symbols, more than N = " + std::to_string(task.maxLength);
    for (int64_t i = 0; i < n; ++i)
      if (tokens[i] < 0 || tokens[i] >= voc.symbolCount)
        return "token " + std::to_string(i + 1) + " is not a data symbol";
    const int64_t last = tokens.back();
    if (last < voc.firstIndexToken || last >= voc.tokenCount)
      return "the last token is not an index token";
    const int64_t p = last - voc.firstIndexToken + 1;
    if (p > n)
      return "IDX_" + std::to_string(p) + " points past the " +
             std::to_string(n) + " symbols";
    return {};
  }
  }
  return "unknown task";
}

int64_t groundTruth(const TaskSpec &task, const std::vector<int32_t> &tokens) {
  HW_ASSERT(checkInput(task, tokens).empty(),
            "ground truth of a malformed input");
  switch (task.kind) {
  case TaskKind::IndexLookup: {
    const Vocabulary voc = vocabularyOf(task);
    const int64_t p = tokens.back() - voc.firstIndexToken + 1;
    return tokens[static_cast<size_t>(p - 1)];
  }
  }
  return -1;
}

} // namespace handwire
