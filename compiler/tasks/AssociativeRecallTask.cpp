// Associative recall (key-value lookup): n <= N (key, value) pairs with
// distinct keys, then a query key; the answer is the value stored under it.
// Each pair is one token, so the lookup is a content-addressed index lookup:
// index lookup is the case where the keys are the positions.
//   tokens  k V + v           the pair (key k < K, value v < V), "k3:b"
//   tokens  K V + q           the query for key q, "?k3"
//   classes 0 .. V-1          the values, in alphabet order
// An input is p_1 .. p_n ?q with 1 <= n <= N, the keys of p_1 .. p_n
// distinct (so n <= K) and q among them.
// Lower bound: an RNN needs min(N, K) log2 V state bits (one-way INDEX:
// Alice's values under min(N, K) keys, Bob's query). None for Transformers:
// the query is on Bob's side, and one layer with a code over the keys does it
// in width V + 2k + 1, k = O(log K).
#include "tasks/TaskDefinition.h"

#include <algorithm>
#include <cmath>
#include <unordered_set>

namespace handwire {
namespace {

// Pair tokens are embedding rows: keep K V within what a table holds.
constexpr int64_t kMaxPairTokens = int64_t(1) << 24;

// n distinct keys of 0 .. K-1, uniformly: a partial Fisher-Yates shuffle when
// n is a large part of K, else rejection.
std::vector<int32_t> distinctKeys(int64_t K, int64_t n, SplitMix64 &rng) {
  std::vector<int32_t> keys;
  if (2 * n >= K) {
    std::vector<int32_t> all(static_cast<size_t>(K));
    for (int64_t k = 0; k < K; ++k)
      all[k] = static_cast<int32_t>(k);
    for (int64_t i = 0; i < n; ++i)
      std::swap(all[i], all[i + static_cast<int64_t>(rng.below(K - i))]);
    all.resize(static_cast<size_t>(n));
    return all;
  }
  std::unordered_set<int32_t> seen;
  while (static_cast<int64_t>(keys.size()) < n) {
    const int32_t k = static_cast<int32_t>(rng.below(K));
    if (seen.insert(k).second)
      keys.push_back(k);
  }
  return keys;
}

class AssociativeRecallTask final : public TaskDefinition {
public:
  TaskKind kind() const override { return TaskKind::AssociativeRecall; }
  const char *name() const override { return "associative_recall"; }

  std::vector<TaskParameter> parameters() const override {
    return {symbolListParameter("alphabet", "the values, in order", 2, 65536,
                                &TaskSpec::alphabet),
            integerParameter("keys", "K: the number of distinct keys", 2, 65536,
                             &TaskSpec::keys),
            maxLengthParameter("N: the most (key, value) pairs before the "
                               "query")};
  }
  void checkSpec(const TaskSpec &task, const std::vector<ModelSpec> &,
                 const TaskErrorSink &error) const override {
    const int64_t pairs =
        task.keys * static_cast<int64_t>(task.alphabet.size());
    if (pairs > kMaxPairTokens)
      error(task.fieldLoc("keys"),
            "keys x |alphabet| = " + std::to_string(pairs) +
                " pair tokens; at most " + std::to_string(kMaxPairTokens) +
                " fit an embedding table (fewer keys or values)");
  }
  std::string describe(const TaskSpec &task) const override {
    return "N = " + std::to_string(task.maxLength) + " pairs, " +
           std::to_string(task.keys) + " keys, " +
           std::to_string(task.alphabet.size()) + " values";
  }

  Vocabulary vocabulary(const TaskSpec &task) const override {
    Vocabulary v;
    const int64_t V = static_cast<int64_t>(task.alphabet.size());
    v.symbolCount = task.keys * V; // the pair tokens
    v.firstIndexToken = v.symbolCount;
    v.tokenCount = v.symbolCount + task.keys;
    v.classCount = V;
    v.maxSequenceLength = task.maxLength + 1; // pairs, then the query
    return v;
  }
  std::string tokenName(const TaskSpec &task, const Vocabulary &voc,
                        int64_t token) const override {
    const int64_t V = static_cast<int64_t>(task.alphabet.size());
    if (token >= voc.firstIndexToken)
      return "?k" + std::to_string(token - voc.firstIndexToken);
    return "k" + std::to_string(token / V) + ":" +
           task.alphabet[static_cast<size_t>(token % V)];
  }
  std::string className(const TaskSpec &task, int64_t cls) const override {
    return task.alphabet[static_cast<size_t>(cls)];
  }

