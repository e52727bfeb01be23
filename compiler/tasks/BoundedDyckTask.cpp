// Bounded Dyck-(k, m): is b_1 .. b_n (n <= N) well nested over k bracket
// types, never deeper than m?
//   tokens  2c, 2c+1          open and close bracket of type c < k
//   token   2k                <eos>, the read-out token
//   classes 0 reject, 1 accept
// An input is b_1 .. b_n <eos> with 0 <= n <= N.
// Lower bounds: an RNN needs log2 of its stack states (constant in N); a
// one-layer Transformer needs floor(N/2) + 1 cut bits (Bhattamishra et al.
// 2024, via EQUALITY);
// none is known for two layers.
#include "tasks/TaskDefinition.h"
#include "tasks/TaskSemantics.h"

#include <algorithm>
#include <cmath>

namespace handwire {
namespace {

// Bracket pairs shown as ( ) [ ] { } < >, then open5 close5 ...
std::string bracketName(int64_t token) {
  static const char *kPairs = "()[]{}<>";
  if (token < 8)
    return std::string(1, kPairs[token]);
  return (token % 2 ? "close" : "open") + std::to_string(token / 2);
}

// The pair-unit RNN has sum_{i<=m} k^i stack states times 2k + 1 symbols;
// keep that table sane. Exact in 128 bits: k, m <= 16 give at most 16^17 (an
// int64_t loop overflowed at Dyck-(16,16)). Hewitt's stack and the
// Transformer have no such table.
void checkPairUnitStates(const TaskSpec &t, const TaskErrorSink &error) {
  unsigned __int128 states = 0, p = 1;
  for (int64_t i = 0; i <= t.depth; ++i, p *= static_cast<unsigned>(t.brackets))
    states += p;
  if (states > (1 << 16)) {
    std::string digits;
    for (unsigned __int128 x = states; x > 0; x /= 10)
      digits.insert(digits.begin(), static_cast<char>('0' + int(x % 10)));
    error(t.fieldLoc("depth"),
          "Dyck-(" + std::to_string(t.brackets) + "," +
              std::to_string(t.depth) + ") has " + digits +
              " stack states; the pair-unit rnn supports at most 65536 "
              "(construction = hewitt has no such limit)");
  }
}

// A random string of Dyck-(k, m) with `n` brackets (n even): a random walk on
// the depth that never exceeds m and returns to 0, with random bracket types.
void randomDyck(const TaskSpec &task, int64_t n, SplitMix64 &rng,
                std::vector<int32_t> &out) {
  std::vector<int32_t> stack;
  for (int64_t i = 0; i < n; ++i) {
    const int64_t left = n - i, depth = static_cast<int64_t>(stack.size());
    const bool mustClose = depth == left || depth == task.depth;
    const bool mayClose = depth > 0;
    if (mustClose || (mayClose && rng.below(2))) {
      out.push_back(2 * stack.back() + 1);
      stack.pop_back();
    } else {
      const int32_t type = static_cast<int32_t>(rng.below(task.brackets));
      stack.push_back(type);
      out.push_back(2 * type);
    }
  }
}

// One edit that usually breaks membership: change, swap or delete a bracket
// at the start, the middle, the end, or anywhere.
void nearMiss(const TaskSpec &task, SplitMix64 &rng, std::vector<int32_t> &b) {
  if (b.empty()) {
    b.push_back(static_cast<int32_t>(rng.below(2 * task.brackets)));
    return;
  }
  const int64_t n = static_cast<int64_t>(b.size());
  const int64_t where[] = {0, n / 2, n - 1, static_cast<int64_t>(rng.below(n))};
  const int64_t i = where[rng.below(4)];
  switch (rng.below(3)) {
  case 0: // change into another bracket
    b[i] = static_cast<int32_t>((b[i] + 1 + rng.below(2 * task.brackets - 1)) %
                                (2 * task.brackets));
    break;
  case 1: // swap with the next one
    std::swap(b[i], b[(i + 1) % n]);
    break;
  default: // delete
    b.erase(b.begin() + i);
  }
}

class BoundedDyckTask final : public TaskDefinition {
public:
  TaskKind kind() const override { return TaskKind::BoundedDyck; }
  const char *name() const override { return "bounded_dyck"; }

