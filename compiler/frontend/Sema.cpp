#include "frontend/Sema.h"

#include "tasks/TaskDefinition.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <map>
#include <set>
#include <sstream>

namespace handwire {
namespace {

constexpr int kMaxErrors = 20;
constexpr double kMaxSoftmaxScale = 1e6;    // docs/language.md
constexpr double kMinReadoutMargin = 1e-12; // docs/language.md

// Edit distance, for "did you mean".
size_t editDistance(const std::string &a, const std::string &b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j)
    row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diag = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t up = row[j];
      row[j] =
          std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] != b[j - 1])});
      diag = up;
    }
  }
  return row[b.size()];
}

std::string joined(const std::vector<std::string> &names) {
  std::string out;
  for (const auto &n : names)
    out += (out.empty() ? "" : ", ") + n;
  return out;
}

std::string suggestion(const std::string &word,
                       const std::vector<std::string> &names) {
  std::string best;
  size_t bestD = 3;
  for (const auto &n : names) {
    const size_t d = editDistance(word, n);
    if (d < bestD) {
      bestD = d;
      best = n;
    }
  }
  return best.empty() ? "" : "; did you mean '" + best + "'?";
}

// A user's text inside a message, clipped so a 10,000-character value does not
// become a 10,000-character message.
std::string clip(const std::string &text) {
  return text.size() <= 40 ? text : text.substr(0, 37) + "...";
}

// A number as written, for a message: a 900,000-digit one is not echoed.
std::string shownNumber(const std::string &text) {
  return text.size() <= 40 ? text
                           : text.substr(0, 24) + "... (" +
                                 std::to_string(text.size()) + " characters)";
}

class Analyzer {
public:
  Analyzer(const ast::File &file, DiagnosticEngine &diags)
      : file_(file), diags_(diags) {}

  std::optional<Spec> run();

private:
  // --- diagnostics ---
  void error(const SourceLoc &loc, const std::string &msg) {
    if (++errors_ <= kMaxErrors)
      diags_.error(loc, msg);
    else if (errors_ == kMaxErrors + 1)
      diags_.note(loc, "too many errors; stopping here");
  }
  // A note belongs to the error just reported: dropped with it past the cap.
  void note(const SourceLoc &loc, const std::string &msg) {
    if (errors_ <= kMaxErrors)
      diags_.note(loc, msg);
  }

  // --- typed field readers: report and return nullopt on a bad value ---
  std::optional<int64_t> integer(const ast::Field &f, int64_t lo, int64_t hi,
                                 const std::string &what = "") {
    const ast::Value &v = f.value;
    if (v.kind != ast::Value::Kind::Integer) {
      error(v.loc, "'" + f.name + "' must be an integer, got " + v.kindName());
      return std::nullopt;
    }
    const std::string name = what.empty() ? "'" + f.name + "'" : what;
    if (v.outOfRange ||
        (!v.negative && v.magnitude > static_cast<uint64_t>(hi)) ||
        (v.negative &&
         (lo >= 0 || v.magnitude > static_cast<uint64_t>(-(lo + 1)) + 1))) {
      if (v.outOfRange)
        error(v.loc, "'" + f.name + "' is out of range: " +
                         shownNumber(v.text) + " does not fit in 64 bits");
      else if (v.negative && lo >= 0)
        error(v.loc,
              name + " must not be negative, got " + shownNumber(v.text));
      else
        error(v.loc, name + " must be at most " + std::to_string(hi) +
                         ", got " + shownNumber(v.text));
      return std::nullopt;
    }
    const int64_t x = v.negative ? -static_cast<int64_t>(v.magnitude - 1) - 1
                                 : static_cast<int64_t>(v.magnitude);
    if (x < lo) {
      error(v.loc, name + " must be at least " + std::to_string(lo) + ", got " +
                       shownNumber(v.text));
      return std::nullopt;
    }
    return x;
  }

  std::optional<uint64_t> unsignedInteger(const ast::Field &f) {
    const ast::Value &v = f.value;
    if (v.kind != ast::Value::Kind::Integer) {
      error(v.loc, "'" + f.name + "' must be an integer, got " + v.kindName());
      return std::nullopt;
    }
    if (v.negative && v.magnitude != 0) {
      error(v.loc, "'" + f.name + "' must not be negative, got " +
                       shownNumber(v.text));
      return std::nullopt;
    }
    if (v.outOfRange) {
      error(v.loc, "'" + f.name + "' is out of range: " + shownNumber(v.text) +
                       " does not fit in 64 bits");
      return std::nullopt;
    }
    return v.magnitude;
  }

