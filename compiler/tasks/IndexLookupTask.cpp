// Index lookup (paper-constructions.md §3): s_1 .. s_n IDX_p with
// 1 <= p <= n <= N; the answer is s_p.
//   tokens  0 .. V-1          data symbols, in alphabet order
//   tokens  V .. V+N-1        IDX_1 .. IDX_N (the query "which position?")
//   classes 0 .. V-1          the symbol at the queried position
// Lower bounds: an RNN needs N log2 V state bits (Bhattamishra et al. 2024,
// one-way INDEX); a
// one-layer Transformer escapes the communication bound (the index token is
// on Bob's side).
#include "tasks/TaskDefinition.h"

#include <cmath>

namespace handwire {
namespace {

class IndexLookupTask final : public TaskDefinition {
public:
  TaskKind kind() const override { return TaskKind::IndexLookup; }
  const char *name() const override { return "index_lookup"; }

  std::vector<TaskParameter> parameters() const override {
    return {symbolListParameter("alphabet", "the data symbols, in order", 2,
                                65536, &TaskSpec::alphabet),
            maxLengthParameter("N: the most data symbols before the index")};
  }

  std::string describe(const TaskSpec &task) const override {
    std::string s = "N = " + std::to_string(task.maxLength);
    if (task.alphabet.empty())
      return s;
    s += ", alphabet of " + std::to_string(task.alphabet.size()) + " (";
    for (size_t i = 0; i < task.alphabet.size() && i < 8; ++i)
      s += (i ? " " : "") + task.alphabet[i];
    return s + (task.alphabet.size() > 8 ? " ...)" : ")");
  }

  Vocabulary vocabulary(const TaskSpec &task) const override {
    Vocabulary v;
    v.symbolCount = static_cast<int64_t>(task.alphabet.size());
    v.firstIndexToken = v.symbolCount;
    v.tokenCount = v.symbolCount + task.maxLength;
    v.classCount = v.symbolCount;
    v.maxSequenceLength = task.maxLength + 1; // data, then the index token
    return v;
  }
  std::string tokenName(const TaskSpec &task, const Vocabulary &voc,
                        int64_t token) const override {
    if (token < voc.symbolCount)
      return task.alphabet[static_cast<size_t>(token)];
    return "IDX_" + std::to_string(token - voc.firstIndexToken + 1);
  }
  std::string className(const TaskSpec &task, int64_t cls) const override {
    return task.alphabet[static_cast<size_t>(cls)];
  }

  std::vector<TokenGroup> tokenGroups(const TaskSpec &,
                                      const Vocabulary &voc) const override {
    return {{0, voc.symbolCount, "symbol", {{"class"}}, ""},
            {voc.firstIndexToken,
             voc.tokenCount - voc.firstIndexToken,
             "index",
             {{"p", 1}},
             "IDX_{p}"}};
  }
  std::vector<std::pair<std::string, std::string>>
  roleMeanings(const TaskSpec &) const override {
    return {{"symbol", "a data symbol (an alphabet entry); `class` is the "
                       "class that answers with it"},
            {"index", "IDX_p, the query: which position's symbol to output"}};
  }
  InputLayout inputLayout(const TaskSpec &task) const override {
    InputLayout l;
    l.pattern = "s_1 .. s_n IDX_p";
    l.length = "n + 1";
    l.variables = {{"n", "1", std::to_string(task.maxLength),
                    "the number of data symbols (N = max_length)"},
                   {"p", "1", "n", "the queried position, 1-based"}};
    l.description = "n data symbols s_1 .. s_n (any, repeats allowed), then "
                    "the index token IDX_p with 1 <= p <= n";
    l.answer = "s_p: the class named as the symbol at position p";
    l.readAt = "the last position (IDX_p)";
    return l;
  }
  std::string classMeaning(const TaskSpec &task, int64_t cls) const override {
    return "the symbol at the queried position is " + className(task, cls);
  }

  std::string checkInput(const TaskSpec &task,
                         const std::vector<int32_t> &tokens) const override;
  int64_t groundTruth(const TaskSpec &task,
                      const std::vector<int32_t> &tokens) const override {
    const int64_t p = tokens.back() - vocabulary(task).firstIndexToken + 1;
    return tokens[static_cast<size_t>(p - 1)];
  }

