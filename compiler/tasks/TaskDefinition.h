// Everything handwire knows about one task, in one place: its name and
// parameters (what a task block may say, their ranges and defaults), its token
// vocabulary, its semantics (ground truth and input validity), its input
// generators and its lower bounds. One file per task defines one (or, for
// tasks that share their machinery, two); tasks/Registry.cpp lists them.
//
// The front end (frontend/Sema.cpp) reads task blocks from the parameter
// table, the model file and the CLI write and read task JSON through
// tasks/TaskJson.h, and the separation card asks for the lower bound: none of
// them names a task. The TaskKind enum stays as the key that networks and
// constructions carry.
#pragma once

#include "spec/TaskSpec.h"
#include "spec/Vocabulary.h"
#include "support/Random.h"

#include <nlohmann/json_fwd.hpp>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace handwire {

// One field of a task block, and of the task's JSON form. Made by the
// builders below, which keep each type's fields consistent.
struct TaskParameter {
  enum class Type { Integer, Number, SymbolList, Choice };
  const char *name = ""; // as written in .task files and JSON
  Type type = Type::Integer;
  bool required = true;
  const char *defaultValue = ""; // documented default ("" when required)
  const char *meaning = "";      // one line, for docs
  // Integer: min <= value <= max. SymbolList: min <= count <= max.
  int64_t min = 0, max = 0;
  // Number: above < value <= atMost.
  double above = 0, atMost = 0;
  // Where the value lives in TaskSpec (the member of its type).
  int64_t TaskSpec::*integer = nullptr;
  double TaskSpec::*number = nullptr;
  std::vector<std::string> TaskSpec::*symbols = nullptr;
  std::string TaskSpec::*text = nullptr; // Choice: one of `choices`
  std::vector<std::string> choices;
  // Why values above the maximum are refused, if that deserves more than the
  // plain range: the .task error then ends with ": " and this text (given the
  // value as written). An integer gets it up to kMaxTaskLength.
  std::string (*whyAtMost)(const std::string &written) = nullptr;
};

// Parameter builders: required unless a default is documented (the default
// itself is TaskSpec's initial value, or set by completeDefaults).
TaskParameter integerParameter(const char *name, const char *meaning,
                               int64_t min, int64_t max,
                               int64_t TaskSpec::*field,
                               const char *defaultValue = "");
TaskParameter numberParameter(const char *name, const char *meaning,
                              double above, double atMost,
                              double TaskSpec::*field,
                              const char *defaultValue = "");
// One identifier of `choices`; defaultChoice (a literal, one of them) is
// TaskSpec's initial value.
TaskParameter choiceParameter(const char *name, const char *meaning,
                              const char *defaultChoice,
                              std::vector<std::string> choices,
                              std::string TaskSpec::*field);
TaskParameter symbolListParameter(const char *name, const char *meaning,
                                  int64_t min, int64_t max,
                                  std::vector<std::string> TaskSpec::*field);

// The maximum of every task's max_length: 2^26.
constexpr int64_t kMaxTaskLength = int64_t(1) << 26;
// max_length, as every task has it; `meaning` says what N counts.
TaskParameter maxLengthParameter(const char *meaning);

// For inputs of n items then one query token (index lookup, associative
// recall): what is wrong with their count, or empty if 1 <= n <= N.
// `tooShort` is the message for fewer than two tokens; `items` names them in
// "input has 9 symbols, more than N = 8".
std::string checkItemCount(const std::vector<int32_t> &tokens,
                           int64_t maxLength, const char *tooShort,
                           const char *items);

// A generated input with its label (tasks/Generators.h streams them).
struct Example {
  std::vector<int32_t> tokens;
  // Continuous inputs, tokens.size() x featureDim floats row-major (position
  // i's vector in row i, zero where its token carries none); empty for
  // token-only tasks (TaskDefinition::featureDim = 0).
  std::vector<float> features;
  int64_t label = 0;
  bool adversarial = false;
};

// Hints about where a particular network is weakest (e.g. the code's most
// coherent pairs, as 1-based positions). Empty hints give plain worst cases.
struct AdversarialHints {
  std::vector<std::pair<int64_t, int64_t>> coherentPositions;
};