  // A number in the open interval (lo, hi) (hi may be infinite).
  std::optional<double> number(const ast::Field &f, double lo, double hi) {
    const ast::Value &v = f.value;
    if (v.kind != ast::Value::Kind::Integer &&
        v.kind != ast::Value::Kind::Float) {
      error(v.loc, "'" + f.name + "' must be a number, got " + v.kindName());
      return std::nullopt;
    }
    if (!(v.number > lo && v.number < hi) || !std::isfinite(v.number)) {
      std::ostringstream os;
      os << "'" << f.name << "' must be ";
      if (std::isinf(hi))
        os << "greater than " << lo;
      else
        os << "strictly between " << lo << " and " << hi;
      os << ", got " << shownNumber(v.text);
      error(v.loc, os.str());
      return std::nullopt;
    }
    return v.number;
  }

  std::optional<std::string> choice(const ast::Field &f,
                                    const std::vector<std::string> &options) {
    const ast::Value &v = f.value;
    if (v.kind != ast::Value::Kind::Identifier) {
      error(v.loc, "'" + f.name + "' must be one of " + joined(options) +
                       ", got " + v.kindName());
      return std::nullopt;
    }
    if (std::find(options.begin(), options.end(), v.text) == options.end()) {
      error(v.loc, "'" + f.name + "' must be one of " + joined(options) +
                       ", got '" + clip(v.text) + "'" +
                       suggestion(v.text, options));
      return std::nullopt;
    }
    return v.text;
  }

  // Checks the block's field names against `allowed` (and duplicates); returns
  // the fields by name.
  std::map<std::string, const ast::Field *>
  fieldsOf(const ast::Block &b, const std::vector<std::string> &allowed,
           const std::string &context,
           const std::map<std::string, std::string> &misplaced = {}) {
    std::map<std::string, const ast::Field *> out;
    for (const ast::Field &f : b.fields) {
      if (std::find(allowed.begin(), allowed.end(), f.name) == allowed.end()) {
        auto it = misplaced.find(f.name);
        if (it != misplaced.end())
          error(f.loc, "field '" + f.name + "' " + it->second);
        else
          error(f.loc, "unknown field '" + clip(f.name) + "' in " + context +
                           "; expected one of: " + joined(allowed) +
                           suggestion(f.name, allowed));
        continue;
      }
      if (out.count(f.name)) {
        error(f.loc, "field '" + f.name + "' is set twice in " + context);
        note(out[f.name]->loc, "first set here");
        continue;
      }
      out[f.name] = &f;
    }
    return out;
  }

  // Runs handlers[name] for each accepted field, in source order, so errors
  // come out in the order of the file.
  using Handlers =
      std::map<std::string, std::function<void(const ast::Field &)>>;
  void inOrder(const ast::Block &b,
               const std::map<std::string, const ast::Field *> &fields,
               const Handlers &handlers) {
    for (const ast::Field &f : b.fields) {
      auto it = fields.find(f.name);
      auto h = handlers.find(f.name);
      if (it != fields.end() && it->second == &f && h != handlers.end())
        h->second(f);
    }
  }

  void requireField(const std::map<std::string, const ast::Field *> &fields,
                    const std::string &name, const ast::Block &b,
                    const std::string &context) {
    if (!fields.count(name))
      error(b.headLoc.valid() ? b.headLoc : b.loc,
            context + " needs a '" + name + "' field");
  }

  void task(const ast::Block &b, TaskSpec &t);
  void taskParameter(const ast::Field &f, const TaskParameter &p, TaskSpec &t);
  void checkConstruction(const TaskSpec &t, const ModelSpec &m);
  void symbolList(const ast::Value &v, const TaskParameter &p,
                  std::vector<std::string> &symbols);
  void model(const ast::Block &b, ModelSpec &m);
  // How each field of a model block sets `m` (checked as it is read).
  Handlers modelFieldHandlers(ModelSpec &m);
  void eval(const ast::Block &b, EvalSpec &e);

  const ast::File &file_;
  DiagnosticEngine &diags_;
  int errors_ = 0;
};

// --- the task block: its kind and fields come from the task's definition ---