  std::vector<TokenGroup> tokenGroups(const TaskSpec &task,
                                      const Vocabulary &voc) const override {
    const int64_t V = static_cast<int64_t>(task.alphabet.size());
    return {{0,
             voc.symbolCount,
             "pair",
             {{"key", 0, V}, {"value", 0, 1, V, task.alphabet}},
             "k{key}:{value}"},
            {voc.firstIndexToken, task.keys, "query", {{"key"}}, "?k{key}"}};
  }
  std::vector<std::pair<std::string, std::string>>
  roleMeanings(const TaskSpec &) const override {
    return {{"pair", "the pair (key `key`, value `value`): stores value "
                     "`value` (a class) under key `key`"},
            {"query", "?k<key>, the query: which key's value to output"}};
  }
  InputLayout inputLayout(const TaskSpec &task) const override {
    InputLayout l;
    l.pattern = "p_1 .. p_n ?q";
    l.length = "n + 1";
    l.variables = {{"n", "1",
                    std::to_string(std::min(task.maxLength, task.keys)),
                    "the number of pairs (at most N = max_length, and at most "
                    "K = keys since keys are distinct)"},
                   {"q", "0", std::to_string(task.keys - 1),
                    "the queried key, one of the keys of p_1 .. p_n"}};
    l.description = "n (key, value) pair tokens with distinct keys, then the "
                    "query token ?q for a key q among them";
    l.answer = "the value of the pair whose key is q";
    l.readAt = "the last position (?q)";
    return l;
  }
  std::string classMeaning(const TaskSpec &task, int64_t cls) const override {
    return "the value stored under the queried key is " + className(task, cls);
  }

  std::string checkInput(const TaskSpec &task,
                         const std::vector<int32_t> &tokens) const override;
  int64_t groundTruth(const TaskSpec &task,
                      const std::vector<int32_t> &tokens) const override {
    const Vocabulary voc = vocabulary(task);
    const int64_t V = voc.classCount, q = tokens.back() - voc.firstIndexToken;
    for (size_t i = 0; i + 1 < tokens.size(); ++i)
      if (tokens[i] / V == q)
        return tokens[i] % V;
    return -1; // not reached on a valid input
  }

  void generateUniform(const TaskSpec &task, SplitMix64 &rng,
                       Example &ex) const override;
  void generateAdversarial(const TaskSpec &task, const AdversarialHints &hints,
                           SplitMix64 &rng, Example &ex) const override;