// What a lower bound counts (paper-constructions.md §2.2, §7.1-7.2). Each is
// the size of a message: a bound on the bits of a communication protocol
// (one-way or two-way) becomes a bound on the model part that carries them.
enum class BoundKind {
  None,      // no lower bound applies
  StateSize, // an RNN's state m p: units x bits per unit (the one-way message
             // after Alice's half of the input)
  Cut,       // a one-layer Transformer's H (d_v + 1) p: the partial softmax
             // numerators and denominators crossing a cut of the positions
};
const char *boundKindName(BoundKind kind); // "none" | "state-size" | "cut"
// What the bound measures, in words: "state-size bound on an RNN's m p
// (hidden units x bits per unit)".
const char *boundKindMeaning(BoundKind kind);

// The lower bound on a model of an architecture and depth for a task
// (paper-constructions.md §7.4), in the units of the separation card.
struct LowerBound {
  BoundKind kind = BoundKind::None;
  std::string formula = "none"; // e.g. "state bits >= N log2|alphabet|"
  std::optional<double> bits;   // its value (absent: no bound applies)
  // The argument it comes from: "one-way communication: INDEX_N" (a
  // protocol-bits bound), or "counting states" (an information bound).
  std::string argument;
  // The precision model it assumes, e.g. "p bits per stored number (at most
  // 2^p values per scalar)". The card evaluates it at p = the model's
  // storage bits.
  std::string precision;
  std::string note; // why it applies, or why none does
  // How `bits` grows with N = max_length, the other parameters fixed, so
  // that it can be inverted (handwire bound): bits = perLength x min(N, cap)
  // + constant. perLength = 0: constant in N. Set for every state-size bound.
  double perLength = 0;
  std::string perLengthMeaning; // "log2|alphabet|": bits per unit of N
  std::optional<int64_t> cap;   // N beyond which the bound stops growing
  std::string capMeaning;       // "K, the number of keys"
  double constant = 0;
  // Where the bound rules a model out: one sentence with its value, for the
  // "no construction" error (empty where none is stated).
  std::string refusal;
};

// The bound kinds with their precision models filled in (the `precision`
// text of each kind), from the argument and the value.
LowerBound stateSizeBound(std::string formula, double bits,
                          std::string argument, std::string note);
LowerBound cutBound(std::string formula, double bits, std::string argument,
                    std::string note);

// --- what a model file says about its inputs (docs/export.md, "Vocabulary,
// input layout and classes"), so that a reader needs no compiler source ---

// A number attached to each token of a group, e.g. IDX_p's p. At offset o =
// token - first it is from + (o / every) % modulo (modulo 0: no wrap); a
// name pattern shows names[value] where names are given, else the number.
// Mixed radix covers every shipped group: IDX_p (p from 1), an associative
// pair's key (every V) and value (modulo V, named by the alphabet).
struct TokenField {
  TokenField(std::string name, int64_t from = 0, int64_t every = 1,
             int64_t modulo = 0, std::vector<std::string> names = {})
      : name(std::move(name)), from(from), every(every), modulo(modulo),
        names(std::move(names)) {}
  std::string name;
  int64_t from, every, modulo;
  std::vector<std::string> names;
  int64_t valueAt(int64_t offset) const {
    const int64_t q = offset / every;
    return from + (modulo > 0 ? q % modulo : q);
  }
};

// Consecutive tokens with one role: `count` tokens from `first`. Groups
// cover 0 .. token_count - 1 in order. A group with a `pattern` (its fields
// in braces, "IDX_{p}") is written as a range when it is long; without one,
// its tokens are listed with their tokenName.
struct TokenGroup {
  int64_t first = 0, count = 1;
  std::string role; // "symbol", "index", "open", "label", ...
  std::vector<TokenField> fields;
  std::string pattern;
};

// A variable of an input layout: min <= name <= max, each a number or a
// formula of the task's parameters and earlier variables ("n").
struct LayoutVariable {
  std::string name, min, max, meaning;
};

// How an instance becomes a token sequence, and where its answer is read.
struct InputLayout {
  std::string pattern; // "s_1 .. s_n IDX_p"
  std::string length;  // "n + 1"
  std::vector<LayoutVariable> variables;
  std::string description; // the constraints and the answer, in words
  std::string answer;      // the correct class, in terms of the pattern
  std::string readAt;      // where the decision is read
  // Continuous inputs: numbers per position (TaskDefinition::featureDim) and
  // what they hold; 0 and empty for token-only tasks.
  int64_t features = 0;
  std::string featureMeaning;
};

// Reports an error at a location (the front end's error()).
using TaskErrorSink =
    std::function<void(const SourceLoc &, const std::string &)>;

class TaskDefinition {
public:
  virtual ~TaskDefinition() = default;

