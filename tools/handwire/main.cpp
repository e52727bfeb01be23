// handwire: compile task specifications into hand-wired neural networks.
// This file only dispatches to the subcommands (one file each).
#include "Commands.h"

#include "support/Diagnostics.h"

#include <csignal>
#include <cstdlib>
#include <iostream>
#include <unistd.h>

int main(int argc, char **argv) {
  using namespace handwire;
  CLI::App app{
      "handwire: compiles .task specifications into hand-wired Transformers "
      "and RNNs (Bhattamishra et al., NeurIPS 2024), evaluates them, and "
      "reports their sizes against the lower bounds.",
      "handwire"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "handwire 0.1.0");
  cli::setupCompile(app);
  cli::setupEval(app);
  cli::setupInspect(app);
  cli::setupSweep(app);

  // The first Ctrl-C asks the running command to stop cleanly (it finishes
  // the inputs in flight and reports what ran); a second one quits at once.
  std::signal(SIGINT, [](int) {
    if (cli::interrupted.exchange(true)) {
      static const char msg[] = "\nhandwire: interrupted\n";
      [[maybe_unused]] auto n = write(STDERR_FILENO, msg, sizeof msg - 1);
      std::_Exit(130);
    }
  });
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError &e) {
    return app.exit(e);
  } catch (const UserError &e) {
    std::cerr << "handwire: error: " << e.what() << "\n";
    return 1;
  } catch (const InternalError &e) {
    std::cerr << "handwire: " << e.what() << "\n";
    return 70;
  } catch (const std::bad_alloc &) {
    std::cerr << "handwire: error: out of memory\n";
    return 1;
  }
  return 0;
}
