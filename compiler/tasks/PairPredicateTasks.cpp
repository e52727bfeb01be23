// String equality and disjointness: a predicate of two strings x, y of
// {0,1}^n, n = N fixed (x = y; no i with x_i = y_i = 1).
//   tokens  0, 1, 2 = <out>
//   classes equality: 0 different, 1 equal; disjointness: 0 intersect,
//           1 disjoint
// An input is x_1 .. x_n y_1 .. y_n <out> (length 2N + 1).
// Lower bounds (Bhattamishra et al. 2024, via the communication problems
// EQUALITY and DISJOINTNESS): an RNN needs n state bits, a one-layer
// Transformer n + 1 cut bits; none is known for two layers.
#include "tasks/TaskDefinition.h"

namespace handwire {
namespace {

class PairPredicateTask final : public TaskDefinition {
public:
  // `problem`: the communication problem the lower bounds reduce from.
  PairPredicateTask(TaskKind kind, const char *name, const char *problem,
                    const char *no, const char *yes)
      : kind_(kind), name_(name), problem_(problem), classes_{no, yes} {}

  TaskKind kind() const override { return kind_; }
  const char *name() const override { return name_; }

  std::vector<TaskParameter> parameters() const override {
    return {maxLengthParameter("n: the length of each string")};
  }
  std::string describe(const TaskSpec &task) const override {
    return "N = " + std::to_string(task.maxLength);
  }

  Vocabulary vocabulary(const TaskSpec &task) const override {
    Vocabulary v;
    v.symbolCount = 2;
    v.endToken = 2;
    v.tokenCount = 3;
    v.classCount = 2;
    v.maxSequenceLength = 2 * task.maxLength + 1; // x, y, then <out>
    return v;
  }
  std::string tokenName(const TaskSpec &, const Vocabulary &voc,
                        int64_t token) const override {
    return token == voc.endToken ? "<out>" : std::to_string(token);
  }
  std::string className(const TaskSpec &, int64_t cls) const override {
    return classes_[cls];
  }

  std::vector<TokenGroup> tokenGroups(const TaskSpec &,
                                      const Vocabulary &voc) const override {
    return {{0, 2, "bit", {{"bit"}}, ""}, {voc.endToken, 1, "out", {}, ""}};
  }
  std::vector<std::pair<std::string, std::string>>
  roleMeanings(const TaskSpec &) const override {
    return {{"bit", "a bit of x or y, its value `bit`"},
            {"out", "<out>: ends the input; the decision is read there"}};
  }
  InputLayout inputLayout(const TaskSpec &task) const override {
    InputLayout l;
    l.pattern = "x_1 .. x_n y_1 .. y_n <out>";
    l.length = "2 n + 1";
    const std::string n = std::to_string(task.maxLength);
    l.variables = {{"n", n, n, "the length of each string: exactly N"}};
    l.description = "two bit strings x and y of length n = N (no separator "
                    "between them), then <out>";
    l.answer = isEquality()
                   ? "equal if x_i = y_i for every i, else different"
                   : "disjoint if no i has x_i = y_i = 1, else intersect";
    l.readAt = "the last position (<out>)";
    return l;
  }
  std::string classMeaning(const TaskSpec &, int64_t cls) const override {
    if (isEquality())
      return cls ? "x = y" : "x and y differ in at least one position";
    return cls ? "the sets x and y are disjoint: no i with x_i = y_i = 1"
               : "the sets x and y intersect: some i has x_i = y_i = 1";
  }

  std::string checkInput(const TaskSpec &task,
                         const std::vector<int32_t> &tokens) const override {
    // x_1 .. x_n y_1 .. y_n <out>, n = N.
    const size_t n = static_cast<size_t>(task.maxLength);
    if (tokens.size() != 2 * n + 1)
      return "input has " + std::to_string(tokens.size()) +
             " tokens, expected 2N + 1 = " + std::to_string(2 * n + 1);
    for (size_t i = 0; i < 2 * n; ++i)
      if (tokens[i] != 0 && tokens[i] != 1)
        return "token " + std::to_string(i + 1) + " is not a bit";
    if (tokens.back() != vocabulary(task).endToken)
      return "the last token is not <out>";
    return {};
  }
  int64_t groundTruth(const TaskSpec &task,
                      const std::vector<int32_t> &tokens) const override {
    const size_t n = static_cast<size_t>(task.maxLength);
    for (size_t i = 0; i < n; ++i) {
      const bool x = tokens[i] == 1, y = tokens[n + i] == 1;
      if (isEquality() ? x != y : (x && y))
        return 0;
    }
    return 1;
  }