void Analyzer::task(const ast::Block &b, TaskSpec &t) {
  std::vector<std::string> kindNames;
  for (const TaskDefinition *d : allTaskDefinitions())
    kindNames.push_back(d->name());
  const TaskDefinition *def = taskDefinitionByName(b.head);
  t.loc = b.headLoc.valid() ? b.headLoc : b.loc;
  if (b.head.empty()) {
    error(b.loc,
          "the task block needs a kind: task KIND { ... } with KIND one of " +
              joined(kindNames));
    return;
  }
  if (!def) {
    error(b.headLoc, "unknown task kind '" + clip(b.head) + "'; known kinds: " +
                         joined(kindNames) + suggestion(b.head, kindNames));
    return;
  }
  t.kind = def->kind();
  const std::string context = std::string("the ") + def->name() + " task";
  const std::vector<TaskParameter> params = def->parameters();
  std::vector<std::string> names;
  for (const TaskParameter &p : params)
    names.push_back(p.name);
  auto fields = fieldsOf(b, names, context);
  for (const TaskParameter &p : params)
    if (p.required)
      requireField(fields, p.name, b, context);
  for (const auto &[name, f] : fields)
    t.locs[name] = f->value.loc;

  Handlers handlers;
  for (const TaskParameter &p : params) {
    const TaskParameter *param = &p;
    handlers[p.name] = [this, param, &t](const ast::Field &f) {
      taskParameter(f, *param, t);
    };
  }
  inOrder(b, fields, handlers);
  def->completeDefaults(t);
}

// One field of the task block, by the type and range its definition gives.
void Analyzer::taskParameter(const ast::Field &f, const TaskParameter &p,
                             TaskSpec &t) {
  // Values above the range with a reason get the reason (up to the largest
  // max_length for integers); others the plain range.
  auto aboveMaximum = [&](const std::string &max) {
    error(f.value.loc,
          "'" + f.name + "' must be at most " + max + ", got " +
              shownNumber(f.value.text) +
              (p.whyAtMost ? ": " + p.whyAtMost(f.value.text) : std::string()));
  };
  switch (p.type) {
  case TaskParameter::Type::Integer: {
    const auto v =
        integer(f, p.min, p.whyAtMost ? kMaxTaskLength : p.max, f.name);
    if (v && *v > p.max)
      aboveMaximum(std::to_string(p.max));
    else if (v)
      t.*p.integer = *v;
    break;
  }
  case TaskParameter::Type::Number: {
    const auto v = number(f, p.above, HUGE_VAL);
    std::ostringstream max;
    max << p.atMost;
    if (v && *v > p.atMost)
      aboveMaximum(max.str());
    else if (v)
      t.*p.number = *v;
    break;
  }
  case TaskParameter::Type::SymbolList:
    symbolList(f.value, p, t.*p.symbols);
    break;
  case TaskParameter::Type::Choice:
    if (const auto v = choice(f, p.choices))
      t.*p.text = *v;
    break;
  }
}

// The values of `construction` for a (task, architecture) with several
// constructions (compiler/constructions: each one's variant()), as the task's
// definition lists them.
void Analyzer::checkConstruction(const TaskSpec &t, const ModelSpec &m) {
  const std::vector<std::string> names =
      taskDefinition(t.kind).constructionVariants(m.arch);
  const SourceLoc at = m.fieldLoc("construction");
  if (names.empty())
    error(at, std::string("'construction' has nothing to choose for this ") +
                  taskKindName(t.kind) + " " + architectureName(m.arch) +
                  " model (there is one construction); remove the field");
  else if (std::find(names.begin(), names.end(), m.construction) == names.end())
    error(at, std::string("unknown construction '") + clip(m.construction) +
                  "' for this " + taskKindName(t.kind) + " " +
                  architectureName(m.arch) + " model; expected one of " +
                  joined(names) + suggestion(m.construction, names));
}

// A list of distinct symbols (index lookup's alphabet).
void Analyzer::symbolList(const ast::Value &v, const TaskParameter &p,
                          std::vector<std::string> &symbols) {
  const std::string name = p.name;
  const size_t count = v.items.size();
  if (v.kind != ast::Value::Kind::List) {
    error(v.loc, "'" + name + "' must be a list like [a, b, c], got " +
                     std::string(v.kindName()));
  } else if (static_cast<int64_t>(count) < p.min) {
    error(v.loc, "'" + name + "' needs at least " + std::to_string(p.min) +
                     " symbols, got " + std::to_string(count));
  } else if (static_cast<int64_t>(count) > p.max) {
    error(v.loc, "'" + name + "' may have at most " + std::to_string(p.max) +
                     " symbols, got " + std::to_string(count));
  } else {
    std::map<std::string, SourceLoc> seen;
    for (const ast::Value &s : v.items) {
      if (s.kind == ast::Value::Kind::Float) {
        error(s.loc, name + " symbols are names, integers or strings, got " +
                         std::string(s.kindName()));
        continue;
      }
      if (seen.count(s.text)) {
        error(s.loc, "duplicate " + name + " symbol '" + clip(s.text) + "'");
        note(seen[s.text], "first listed here");
        continue;
      }
      seen[s.text] = s.loc;
      symbols.push_back(s.text);
    }
  }
}