  virtual TaskKind kind() const = 0;
  virtual const char *name() const = 0; // "index_lookup"

  // --- parameters ---
  // Every field of the task block, max_length included, sorted by name (the
  // order in which errors list them and files are read).
  virtual std::vector<TaskParameter> parameters() const = 0;
  // Defaults that depend on other fields, once the block is read (t.locs
  // holds the fields that were written).
  virtual void completeDefaults(TaskSpec &) const {}
  // Checks across fields, and of the task against the spec's models (e.g. a
  // construction's table size), once every block is read.
  virtual void checkSpec(const TaskSpec &, const std::vector<ModelSpec> &,
                         const TaskErrorSink &) const {}
  // The values `construction` may take in a model of `arch` (empty: there is
  // one construction, nothing to choose).
  virtual std::vector<std::string> constructionVariants(Architecture) const {
    return {};
  }
  // What the task block says, after "task NAME: " ("N = 16, Dyck-(2,2)").
  virtual std::string describe(const TaskSpec &task) const = 0;
  // Quantities derived from the parameters that reports show (not part of the
  // model file: they are recomputed on reading).
  virtual void writeDerivedJson(const TaskSpec &, nlohmann::json &) const {}

  // --- vocabulary ---
  virtual Vocabulary vocabulary(const TaskSpec &task) const = 0;
  // Names of tokens and classes in range (Vocabulary checks the range).
  virtual std::string tokenName(const TaskSpec &task, const Vocabulary &voc,
                                int64_t token) const = 0;
  virtual std::string className(const TaskSpec &task, int64_t cls) const = 0;
  // The vocabulary's tokens by group (TokenGroup), a sentence per role, the
  // input layout and what each class means: the model file's self-
  // description (tasks/TaskJson.h, taskDescriptionJson).
  virtual std::vector<TokenGroup> tokenGroups(const TaskSpec &task,
                                              const Vocabulary &voc) const = 0;
  virtual std::vector<std::pair<std::string, std::string>>
  roleMeanings(const TaskSpec &task) const = 0;
  virtual InputLayout inputLayout(const TaskSpec &task) const = 0;
  // One sentence: "the symbol at the queried position is b".
  virtual std::string classMeaning(const TaskSpec &task, int64_t cls) const = 0;

  // --- semantics ---
  // Empty if `tokens` is a well-formed input, else what is wrong.
  virtual std::string checkInput(const TaskSpec &task,
                                 const std::vector<int32_t> &tokens) const = 0;
  // The correct class of a well-formed input.
  virtual int64_t groundTruth(const TaskSpec &task,
                              const std::vector<int32_t> &tokens) const = 0;

  // --- continuous inputs ---
  // F: the numbers each position carries besides its token (Example::
  // features), 0 for a token-only task.
  virtual int64_t featureDim(const TaskSpec &) const { return 0; }
  // checkInput and groundTruth of an input with its features (tokens.size()
  // x F floats). A task with F > 0 overrides both; by default an input has
  // no features and the token-only forms decide.
  virtual std::string
  checkInputWithFeatures(const TaskSpec &task,
                         const std::vector<int32_t> &tokens,
                         const std::vector<float> &features) const;
  virtual int64_t
  groundTruthWithFeatures(const TaskSpec &task,
                          const std::vector<int32_t> &tokens,
                          const std::vector<float> &features) const {
    (void)features;
    return groundTruth(task, tokens);
  }

  // --- generators (tokens, and features where F > 0; the label is the
  // ground truth) ---
  virtual void generateUniform(const TaskSpec &task, SplitMix64 &rng,
                               Example &ex) const = 0;
  virtual void generateAdversarial(const TaskSpec &task,
                                   const AdversarialHints &hints,
                                   SplitMix64 &rng, Example &ex) const = 0;

  // --- lower bounds ---
  virtual LowerBound lowerBound(const TaskSpec &task, Architecture arch,
                                int64_t layers) const = 0;
  // |alphabet| as the separation card reports it (the size of what must be
  // remembered per position).
  virtual int64_t alphabetSize(const TaskSpec &task) const {
    return static_cast<int64_t>(task.alphabet.size());
  }
};

// --- the registry (tasks/Registry.cpp) ---
// All definitions, sorted by name.
const std::vector<const TaskDefinition *> &allTaskDefinitions();
const TaskDefinition &taskDefinition(TaskKind kind);
const TaskDefinition *taskDefinitionByName(const std::string &name);

} // namespace handwire