  void generateUniform(const TaskSpec &task, SplitMix64 &rng,
                       Example &ex) const override {
    generate(task, false, rng, ex);
  }
  void generateAdversarial(const TaskSpec &task, const AdversarialHints &,
                           SplitMix64 &rng, Example &ex) const override {
    generate(task, true, rng, ex);
  }

  LowerBound lowerBound(const TaskSpec &task, Architecture arch,
                        int64_t layers) const override {
    LowerBound b;
    const int64_t N = task.maxLength;
    if (arch == Architecture::RNN) {
      b = stateSizeBound(
          "state bits >= n", static_cast<double>(N),
          std::string("one-way communication: ") + problem_ +
              "_n (Alice holds x, Bob y) needs n bits from Alice to Bob; "
              "the state after x is that message",
          std::string("RNN lower bound (Bhattamishra et al. 2024), via "
                      "one-way ") +
              problem_ + ": after x the state must tell apart all 2^n strings");
      b.perLength = 1;
      b.perLengthMeaning = "one bit per position of x";
    } else if (layers == 1) {
      b = cutBound(
          "cut bits >= n + 1", static_cast<double>(N) + 1,
          std::string("communication: ") + problem_ +
              "_n needs n + 1 bits in any deterministic protocol (one-way or "
              "two-way); the layer's partial sums at a cut between x and y "
              "are a one-way protocol",
          std::string("one-layer Transformer lower bound (Bhattamishra et al. "
                      "2024), via ") +
              problem_ +
              ": Alice sends each head's partial numerators and denominator");
      b.refusal = "a one-layer Transformer needs heads x (value width + 1) x "
                  "precision >= n + 1 = " +
                  std::to_string(N + 1) + " bits (Bhattamishra et al. 2024)";
    } else {
      b.note = "no lower bound for two or more layers; O(log N) width suffices";
    }
    return b;
  }

private:
  bool isEquality() const { return kind_ == TaskKind::StringEquality; }
  void generate(const TaskSpec &task, bool adversarial, SplitMix64 &rng,
                Example &ex) const;

  TaskKind kind_;
  const char *name_, *problem_;
  const char *classes_[2];
};

// Uniform: random x, and y = x (equality) or the complement of x
// (disjointness) half the time, else uniform. Adversarial: a near miss, one
// position away from the other class, at the start, the middle, the end or
// anywhere (the hardest case for a counting read-out).
void PairPredicateTask::generate(const TaskSpec &task, bool adversarial,
                                 SplitMix64 &rng, Example &ex) const {
  const int64_t n = task.maxLength;
  const bool equality = isEquality();
  ex.tokens.assign(static_cast<size_t>(2 * n + 1), 0);
  for (int64_t i = 0; i < n; ++i)
    ex.tokens[i] = static_cast<int32_t>(rng.below(2));
  const bool related = adversarial || rng.below(2);
  for (int64_t i = 0; i < n; ++i)
    ex.tokens[n + i] =
        related ? (equality ? ex.tokens[i]
                            : (1 - ex.tokens[i]) & (rng.below(2) ? 1 : 0))
                : static_cast<int32_t>(rng.below(2));
  if (adversarial && rng.below(2)) {
    const int64_t where[] = {0, n / 2, n - 1,
                             static_cast<int64_t>(rng.below(n))};
    const int64_t i = where[rng.below(4)];
    if (equality) {
      ex.tokens[n + i] = 1 - ex.tokens[i]; // exactly one difference
    } else {
      ex.tokens[i] = 1; // exactly one common element
      ex.tokens[n + i] = 1;
    }
  }
  ex.tokens[2 * n] = 2; // <out>
}

} // namespace

const TaskDefinition &disjointnessTask() {
  static const PairPredicateTask task(TaskKind::Disjointness, "disjointness",
                                      "DISJOINTNESS", "intersect", "disjoint");
  return task;
}

const TaskDefinition &stringEqualityTask() {
  static const PairPredicateTask task(TaskKind::StringEquality,
                                      "string_equality", "EQUALITY",
                                      "different", "equal");
  return task;
}

} // namespace handwire