  LowerBound lowerBound(const TaskSpec &task, Architecture arch,
                        int64_t) const override {
    LowerBound b;
    if (arch == Architecture::RNN) {
      const double pairs =
          static_cast<double>(std::min(task.maxLength, task.keys));
      const double perPair = std::log2(static_cast<double>(alphabetSize(task)));
      b = stateSizeBound(
          "state bits >= min(N, K) log2|alphabet|", pairs * perPair,
          "one-way communication: INDEX (Alice holds the pairs, Bob the "
          "query) needs min(N, K) log2|alphabet| bits from Alice to Bob; "
          "the state after the pairs is that message",
          "one-way INDEX: after the pairs, the state must tell apart "
          "every assignment of values to min(N, K) keys");
      b.perLength = perPair;
      b.perLengthMeaning = "log2|alphabet|";
      b.cap = task.keys;
      b.capMeaning = "K, the number of keys";
    } else {
      b.note = "the query is on Bob's side, as in index lookup: a two-way "
               "protocol of O(log K) bits exists; the upper bound used is "
               "width V + 2k + 1 with k = O(log K)";
    }
    return b;
  }
};

std::string
AssociativeRecallTask::checkInput(const TaskSpec &task,
                                  const std::vector<int32_t> &tokens) const {
  const Vocabulary voc = vocabulary(task);
  const int64_t V = voc.classCount;
  // p_1 .. p_n ?q with 1 <= n <= N, distinct keys, q among them.
  if (std::string bad = checkItemCount(
          tokens, task.maxLength,
          "an associative-recall input has at least one pair and a query",
          "pairs");
      !bad.empty())
    return bad;
  const int64_t n = static_cast<int64_t>(tokens.size()) - 1;
  std::unordered_set<int64_t> keys;
  for (int64_t i = 0; i < n; ++i) {
    if (tokens[i] < 0 || tokens[i] >= voc.symbolCount)
      return "token " + std::to_string(i + 1) + " is not a (key, value) pair";
    if (!keys.insert(tokens[i] / V).second)
      return "token " + std::to_string(i + 1) + " repeats key " +
             std::to_string(tokens[i] / V);
  }
  const int64_t last = tokens.back();
  if (last < voc.firstIndexToken || last >= voc.tokenCount)
    return "the last token is not a query";
  if (!keys.count(last - voc.firstIndexToken))
    return "the query's key " + std::to_string(last - voc.firstIndexToken) +
           " is in no pair";
  return {};
}

// Uniform: n uniform in 1..min(N, K), distinct keys, values uniform, the
// query on a uniform one of the pairs.
void AssociativeRecallTask::generateUniform(const TaskSpec &task,
                                            SplitMix64 &rng,
                                            Example &ex) const {
  const Vocabulary voc = vocabulary(task);
  const int64_t V = voc.classCount;
  const int64_t n =
      1 + static_cast<int64_t>(rng.below(std::min(task.maxLength, task.keys)));
  const std::vector<int32_t> keys = distinctKeys(task.keys, n, rng);
  ex.tokens.resize(static_cast<size_t>(n + 1));
  for (int64_t i = 0; i < n; ++i)
    ex.tokens[i] = static_cast<int32_t>(keys[i] * V + rng.below(V));
  const int64_t asked = static_cast<int64_t>(rng.below(n));
  ex.tokens[n] = static_cast<int32_t>(voc.firstIndexToken + keys[asked]);
}

// Adversarial: as many pairs as allowed; the query is on a key whose code is
// most coherent with another key's (from the network's certificate; codeword
// i is key i, the hints count from 1), that other key is present too, the
// queried pair sits first, in the middle, last or anywhere, and every other
// pair holds the same wrong value, so all leaked attention lands on one class.
void AssociativeRecallTask::generateAdversarial(const TaskSpec &task,
                                                const AdversarialHints &hints,
                                                SplitMix64 &rng,
                                                Example &ex) const {
  const Vocabulary voc = vocabulary(task);
  const int64_t V = voc.classCount, K = task.keys;
  const int64_t n = std::min(task.maxLength, K);
  std::vector<int32_t> keys = distinctKeys(K, n, rng);
  if (!hints.coherentPositions.empty() && n >= 2) {
    const auto pair =
        hints.coherentPositions[rng.below(hints.coherentPositions.size())];
    if (pair.first >= 1 && pair.first <= K && pair.second >= 1 &&
        pair.second <= K && pair.first != pair.second) {
      // Put the two keys in slots 0 and 1 (swapping out duplicates).
      const int32_t a = static_cast<int32_t>(pair.first - 1),
                    b = static_cast<int32_t>(pair.second - 1);
      for (int32_t want : {a, b}) {
        const size_t slot = want == a ? 0 : 1;
        auto it = std::find(keys.begin(), keys.end(), want);
        if (it != keys.end())
          std::swap(*it, keys[slot]);
        else
          keys[slot] = want;
      }
    }
  }
  const int64_t where[] = {0, n / 2, n - 1, static_cast<int64_t>(rng.below(n))};
  const int64_t at = where[rng.below(4)];
  std::swap(keys[0], keys[at]); // the queried key moves to `at`
  const int64_t right = static_cast<int64_t>(rng.below(V));
  const int64_t wrong =
      (right + 1 + static_cast<int64_t>(rng.below(V - 1))) % V;
  ex.tokens.resize(static_cast<size_t>(n + 1));
  for (int64_t i = 0; i < n; ++i)
    ex.tokens[i] =
        static_cast<int32_t>(keys[i] * V + (i == at ? right : wrong));
  ex.tokens[n] = static_cast<int32_t>(voc.firstIndexToken + keys[at]);
}

} // namespace

const TaskDefinition &associativeRecallTask() {
  static const AssociativeRecallTask task;
  return task;
}

} // namespace handwire
