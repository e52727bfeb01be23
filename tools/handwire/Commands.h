// The handwire command line: one file per subcommand; main.cpp dispatches.
#pragma once

#include "Pipeline.h"
#include "export/ModelFile.h"

#include <CLI/CLI.hpp>

#include <atomic>
#include <string>
#include <vector>

namespace handwire::cli {

// The exit codes of every subcommand (docs/reliability.md, handwire --help).
constexpr int kExitOk = 0;
constexpr int kExitError = 1;     // usage or input error
constexpr int kExitRefused = 2;   // a model cannot be certified / beats a bound
constexpr int kExitMismatch = 3;  // eval, sweep: a model got inputs wrong
constexpr int kExitInternal = 70; // a bug in handwire (EX_SOFTWARE)
constexpr int kExitInterrupted = 130;    // Ctrl-C (128 + SIGINT)
extern const char *const kExitCodeTable; // the table, for --help

// CLI11 validators that read the option's text strictly: an integer in
// [lo, hi] (no saturation: 2^64 is refused, not clamped), a finite number in
// [lo, hi] (nan and inf are refused).
CLI::Validator integerIn(int64_t lo, int64_t hi);
CLI::Validator numberIn(double lo, double hi);

// Options every subcommand shares.
struct CommonOptions {
  std::string input; // a .task spec or a compiled model's .json
  std::vector<std::string> overrides; // -D block.field=value
  std::string maxLength; // -N: shorthand for -D task.max_length=N (as text:
                         // sema checks it, with the spec's rules)
  std::vector<std::string> models; // --model NAME (default: all)
  bool allowUncertified = false;
  std::string memoryLimit = "8G";
  bool json = false;
  int threads = 0; // -j: worker threads for code measurement and eval (0: all)
};

void addCommonOptions(CLI::App &cmd, CommonOptions &o);

// A model ready to use: the task it solves and its verified network.
struct LoadedModels {
  Spec spec; // for a model file: its task, one model, default eval settings
  std::vector<LoadedModel> models;
  bool fromSpec = true;
  bool refused = false;             // every error was a refused certificate
  std::vector<StageTiming> timings; // stages 1-4 (none for a model file)
};

// Loads the input (spec: parse, sema, construct, verify, certify; model file:
// read and verify). Prints diagnostics and returns false on error.
// `observer` sees every stage's result (compile --emit).
bool loadModels(const CommonOptions &o, LoadedModels &out,
                const StageObserver &observer = {});
// The exit code after loadModels failed.
int loadFailureCode(const LoadedModels &loaded);

// Every name in `wanted` names a model of the spec; otherwise prints an error
// listing the models and returns false.
bool checkModelNames(const Spec &spec, const std::vector<std::string> &wanted,
                     const std::string &input);

int64_t parseByteSize(const std::string &text); // "8G", "512M", "1000000"
bool stderrIsTerminal();
extern std::atomic<bool> interrupted; // set by SIGINT

void setupCompile(CLI::App &app);
void setupEval(CLI::App &app);
void setupInspect(CLI::App &app);
void setupVerify(CLI::App &app);
void setupSweep(CLI::App &app);
void setupMerge(CLI::App &app);
void setupBound(CLI::App &app);

} // namespace handwire::cli
