#include "tasks/TaskSemantics.h"

#include "spec/Vocabulary.h"
#include "support/Diagnostics.h"

namespace handwire {

namespace {
int64_t hammingDistance(int32_t a, int32_t b) {
  return __builtin_popcount(static_cast<uint32_t>(a ^ b));
}

// The token types of <bos> x_1 y_1 .. x_n y_n x_q, 1 <= n <= N.
std::string nearestNeighbourShape(const TaskSpec &task,
                                  const std::vector<int32_t> &tokens) {
  const Vocabulary voc = vocabularyOf(task);
  if (tokens.size() < 4 || tokens.size() % 2)
    return "a nearest-neighbour input is <bos>, n >= 1 (point, label) pairs "
           "and a query point: an even length of at least 4, got " +
           std::to_string(tokens.size()) + " tokens";
  const int64_t n = (static_cast<int64_t>(tokens.size()) - 2) / 2;
  if (n > task.maxLength)
    return "input has " + std::to_string(n) +
           " examples, more than N = " + std::to_string(task.maxLength);
  if (tokens[0] != voc.beginToken)
    return "the first token is not <bos>";
  for (size_t i = 1; i < tokens.size(); ++i) {
    const bool point = i % 2 == 1; // odd positions: x_1, .., x_n, x_q
    const int64_t t = tokens[i];
    if (point && (t < 0 || t >= voc.symbolCount))
      return "token " + std::to_string(i + 1) + " is not a point";
    if (!point && (t < voc.firstLabelToken || t >= voc.beginToken))
      return "token " + std::to_string(i + 1) + " is not a label";
  }
  return {};
}
} // namespace

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
  case TaskKind::NearestNeighbour: {
    // <bos> x_1 y_1 .. x_n y_n x_q with 1 <= n <= N, and the margin kept.
    if (std::string bad = nearestNeighbourShape(task, tokens); !bad.empty())
      return bad;
    const NearestExample best = nearestExample(task, tokens);
    if (best.lead < task.hammingMargin())
      return "the nearest example x_" + std::to_string(best.index) +
             " leads the runner-up by Hamming distance " +
             std::to_string(best.lead) + ", below the margin's " +
             std::to_string(task.hammingMargin());
    return {};
  }
  }
  return "unknown task";
}

NearestExample nearestExample(const TaskSpec &task,
                              const std::vector<int32_t> &tokens) {
  HW_ASSERT(nearestNeighbourShape(task, tokens).empty(),
            "nearest example of a malformed input");
  const Vocabulary voc = vocabularyOf(task);
  const int64_t n = (static_cast<int64_t>(tokens.size()) - 2) / 2;
  const int32_t query = tokens.back();
  // <x_q, x_i> = 1 - 2 h / d: the largest inner product is the smallest
  // Hamming distance h.
  NearestExample best;
  int64_t runnerUp = task.dimension + 1; // beyond any distance
  best.hamming = task.dimension + 1;
  for (int64_t i = 1; i <= n; ++i) {
    const int64_t h = hammingDistance(tokens[2 * i - 1], query);
    if (h < best.hamming) {
      runnerUp = best.hamming;
      best.hamming = h;
      best.index = i;
      best.label = tokens[2 * i] - voc.firstLabelToken;
    } else if (h < runnerUp) {
      runnerUp = h; // a tie (h == best) makes the lead 0
    }
  }
  best.lead = n == 1 ? task.dimension + 1 : runnerUp - best.hamming;
  return best;
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
  case TaskKind::NearestNeighbour:
    return nearestExample(task, tokens).label;
  }
  return -1;
}

} // namespace handwire