  std::vector<TaskParameter> parameters() const override {
    return {integerParameter("brackets", "k: the number of bracket types", 1,
                             16, &TaskSpec::brackets, "2"),
            integerParameter("depth", "m: the deepest nesting allowed", 1, 16,
                             &TaskSpec::depth, "2"),
            maxLengthParameter("N: the most brackets before <eos>")};
  }
  void checkSpec(const TaskSpec &task, const std::vector<ModelSpec> &models,
                 const TaskErrorSink &error) const override {
    const bool pairUnits =
        std::any_of(models.begin(), models.end(), [](const ModelSpec &m) {
          return m.arch == Architecture::RNN && m.construction != "hewitt";
        });
    if (pairUnits)
      checkPairUnitStates(task, error);
  }
  std::vector<std::string>
  constructionVariants(Architecture arch) const override {
    if (arch == Architecture::RNN)
      return {"hewitt", "pair_units"};
    return {};
  }
  std::string describe(const TaskSpec &task) const override {
    return "N = " + std::to_string(task.maxLength) + ", Dyck-(" +
           std::to_string(task.brackets) + "," + std::to_string(task.depth) +
           ")";
  }

  Vocabulary vocabulary(const TaskSpec &task) const override {
    Vocabulary v;
    v.symbolCount = 2 * task.brackets;
    v.endToken = v.symbolCount;
    v.tokenCount = v.symbolCount + 1;
    v.classCount = 2;
    v.maxSequenceLength = task.maxLength + 1; // brackets, then <eos>
    return v;
  }
  std::string tokenName(const TaskSpec &, const Vocabulary &voc,
                        int64_t token) const override {
    return token == voc.endToken ? "<eos>" : bracketName(token);
  }
  std::string className(const TaskSpec &, int64_t cls) const override {
    return cls ? "accept" : "reject";
  }

  std::vector<TokenGroup> tokenGroups(const TaskSpec &task,
                                      const Vocabulary &voc) const override {
    // Open and close alternate, so each bracket is a group of one; `kind`
    // pairs them.
    std::vector<TokenGroup> groups;
    for (int64_t c = 0; c < task.brackets; ++c) {
      groups.push_back({2 * c, 1, "open", {{"kind", c}}, ""});
      groups.push_back({2 * c + 1, 1, "close", {{"kind", c}}, ""});
    }
    groups.push_back({voc.endToken, 1, "end", {}, ""});
    return groups;
  }
  std::vector<std::pair<std::string, std::string>>
  roleMeanings(const TaskSpec &) const override {
    return {{"open", "an opening bracket of type `kind`"},
            {"close", "the closing bracket of type `kind`"},
            {"end", "<eos>: ends the input; the decision is read there"}};
  }
  InputLayout inputLayout(const TaskSpec &task) const override {
    InputLayout l;
    l.pattern = "b_1 .. b_n <eos>";
    l.length = "n + 1";
    l.variables = {{"n", "0", std::to_string(task.maxLength),
                    "the number of brackets (N = max_length)"}};
    l.description =
        "n brackets (open or close, of any of the k = " +
        std::to_string(task.brackets) +
        " kinds, in any order), then <eos>; the string is in Dyck-(k, m) if "
        "every close matches the latest unmatched open of the same kind, "
        "none is left open at the end, and never more than m = " +
        std::to_string(task.depth) + " are open at once";
    l.answer = "accept if b_1 .. b_n is in Dyck-(k, m), else reject";
    l.readAt = "the last position (<eos>)";
    return l;
  }
  std::string classMeaning(const TaskSpec &task, int64_t cls) const override {
    const std::string dyck = "Dyck-(" + std::to_string(task.brackets) + ", " +
                             std::to_string(task.depth) + ")";
    return cls ? "b_1 .. b_n is in " + dyck +
                     ": well nested, never deeper than m"
               : "b_1 .. b_n is not in " + dyck;
  }

