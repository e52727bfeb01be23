// handwire bound: the largest N at which each spec's task is possible for a
// recurrent model of a given state size, by the task's RNN lower bound
// (analysis/StateBound.h), with the arithmetic shown.
#include "Commands.h"
#include "Report.h"

#include "analysis/StateBound.h"
#include "tasks/TaskDefinition.h"

#include <iostream>

namespace handwire::cli {

namespace {
struct BoundOptions {
  std::vector<std::string> specs;
  std::string state;
  std::vector<std::string> overrides;
  std::string maxLength;
  bool json = false;
};

nlohmann::json stateJson(const StateDescription &sd) {
  nlohmann::json params = nlohmann::json::object();
  for (const auto &[k, v] : sd.parameters)
    params[k] = v;
  return {{"description", sd.text()},
          {"family", sd.family},
          {"parameters", params},
          {"units", sd.units},
          {"units_formula", sd.unitsFormula},
          {"carries", sd.carries},
          {"bits_per_unit", sd.bits},
          {"state_bits", sd.stateBits()}};
}

nlohmann::json limitJson(const std::string &spec, const TaskSpec &task,
                         const LengthLimit &l) {
  nlohmann::json j = {{"spec", spec},
                      {"task", taskJson(task)},
                      {"bound", l.bound.formula},
                      {"bound_kind", boundKindName(l.bound.kind)},
                      {"bound_argument", l.bound.argument},
                      {"bound_precision", l.bound.precision},
                      {"any_length", l.anyLength},
                      {"arithmetic", l.arithmetic}};
  j["max_length"] =
      l.anyLength ? nlohmann::json(nullptr) : nlohmann::json(l.maxLength);
  return j;
}

void printState(const StateDescription &sd) {
  std::cout << "state   " << sd.text() << "\n"
            << "units   " << sd.unitsFormula << " = "
            << static_cast<int64_t>(sd.units) << " (" << sd.carries << ")\n"
            << "S       units x bits = " << static_cast<int64_t>(sd.units)
            << " x " << sd.bits << " = " << static_cast<int64_t>(sd.stateBits())
            << " state bits\n";
}

void printLimit(const std::string &spec, const TaskSpec &task,
                const LengthLimit &l) {
  std::cout << "\n";
  printTaskLine(std::cout, task);
  std::cout << "  (" << spec << ")\n";
  for (const std::string &line : l.arithmetic)
    std::cout << "  " << line << "\n";
  std::cout << "  kind    " << boundKindMeaning(l.bound.kind) << "\n"
            << "  from    " << l.bound.argument << "\n"
            << "  assumes " << l.bound.precision << "\n";
  if (l.anyLength)
    std::cout << "  => any N: the bound allows every length at this state\n";
  else if (l.maxLength == 0)
    std::cout << "  => no N: the bound rules out even N = 1\n";
  else
    std::cout << "  => largest N = " << l.maxLength
              << " (the spec's N = " << task.maxLength
              << (task.maxLength <= l.maxLength ? " is within it"
                                                : " is beyond it")
              << ")\n";
}

int runBound(const BoundOptions &o) {
  const StateDescription sd = parseStateDescription(o.state);
  std::vector<std::string> overrides = o.overrides;
  if (!o.maxLength.empty())
    overrides.push_back("task.max_length=" + o.maxLength);
  nlohmann::json out = {{"state", stateJson(sd)},
                        {"tasks", nlohmann::json::array()}};
  if (!o.json)
    printState(sd);
  for (const std::string &path : o.specs) {
    if (path.size() >= 5 && path.compare(path.size() - 5, 5, ".json") == 0) {
      std::cerr << "handwire bound: error: " << path
                << " is a model file; bound reads .task specs (the bound "
                   "depends on the task, not on a model)\n";
      return kExitError;
    }
    DiagnosticEngine diags;
    std::optional<Spec> spec = loadSpec(path, overrides, diags);
    diags.flush(std::cerr);
    if (!spec)
      return kExitError;
    const LengthLimit limit = largestLength(spec->task, sd.stateBits());
    if (o.json)
      out["tasks"].push_back(limitJson(path, spec->task, limit));
    else
      printLimit(path, spec->task, limit);
  }
  if (o.json)
    std::cout << out.dump(2) << "\n";
  return kExitOk;
}
} // namespace

void setupBound(CLI::App &app) {
  auto opts = std::make_shared<BoundOptions>();
  CLI::App *cmd = app.add_subcommand(
      "bound",
      "For a recurrent model of a given state size, the largest N at which "
      "each spec's task is possible by the task's RNN lower bound, with the "
      "arithmetic shown");
  cmd->add_option("specs", opts->specs,
                  "one or more .task specs (e.g. specs/*.task); each one's "
                  "task parameters but N are kept")
      ->required();
  cmd->add_option("--state", opts->state,
                  "the recurrent state: FAMILY KEY=VALUE ..., e.g. \"lstm "
                  "hidden=512 layers=2 bits=16\". Families and keys: " +
                      stateFamiliesHelp())
      ->required();
  cmd->add_option("-D,--set", opts->overrides,
                  "override a spec field: block.field=value, e.g. -D "
                  "task.alphabet=[a,b]");
  cmd->add_option("-N,--max-length", opts->maxLength,
                  "the spec's N to compare with (the bound itself is "
                  "inverted over N)");
  cmd->add_flag("--json", opts->json, "machine-readable output on stdout");
  cmd->callback([opts] {
    if (int rc = runBound(*opts))
      throw CLI::RuntimeError(rc);
  });
}

} // namespace handwire::cli
