#include "analysis/StateBound.h"

#include "support/Diagnostics.h"

#include <charconv>
#include <cmath>
#include <sstream>

namespace handwire {
namespace {

// 2^53: state bits beyond it would not be counted exactly in a double.
constexpr double kMaxStateBits = 9007199254740992.0;
constexpr int64_t kMaxValue = int64_t(1) << 40;

struct Key {
  const char *name;
  int64_t defaultValue; // 0: required
};

using Values = std::vector<std::pair<std::string, int64_t>>;

struct Family {
  const char *name;
  const char *alias; // another name for it, or ""
  std::vector<Key> keys;
  double (*units)(const Values &);
  std::string (*formula)(const Values &); // "2 x hidden x layers = 2 x 512"
  const char *carries;
};

int64_t value(const Values &v, const char *key) {
  for (const auto &[k, x] : v)
    if (k == key)
      return x;
  HW_ASSERT(false, "state family without its key");
  return 0;
}

double d(const Values &v, const char *key) {
  return static_cast<double>(value(v, key));
}

std::string s(const Values &v, const char *key) {
  return std::to_string(value(v, key));
}

const std::vector<Family> &families() {
  static const std::vector<Family> table = {
      {"lstm",
       "",
       {{"hidden", 0}, {"layers", 1}, {"bits", 16}},
       [](const Values &v) { return 2 * d(v, "hidden") * d(v, "layers"); },
       [](const Values &v) {
         return "2 x hidden x layers = 2 x " + s(v, "hidden") + " x " +
                s(v, "layers");
       },
       "h and the cell c, hidden numbers each, per layer"},
      {"gru",
       "",
       {{"hidden", 0}, {"layers", 1}, {"bits", 16}},
       [](const Values &v) { return d(v, "hidden") * d(v, "layers"); },
       [](const Values &v) {
         return "hidden x layers = " + s(v, "hidden") + " x " + s(v, "layers");
       },
       "h, hidden numbers per layer"},
      {"elman",
       "rnn",
       {{"hidden", 0}, {"layers", 1}, {"bits", 16}},
       [](const Values &v) { return d(v, "hidden") * d(v, "layers"); },
       [](const Values &v) {
         return "hidden x layers = " + s(v, "hidden") + " x " + s(v, "layers");
       },
       "h, hidden numbers per stacked layer"},
      {"mamba",
       "",
       {{"d_model", 0},
        {"d_state", 16},
        {"expand", 2},
        {"d_conv", 4},
        {"layers", 1},
        {"bits", 16}},
       [](const Values &v) {
         return d(v, "layers") * d(v, "expand") * d(v, "d_model") *
                (d(v, "d_state") + d(v, "d_conv") - 1);
       },
       [](const Values &v) {
         return "layers x expand x d_model x (d_state + d_conv - 1) = " +
                s(v, "layers") + " x " + s(v, "expand") + " x " +
                s(v, "d_model") + " x (" + s(v, "d_state") + " + " +
                s(v, "d_conv") + " - 1)";
       },
       "per layer the SSM state, (expand d_model) x d_state, and the "
       "convolution's last d_conv - 1 inputs of width expand d_model"},
      {"ssm",
       "",
       {{"d_model", 0}, {"d_state", 0}, {"layers", 1}, {"bits", 16}},
       [](const Values &v) {
         return d(v, "layers") * d(v, "d_model") * d(v, "d_state");
       },
       [](const Values &v) {
         return "layers x d_model x d_state = " + s(v, "layers") + " x " +
                s(v, "d_model") + " x " + s(v, "d_state");
       },
       "per layer a d_state-dimensional state per channel (S4, S4D, DSS); "
       "use mamba for Mamba's expansion and convolution"},
      {"linear_attention",
       "",
       {{"d_k", 0}, {"d_v", 0}, {"heads", 1}, {"layers", 1}, {"bits", 16}},
       [](const Values &v) {
         return d(v, "layers") * d(v, "heads") *
                (d(v, "d_k") * d(v, "d_v") + d(v, "d_k"));
       },
       [](const Values &v) {
         return "layers x heads x (d_k x d_v + d_k) = " + s(v, "layers") +
                " x " + s(v, "heads") + " x (" + s(v, "d_k") + " x " +
                s(v, "d_v") + " + " + s(v, "d_k") + ")";
       },
       "per head and layer the d_k x d_v matrix sum phi(k) v^T and the "
       "normalizer sum phi(k) (d_k numbers); use retnet for none"},
      {"retnet",
       "",
       {{"d_k", 0}, {"d_v", 0}, {"heads", 1}, {"layers", 1}, {"bits", 16}},
       [](const Values &v) {
         return d(v, "layers") * d(v, "heads") * d(v, "d_k") * d(v, "d_v");
       },
       [](const Values &v) {
         return "layers x heads x d_k x d_v = " + s(v, "layers") + " x " +
                s(v, "heads") + " x " + s(v, "d_k") + " x " + s(v, "d_v");
       },
       "per head and layer the d_k x d_v retention matrix (no normalizer: "
       "RetNet normalizes the output)"},
  };
  return table;
}

std::string familyNames() {
  std::string out;
  for (const Family &f : families()) {
    out += (out.empty() ? "" : ", ") + std::string(f.name);
    if (*f.alias)
      out += std::string(" (or ") + f.alias + ")";
  }
  return out;
}

std::string keyList(const Family &f) {
  std::string out;
  for (const Key &k : f.keys) {
    out += (out.empty() ? "" : ", ") + std::string(k.name);
    out += k.defaultValue ? " (default " + std::to_string(k.defaultValue) + ")"
                          : " (required)";
  }
  return out;
}

// A number for the arithmetic lines: integers exactly, others to 6 digits.
std::string num(double x) {
  std::ostringstream os;
  if (std::abs(x) < 1e15 && x == std::floor(x))
    os << static_cast<int64_t>(x);
  else {
    os.precision(6);
    os << x;
  }
  return os.str();
}

int64_t parseValue(const std::string &key, const std::string &text,
                   const Family &f) {
  int64_t v = 0;
  const char *end = text.data() + text.size();
  const auto [p, ec] = std::from_chars(text.data(), end, v);
  if (text.empty() || p != end || ec != std::errc() || v < 1 ||
      v > (key == "bits" ? 64 : kMaxValue))
    throw UserError(
        "--state: " + key + "=" + text + " for " + f.name +
        ": must be an integer from 1 to " +
        (key == "bits" ? std::string("64") : std::to_string(kMaxValue)));
  return v;
}

} // namespace

std::string StateDescription::text() const {
  std::string out = family;
  for (const auto &[k, v] : parameters)
    out += " " + k + "=" + std::to_string(v);
  return out;
}

StateDescription parseStateDescription(const std::string &text) {
  std::istringstream in(text);
  std::string word;
  const std::string example = "e.g. \"lstm hidden=512 layers=2 bits=16\"";
  if (!(in >> word))
    throw UserError("--state is empty: it names a family and its sizes, " +
                    example + "; the families are " + familyNames());
  const Family *f = nullptr;
  for (const Family &c : families())
    if (word == c.name || (*c.alias && word == c.alias))
      f = &c;
  if (!f)
    throw UserError("--state: unknown family '" + word +
                    "'; the families are " + familyNames() + " (" + example +
                    ")");
  Values given;
  while (in >> word) {
    const size_t eq = word.find('=');
    if (eq == std::string::npos)
      throw UserError("--state: '" + word + "' is not KEY=VALUE; the keys of " +
                      f->name + " are " + keyList(*f));
    const std::string key = word.substr(0, eq);
    bool known = false;
    for (const Key &k : f->keys)
      known |= key == k.name;
    if (!known)
      throw UserError("--state: unknown key '" + key + "' for " + f->name +
                      "; its keys are " + keyList(*f));
    for (const auto &[k, v] : given)
      if (k == key)
        throw UserError("--state: key '" + key + "' given twice");
    given.emplace_back(key, parseValue(key, word.substr(eq + 1), *f));
  }
  StateDescription sd;
  sd.family = f->name;
  for (const Key &k : f->keys) {
    int64_t v = k.defaultValue;
    for (const auto &[name, x] : given)
      if (name == k.name)
        v = x;
    if (v == 0)
      throw UserError("--state: " + std::string(f->name) + " needs " + k.name +
                      "=...; its keys are " + keyList(*f));
    sd.parameters.emplace_back(k.name, v);
  }
  sd.bits = value(sd.parameters, "bits");
  sd.units = f->units(sd.parameters);
  sd.unitsFormula = f->formula(sd.parameters);
  sd.carries = f->carries;
  if (sd.stateBits() > kMaxStateBits)
    throw UserError("--state: " + sd.text() + " has " + num(sd.stateBits()) +
                    " state bits, more than 2^53 (too many to count exactly)");
  return sd;
}

std::string stateFamiliesHelp() {
  std::string out;
  for (const Family &f : families()) {
    out += out.empty() ? "" : "; ";
    out += f.name;
    if (*f.alias)
      out += std::string(" (or ") + f.alias + ")";
    for (const Key &k : f.keys)
      out += k.defaultValue ? " [" + std::string(k.name) + "=" +
                                  std::to_string(k.defaultValue) + "]"
                            : " " + std::string(k.name) + "=N";
  }
  return out;
}

namespace {
// The bound's value at N, from the task's own formula.
double boundAt(const TaskSpec &task, int64_t N) {
  TaskSpec t = task;
  t.maxLength = N;
  const LowerBound b =
      taskDefinition(t.kind).lowerBound(t, Architecture::RNN, 1);
  HW_ASSERT(b.bits, "an RNN bound without a value");
  return *b.bits;
}
} // namespace

LengthLimit largestLength(const TaskSpec &task, double S) {
  LengthLimit r;
  r.bound = taskDefinition(task.kind).lowerBound(task, Architecture::RNN, 1);
  const LowerBound &b = r.bound;
  HW_ASSERT(b.kind == BoundKind::StateSize && b.bits,
            "every task has a state-size bound for RNNs");
  auto &lines = r.arithmetic;
  lines.push_back("bound   " + b.formula);
  if (b.perLength == 0) {
    // Constant in N: the state either suffices at every length or at none.
    r.anyLength = b.constant <= S;
    lines.push_back("        constant in N: " + num(b.constant) +
                    " bits at every N");
    lines.push_back("needs   " + num(b.constant) + " <= S = " + num(S) +
                    (r.anyLength ? ": holds" : ": fails"));
    lines.push_back(r.anyLength ? "N_max   any N (the bound does not grow "
                                  "with N)"
                                : "N_max   none: the state is too small at "
                                  "every N");
    return r;
  }
  const double c = b.perLength;
  lines.push_back("        " + b.perLengthMeaning + " = " + num(c) +
                  " bits per unit of N" +
                  (b.cap ? ", growing up to N = " + b.capMeaning + " = " +
                               std::to_string(*b.cap)
                         : std::string()));
  lines.push_back("needs   N x " + num(c) + " <= S = " + num(S));
  // floor(S / c), then stepped so that it agrees with the formula's own
  // floating-point products.
  int64_t n = static_cast<int64_t>(std::floor(S / c));
  while (n > 0 && static_cast<double>(n) * c > S)
    --n;
  while (static_cast<double>(n + 1) * c <= S)
    ++n;
  if (b.cap && n >= *b.cap) {
    r.anyLength = true;
    lines.push_back(
        "        " + num(S / c) + " >= " + std::to_string(*b.cap) +
        ": the bound stops growing at N = " + std::to_string(*b.cap) + " (" +
        num(static_cast<double>(*b.cap) * c) + " bits <= S)");
    lines.push_back("N_max   any N (the bound is at most " +
                    num(static_cast<double>(*b.cap) * c) + " bits)");
    HW_ASSERT(boundAt(task, *b.cap) <= S,
              "the inverted bound disagrees with the task's formula");
    return r;
  }
  r.maxLength = n;
  lines.push_back("N_max   floor(" + num(S) + " / " + num(c) +
                  ") = " + std::to_string(n));
  // The inversion and the formula must agree on both sides of N_max.
  HW_ASSERT(n == 0 || boundAt(task, n) <= S,
            "the inverted bound disagrees with the task's formula");
  HW_ASSERT(boundAt(task, n + 1) > S,
            "the inverted bound disagrees with the task's formula");
  return r;
}

} // namespace handwire