  void generateUniform(const TaskSpec &task, SplitMix64 &rng,
                       Example &ex) const override;
  void generateAdversarial(const TaskSpec &task, const AdversarialHints &hints,
                           SplitMix64 &rng, Example &ex) const override;

  LowerBound lowerBound(const TaskSpec &task, Architecture arch,
                        int64_t) const override {
    LowerBound b;
    if (arch == Architecture::RNN) {
      const double perSymbol =
          std::log2(static_cast<double>(alphabetSize(task)));
      b = stateSizeBound(
          "state bits >= N log2|alphabet|",
          static_cast<double>(task.maxLength) * perSymbol,
          "one-way communication: INDEX (Alice holds the N symbols, Bob the "
          "index) needs N log2|alphabet| bits from Alice to Bob; the state "
          "after the symbols is that message",
          "RNN lower bound for index lookup (Bhattamishra et al. 2024), "
          "via one-way INDEX: after the symbols, the state must tell "
          "apart all |alphabet|^N sequences");
      b.perLength = perSymbol;
      b.perLengthMeaning = "log2|alphabet|";
    } else {
      b.note = "index lookup escapes the one-layer bound: the index token is "
               "on Bob's side, so a two-way protocol of O(log N) bits exists; "
               "the upper bound used is width V + 2k + 1 with k = O(log N)";
    }
    return b;
  }
};

std::string
IndexLookupTask::checkInput(const TaskSpec &task,
                            const std::vector<int32_t> &tokens) const {
  const Vocabulary voc = vocabulary(task);
  // s_1 .. s_n IDX_p with 1 <= p <= n <= N.
  if (std::string bad = checkItemCount(
          tokens, task.maxLength,
          "an index-lookup input has at least one symbol and an index token",
          "symbols");
      !bad.empty())
    return bad;
  const int64_t n = static_cast<int64_t>(tokens.size()) - 1;
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

// Uniform: n uniform in 1..N, symbols uniform, query uniform in 1..n.
void IndexLookupTask::generateUniform(const TaskSpec &task, SplitMix64 &rng,
                                      Example &ex) const {
  const Vocabulary voc = vocabulary(task);
  const int64_t n = 1 + static_cast<int64_t>(rng.below(task.maxLength));
  ex.tokens.resize(static_cast<size_t>(n + 1));
  for (int64_t i = 0; i < n; ++i)
    ex.tokens[i] = static_cast<int32_t>(rng.below(voc.symbolCount));
  const int64_t p = 1 + static_cast<int64_t>(rng.below(n));
  ex.tokens[n] = static_cast<int32_t>(voc.firstIndexToken + p - 1);
}

// Adversarial: n = N (most competitors); the query sits on one of the
// positions whose code is most coherent with another's, and every other
// symbol is the same wrong one, so all leaked attention lands on one class.
void IndexLookupTask::generateAdversarial(const TaskSpec &task,
                                          const AdversarialHints &hints,
                                          SplitMix64 &rng, Example &ex) const {
  const Vocabulary voc = vocabulary(task);
  const int64_t N = task.maxLength, n = N;
  int64_t p;
  if (!hints.coherentPositions.empty()) {
    auto pair =
        hints.coherentPositions[rng.below(hints.coherentPositions.size())];
    // Position N+1 is the index token itself and cannot be queried.
    if (pair.first > n)
      std::swap(pair.first, pair.second);
    p = (pair.second <= n && rng.below(2)) ? pair.second : pair.first;
    if (p > n)
      p = 1 + static_cast<int64_t>(rng.below(n));
  } else {
    // Without hints, the ends of the sequence.
    p = rng.below(2) ? 1 : n;
  }
  const int64_t target = static_cast<int64_t>(rng.below(voc.symbolCount));
  const int64_t wrong =
      (target + 1 + static_cast<int64_t>(rng.below(voc.symbolCount - 1))) %
      voc.symbolCount;
  ex.tokens.assign(static_cast<size_t>(n + 1), static_cast<int32_t>(wrong));
  ex.tokens[p - 1] = static_cast<int32_t>(target);
  ex.tokens[n] = static_cast<int32_t>(voc.firstIndexToken + p - 1);
}

} // namespace

const TaskDefinition &indexLookupTask() {
  static const IndexLookupTask task;
  return task;
}

} // namespace handwire
