// handwire: compile task specifications into hand-wired neural networks.
// This file only dispatches to the subcommands (one file each).
#include "Commands.h"

#include "support/Diagnostics.h"
#include "support/FileIO.h"

#include <csignal>
#include <cstdlib>
#include <iostream>
#include <unistd.h>

namespace {
const char *const kCommands[] = {"bound", "compile", "eval",  "inspect",
                                 "merge", "sweep",   "verify"};

// A command line whose first word is not a command: the message names it
// (CLI11 only says that a subcommand is required). Empty if it is fine.
std::string commandError(int argc, char **argv) {
  std::string list;
  for (const char *c : kCommands)
    list += std::string(list.empty() ? "" : ", ") + c;
  if (argc < 2)
    return "no command given; the commands are " + list + " (handwire --help)";
  const std::string first = argv[1];
  if (first.empty() || first[0] == '-')
    return ""; // --help, --version, or an option CLI11 will name
  for (const char *c : kCommands)
    if (first == c)
      return "";
  std::string shown = first.size() > 40 ? first.substr(0, 40) + "..." : first;
  for (char &c : shown)
    if (static_cast<unsigned char>(c) < 0x20)
      c = '?';
  std::string hint;
  for (const char *c : kCommands)
    if (std::string(c).rfind(first.substr(0, 2), 0) == 0 && first.size() >= 2)
      hint = "; did you mean '" + std::string(c) + "'?";
  return "unknown command '" + shown + "'" + hint + " (the commands are " +
         list + ")";
}
} // namespace

int main(int argc, char **argv) {
  using namespace handwire;
  using namespace handwire::cli;
  CLI::App app{
      "handwire: compiles .task specifications into hand-wired Transformers "
      "and RNNs (Bhattamishra et al., NeurIPS 2024), evaluates them, and "
      "reports their sizes against the lower bounds.",
      "handwire"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "handwire 0.1.0");
  app.footer(kExitCodeTable);
  cli::setupCompile(app);
  cli::setupEval(app);
  cli::setupInspect(app);
  cli::setupSweep(app);
  cli::setupMerge(app);
  cli::setupVerify(app);
  cli::setupBound(app);

  // The first Ctrl-C asks the running command to stop cleanly (it finishes
  // the inputs in flight, reports what ran, and removes output it had not
  // committed); a second one quits at once, removing staged output files
  // with async-signal-safe calls only.
  std::signal(SIGINT, [](int) {
    if (cli::interrupted.exchange(true)) {
      removeStagedOutputsAtSignal();
      static const char msg[] = "\nhandwire: interrupted\n";
      [[maybe_unused]] auto n = write(STDERR_FILENO, msg, sizeof msg - 1);
      std::_Exit(kExitInterrupted);
    }
  });
  if (const std::string err = commandError(argc, argv); !err.empty()) {
    std::cerr << "handwire: error: " << err << "\n";
    return kExitError;
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp &e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp &e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion &e) {
    return app.exit(e);
  } catch (const CLI::RuntimeError &e) {
    return e.get_exit_code(); // a command's own exit code
  } catch (const CLI::ParseError &e) {
    // CLI11's own codes (100+) would collide with nothing we document:
    // every usage error is exit 1.
    std::string where = "handwire";
    for (const CLI::App *sub : app.get_subcommands())
      where += " " + sub->get_name();
    std::cerr << where << ": error: " << clipMiddle(e.what(), 1000) << "\nRun '"
              << where << " --help' for the options.\n";
    return kExitError;
  } catch (const UserError &e) {
    std::cerr << "handwire: error: " << e.what() << "\n";
    return kExitError;
  } catch (const InternalError &e) {
    std::cerr << "handwire: " << e.what() << "\n";
    return kExitInternal;
  } catch (const std::bad_alloc &) {
    std::cerr << "handwire: error: out of memory\n";
    return kExitError;
  } catch (const std::exception &e) {
    std::cerr << "handwire: internal error (a bug in handwire): " << e.what()
              << "\n";
    return kExitInternal;
  }
  return kExitOk;
}