  std::string checkInput(const TaskSpec &task,
                         const std::vector<int32_t> &tokens) const override {
    const Vocabulary voc = vocabulary(task);
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
  int64_t groundTruth(const TaskSpec &task,
                      const std::vector<int32_t> &tokens) const override {
    return isBoundedDyck(task, tokens.data(),
                         static_cast<int64_t>(tokens.size()) - 1);
  }

  void generateUniform(const TaskSpec &task, SplitMix64 &rng,
                       Example &ex) const override;
  void generateAdversarial(const TaskSpec &task, const AdversarialHints &,
                           SplitMix64 &rng, Example &ex) const override;

  LowerBound lowerBound(const TaskSpec &task, Architecture arch,
                        int64_t layers) const override;
};

// Uniform: a random even length in 0..N, a random Dyck string; half the time
// one near-miss edit (so both classes are common).
void BoundedDyckTask::generateUniform(const TaskSpec &task, SplitMix64 &rng,
                                      Example &ex) const {
  const int64_t n = 2 * static_cast<int64_t>(rng.below(task.maxLength / 2 + 1));
  ex.tokens.clear();
  randomDyck(task, n, rng, ex.tokens);
  if (rng.below(2))
    nearMiss(task, rng, ex.tokens);
  ex.tokens.push_back(static_cast<int32_t>(vocabulary(task).endToken));
}

// Adversarial: length N (rounded down to even), depth pinned at m as often as
// possible; then left valid, edited once, or pushed one level too deep.
void BoundedDyckTask::generateAdversarial(const TaskSpec &task,
                                          const AdversarialHints &,
                                          SplitMix64 &rng, Example &ex) const {
  const int variant =
      static_cast<int>(rng.below(3)); // valid, near miss, too deep
  const int64_t n =
      task.maxLength - task.maxLength % 2 - (variant == 2 ? 2 : 0);
  ex.tokens.clear();
  // Blocks of m opens then m matching closes: depth m, as deep as allowed.
  while (static_cast<int64_t>(ex.tokens.size()) + 2 * task.depth <= n) {
    std::vector<int32_t> types;
    for (int64_t d = 0; d < task.depth; ++d) {
      types.push_back(static_cast<int32_t>(rng.below(task.brackets)));
      ex.tokens.push_back(2 * types.back());
    }
    for (int64_t d = task.depth - 1; d >= 0; --d)
      ex.tokens.push_back(2 * types[d] + 1);
  }
  randomDyck(task, n - static_cast<int64_t>(ex.tokens.size()), rng, ex.tokens);
  if (variant == 1) {
    nearMiss(task, rng, ex.tokens);
  } else if (variant == 2) {
    // Wrap the first block (or the whole string if it is empty) in one more
    // pair.
    const int32_t type = static_cast<int32_t>(rng.below(task.brackets));
    const int64_t blockEnd =
        std::min<int64_t>(2 * task.depth, ex.tokens.size());
    ex.tokens.insert(ex.tokens.begin() + blockEnd, 2 * type + 1);
    ex.tokens.insert(ex.tokens.begin(), 2 * type);
  }
  ex.tokens.push_back(static_cast<int32_t>(vocabulary(task).endToken));
}

LowerBound BoundedDyckTask::lowerBound(const TaskSpec &task, Architecture arch,
                                       int64_t layers) const {
  LowerBound b;
  const int64_t N = task.maxLength;
  if (arch == Architecture::RNN) {
    double states = 1; // the dead state
    // In floating point: Dyck-(16,16) has 16^17 states (int64_t wraps).
    double p = 1;
    for (int64_t i = 0; i <= task.depth;
         ++i, p *= static_cast<double>(task.brackets))
      states += p;
    b = stateSizeBound(
        "state bits >= log2(1 + sum_{i<=m} k^i) >= m log2 k", std::log2(states),
        "counting states: any two reachable stacks (and the dead state) are "
        "told apart by some suffix, so the state must take 1 + sum_{i<=m} "
        "k^i values",
        "information bound: the state must tell apart every reachable "
        "stack and the dead state; constant in N, and at least m log2 k "
        "(Hewitt et al.'s Omega(m log k))");
    b.constant = *b.bits; // perLength 0: the same for every N
  } else if (layers == 1) {
    b = cutBound(
        "cut bits >= floor(N/2) + 1",
        std::floor(static_cast<double>(N) / 2) + 1,
        "communication: EQUALITY on floor(N/2) bits needs floor(N/2) + 1 bits "
        "in any deterministic protocol; the layer's partial sums at a cut "
        "between the open and close brackets of the blocks are a one-way "
        "protocol",
        "one-layer Transformer lower bound for bounded Dyck "
        "(Bhattamishra et al. 2024), via EQUALITY: blocks (x_i y_i) "
        "make the string balanced iff x = y");
    b.refusal = "a one-layer Transformer recognizing Dyck-(" +
                std::to_string(task.brackets) + "," +
                std::to_string(task.depth) +
                ") needs heads x (value width + 1) x precision >= floor(N/2) "
                "+ 1 = " +
                std::to_string(N / 2 + 1) +
                " bits (Bhattamishra et al. 2024, via EQUALITY)";
  } else {
    b.note = "no lower bound is known for two or more layers (Yao et al.: "
             "O(log k) width suffices)";
  }
  return b;
}

} // namespace

// Type c opens with token 2c and closes with 2c+1; a stack of bracket types.
bool isBoundedDyck(const TaskSpec &task, const int32_t *brackets, int64_t n) {
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

const TaskDefinition &boundedDyckTask() {
  static const BoundedDyckTask task;
  return task;
}

} // namespace handwire
