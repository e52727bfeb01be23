// The handwire command line: one file per subcommand; main.cpp dispatches.
#pragma once

#include "Pipeline.h"
#include "export/ModelFile.h"

#include <CLI/CLI.hpp>

#include <atomic>
#include <string>
#include <vector>

namespace handwire::cli {

// Options every subcommand shares.
struct CommonOptions {
  std::string input; // a .task spec or a compiled model's .json
  std::vector<std::string> overrides; // -D block.field=value
  int64_t maxLength = 0;              // -N: shorthand for -D task.max_length=N
  std::vector<std::string> models;    // --model NAME (default: all)
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
  std::vector<StageTiming> timings; // stages 1-4 (none for a model file)
};

// Loads the input (spec: parse, sema, construct, verify, certify; model file:
// read and verify). Prints diagnostics and returns false on error.
// `observer` sees every stage's result (compile --emit).
bool loadModels(const CommonOptions &o, LoadedModels &out,
                const StageObserver &observer = {});

// Every name in `wanted` names a model of the spec; otherwise prints an error
// listing the models and returns false.
bool checkModelNames(const Spec &spec, const std::vector<std::string> &wanted,
                     const std::string &input);

int64_t parseByteSize(const std::string &text); // "8G", "512M", "1000000"
bool stderrIsTerminal();
std::string humanCount(double x);     // 1234567 -> "1.23M"
extern std::atomic<bool> interrupted; // set by SIGINT

void setupCompile(CLI::App &app);
void setupEval(CLI::App &app);
void setupInspect(CLI::App &app);
void setupSweep(CLI::App &app);

} // namespace handwire::cli