void Analyzer::model(const ast::Block &b, ModelSpec &m) {
  static const std::vector<std::string> archs = {"rnn", "transformer"};
  m.loc = b.headLoc.valid() ? b.headLoc : b.loc;
  if (b.head.empty()) {
    error(b.loc, "the model block needs an architecture: model ARCH { ... } "
                 "with ARCH one "
                 "of rnn, transformer");
    return;
  }
  if (b.head != "transformer" && b.head != "rnn") {
    error(b.headLoc, "unknown architecture '" + clip(b.head) +
                         "'; known: rnn, transformer" +
                         suggestion(b.head, archs));
    return;
  }
  m.arch = b.head == "rnn" ? Architecture::RNN : Architecture::Transformer;
  m.name = b.head;
  static const std::vector<std::string> transformerFields = {
      "code", "coherence", "layers", "margin",
      "name", "precision", "scale",  "seed"};
  static const std::vector<std::string> rnnFields = {"construction", "name",
                                                     "precision"};
  std::map<std::string, std::string> misplaced;
  if (m.arch == Architecture::RNN)
    for (const auto &f : transformerFields)
      if (std::find(rnnFields.begin(), rnnFields.end(), f) == rnnFields.end())
        misplaced[f] = "does not apply to an rnn model";
  if (m.arch == Architecture::Transformer)
    misplaced["construction"] = "does not apply to a transformer model; "
                                "'layers' selects its construction";
  const std::string context = std::string("a ") + b.head + " model";
  auto fields =
      fieldsOf(b, m.arch == Architecture::RNN ? rnnFields : transformerFields,
               context, misplaced);
  for (const auto &[name, f] : fields)
    m.locs[name] = f->value.loc;

  inOrder(b, fields, modelFieldHandlers(m));
}

Analyzer::Handlers Analyzer::modelFieldHandlers(ModelSpec &m) {
  Handlers h;
  h["name"] = [this, &m](const ast::Field &f) {
    const ast::Value &v = f.value;
    if (v.kind != ast::Value::Kind::String &&
        v.kind != ast::Value::Kind::Identifier)
      error(v.loc, "'name' must be a string or a name, got " +
                       std::string(v.kindName()));
    else if (v.text.empty() ||
             v.text.find_first_of("/\\ \t.") != std::string::npos)
      error(v.loc, "model name '" + clip(v.text) +
                       "' must be non-empty, without spaces, dots or slashes "
                       "(it names files)");
    else
      m.name = v.text;
  };
  h["construction"] = [this, &m](const ast::Field &f) {
    // Checked against the task's constructions once the task is known.
    if (f.value.kind != ast::Value::Kind::Identifier)
      error(f.value.loc, "'construction' must be a name like hewitt, got " +
                             std::string(f.value.kindName()));
    else
      m.construction = f.value.text;
  };
  h["layers"] = [this, &m](const ast::Field &f) {
    if (auto v = integer(f, 1, 64))
      m.layers = static_cast<int>(*v);
  };
  h["code"] = [this, &m](const ast::Field &f) {
    std::vector<std::string> names;
    for (CodeFamily c : allCodeFamilies())
      names.push_back(codeFamilyName(c));
    if (auto v = choice(f, names))
      m.code = *codeFamilyByName(*v);
  };
  h["seed"] = [this, &m](const ast::Field &f) {
    if (auto v = unsignedInteger(f))
      m.seed = *v;
  };
  h["coherence"] = [this, &m](const ast::Field &f) {
    if (auto v = number(f, 0, 1))
      m.coherence = *v;
  };
  h["margin"] = [this, &m](const ast::Field &f) {
    // The leakage the margin allows is (1 - margin) / 2: below about 1e-16 it
    // rounds to 1/2 in double precision, and no softmax scale achieves it.
    if (auto v = number(f, 0, 1); v && *v < kMinReadoutMargin)
      error(f.value.loc, "'margin' must be at least 1e-12 (the leakage it "
                         "allows, (1 - margin) / 2, must stay below 1/2 in "
                         "double precision), got " +
                             shownNumber(f.value.text));
    else if (v)
      m.margin = *v;
  };
  h["scale"] = [this, &m](const ast::Field &f) {
    // Above 10^6 the softmax is a hard max to float precision anyway, and
    // the queries (scale x code entries) would leave the range of f16 and,
    // towards 10^38, of f32: refused here, at the field, not in the builder.
    if (auto v = number(f, 0, kMaxSoftmaxScale))
      m.scale = *v;
  };
  h["precision"] = [this, &m](const ast::Field &f) {
    if (auto v = choice(f, {"f32", "f64", "f16", "bf16"}))
      m.precision = *precisionByName(*v);
  };
  return h;
}

