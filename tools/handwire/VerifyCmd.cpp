// handwire verify: re-checks compiled models' certificates from their files
// alone (verify/CertificateChecker.h), without the construction code.
#include "Commands.h"

#include "verify/CertificateChecker.h"

#include <nlohmann/json.hpp>

#include <iostream>

namespace handwire::cli {

namespace {
struct VerifyOptions {
  std::vector<std::string> files;
  std::string memoryLimit = "8G";
  bool json = false;
};

int runVerify(const VerifyOptions &o) {
  const int64_t limit = parseByteSize(o.memoryLimit);
  if (limit <= 0) {
    std::cerr << "handwire verify: error: --memory-limit '" << o.memoryLimit
              << "' is not a size (examples: 512M, 8G)\n";
    return kExitError;
  }
  nlohmann::json out = nlohmann::json::array();
  bool allOk = true;
  for (const std::string &file : o.files) {
    if (interrupted)
      return kExitInterrupted;
    // Bad files are input errors (exit 1), named by readModel.
    const LoadedModel m = readModel(file, limit);
    const CertificateReport report = checkCertificate(m.task, m.net);
    allOk &= report.ok();
    if (o.json) {
      nlohmann::json checks = nlohmann::json::array();
      for (const CertificateCheck &c : report.checks)
        checks.push_back({{"subject", c.subject},
                          {"ok", c.ok},
                          {"rederived", c.rederived},
                          {"detail", c.detail}});
      out.push_back({{"file", file},
                     {"model", m.net.name},
                     {"ok", report.ok()},
                     {"checks", checks}});
      continue;
    }
    std::cout << file << ": model '" << m.net.name << "' ("
              << m.net.provenance.construction << ", "
              << precisionName(m.net.precision) << "): "
              << (report.ok() ? "certificate verified" : "CERTIFICATE FAILS")
              << "\n";
    for (const CertificateCheck &c : report.checks)
      std::cout << "  " << (c.ok ? "ok  " : "FAIL") << "  " << c.subject
                << (c.rederived ? "" : " [declared]") << ": " << c.detail
                << "\n";
  }
  if (o.json)
    std::cout << out.dump(2) << "\n";
  return allOk ? kExitOk : kExitRefused;
}
} // namespace

void setupVerify(CLI::App &app) {
  auto opts = std::make_shared<VerifyOptions>();
  CLI::App *cmd = app.add_subcommand(
      "verify",
      "Re-check compiled models' certificates from their files alone: stored "
      "scales, measured logit gaps and the rounding chain, RNN grids (exit 0: "
      "verified, 2: a check fails, 1: a bad file)");
  cmd->add_option("models", opts->files, "compiled models' .json files")
      ->required();
  cmd->add_option("--memory-limit", opts->memoryLimit,
                  "refuse weights files larger than this (default 8G)");
  cmd->add_flag("--json", opts->json, "print the checks as JSON");
  cmd->callback([opts] {
    if (int rc = runVerify(*opts))
      throw CLI::RuntimeError(rc);
  });
}

} // namespace handwire::cli
