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
  case TaskKind::BoundedDyck: {
    // b_1 .. b_n <eos> with n <= N.
    if (tokens.empty() || tokens.back() != voc.endToken)
      return "a bounded-Dyck input ends with <eos>";
    if (static_cast<int64_t>(tokens.size()) - 1 > task.maxLength)
      return "input has " + std::to_string(tokens.size() - 1) +
             " brackets, more than N = " + std::to_string(task.maxLength);
    for (size_t i = 0; i + 1 < tokens.size(); ++i)
      if (tokens[i] < 0 || tokens[i] >= voc.symbolCount)
        return "token " + std::to_string(i + 1) + " is not a bracket";
    return {};
  }
  case TaskKind::StringEquality:
  case TaskKind::Disjointness: {
    // x_1 .. x_n y_1 .. y_n <out>, n = N.
    const size_t n = static_cast<size_t>(task.maxLength);
    if (tokens.size() != 2 * n + 1)
      return "input has " + std::to_string(tokens.size()) +
             " tokens, expected 2N + 1 = " + std::to_string(2 * n + 1);
    for (size_t i = 0; i < 2 * n; ++i)
      if (tokens[i] != 0 && tokens[i] != 1)
        return "token " + std::to_string(i + 1) + " is not a bit";
    if (tokens.back() != voc.endToken)
      return "the last token is not <out>";
    return {};
  }
  }
  return "unknown task";
}

bool isBoundedDyck(const TaskSpec &task, const int32_t *brackets, int64_t n) {
  // A stack of bracket types; type c opens with token 2c and closes with 2c+1.
  std::vector<int32_t> stack;
  for (int64_t i = 0; i < n; ++i) {
    const int32_t type = brackets[i] / 2;
    if (brackets[i] % 2 == 0) {
      if (static_cast<int64_t>(stack.size()) == task.depth)
        return false;
      stack.push_back(type);
    } else {
      if (stack.empty() || stack.back() != type)
        return false;
      stack.pop_back();
    }
  }
  return stack.empty();
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
  case TaskKind::BoundedDyck:
    return isBoundedDyck(task, tokens.data(),
                         static_cast<int64_t>(tokens.size()) - 1);
  case TaskKind::StringEquality:
  case TaskKind::Disjointness: {
    const size_t n = static_cast<size_t>(task.maxLength);
    for (size_t i = 0; i < n; ++i) {
      const bool x = tokens[i] == 1, y = tokens[n + i] == 1;
      if (task.kind == TaskKind::StringEquality ? x != y : (x && y))
        return 0;
    }
    return 1;
  }
  }
  return -1;
}

} // namespace handwire