void Analyzer::eval(const ast::Block &b, EvalSpec &e) {
  e.loc = b.loc;
  if (!b.head.empty())
    error(b.headLoc, "the eval block takes no name: write eval { ... }");
  auto fields = fieldsOf(b, {"inputs", "samples", "seed"}, "the eval block");
  for (const auto &[name, f] : fields)
    e.locs[name] = f->value.loc;
  Handlers h;
  h["samples"] = [&](const ast::Field &f) {
    if (auto v = integer(f, 1, int64_t(1) << 40))
      e.samples = *v;
  };
  h["seed"] = [&](const ast::Field &f) {
    if (auto v = unsignedInteger(f))
      e.seed = *v;
  };
  h["inputs"] = [&](const ast::Field &f) {
    if (auto v = choice(f, {"adversarial", "mixed", "uniform"}))
      e.inputs = *v == "uniform"       ? InputDistribution::Uniform
                 : *v == "adversarial" ? InputDistribution::Adversarial
                                       : InputDistribution::Mixed;
  };
  inOrder(b, fields, h);
}

std::optional<Spec> Analyzer::run() {
  Spec spec;
  spec.file = file_.path;
  const ast::Block *taskBlock = nullptr, *evalBlock = nullptr;
  std::map<std::string, SourceLoc> modelNames;
  static const std::vector<std::string> blockKinds = {"eval", "model", "task"};
  for (const ast::Block &b : file_.blocks) {
    if (b.kind == "task") {
      if (taskBlock) {
        error(b.loc, "a spec has exactly one task block; this is a second one");
        note(taskBlock->loc, "the first task block is here");
        continue;
      }
      taskBlock = &b;
      task(b, spec.task);
    } else if (b.kind == "model") {
      ModelSpec m;
      model(b, m);
      if (m.name.empty())
        continue;
      if (modelNames.count(m.name)) {
        error(m.locs.count("name") ? m.locs["name"] : m.loc,
              "duplicate model name '" + m.name +
                  "'; add name = \"...\" to one of them");
        note(modelNames[m.name],
             "the other model named '" + m.name + "' is here");
        continue;
      }
      modelNames[m.name] = m.loc;
      spec.models.push_back(std::move(m));
    } else if (b.kind == "eval") {
      if (evalBlock) {
        error(b.loc, "a spec has at most one eval block; this is a second one");
        note(evalBlock->loc, "the first eval block is here");
        continue;
      }
      evalBlock = &b;
      eval(b, spec.eval);
    } else {
      error(b.loc, "unknown block '" + clip(b.kind) +
                       "'; expected task, model or eval" +
                       suggestion(b.kind, blockKinds));
    }
  }
  if (taskBlock) {
    for (const ModelSpec &m : spec.models)
      if (!m.construction.empty())
        checkConstruction(spec.task, m);
    taskDefinition(spec.task.kind)
        .checkSpec(spec.task, spec.models,
                   [this](const SourceLoc &loc, const std::string &msg) {
                     error(loc, msg);
                   });
  }
  const SourceLoc fileStart{file_.path, 1, 1};
  if (!taskBlock)
    error(fileStart, "the spec has no task block (task KIND { ... })");
  const bool anyModelBlock =
      std::any_of(file_.blocks.begin(), file_.blocks.end(),
                  [](const ast::Block &b) { return b.kind == "model"; });
  if (!anyModelBlock)
    error(fileStart,
          "the spec has no model block (model transformer { ... } or model rnn "
          "{ ... })");
  if (errors_ > 0)
    return std::nullopt;
  return spec;
}

} // namespace

std::optional<Spec> analyzeSpec(const ast::File &file,
                                DiagnosticEngine &diags) {
  return Analyzer(file, diags).run();
}

} // namespace handwire
