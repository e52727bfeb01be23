// Golden tests for error messages: each tests/golden/errors/NAME.task runs
// through the whole front of the pipeline (parse, sema, construction
// selection, build and certification) and its rendered diagnostics must equal
// NAME.expected byte for byte. HANDWIRE_BLESS=1 rewrites the .expected files;
// review the diff before committing.
#include "Pipeline.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <unistd.h>

namespace handwire {
namespace {

namespace fs = std::filesystem;

std::vector<std::string> goldenCases() {
  std::vector<std::string> names;
  for (const auto &e : fs::directory_iterator(fs::path(HANDWIRE_SOURCE_DIR) /
                                              "tests/golden/errors"))
    if (e.path().extension() == ".task")
      names.push_back(e.path().stem().string());
  std::sort(names.begin(), names.end());
  return names;
}

std::string diagnose(const std::string &relPath) {
  DiagnosticEngine diags;
  std::optional<Spec> spec = loadSpec(relPath, {}, diags);
  if (spec)
    for (const ModelSpec &m : spec->models)
      buildNetwork(*spec, m, {}, diags);
  std::ostringstream os;
  diags.flush(os);
  return os.str();
}

class GoldenErrors : public ::testing::TestWithParam<std::string> {};

TEST_P(GoldenErrors, MatchesExpected) {
  // Relative paths keep the expected files free of machine-specific prefixes.
  ASSERT_EQ(::chdir(HANDWIRE_SOURCE_DIR), 0);
  const std::string base = "tests/golden/errors/" + GetParam();
  const std::string got = diagnose(base + ".task");
  EXPECT_NE(got.find("error:"), std::string::npos) << "no error reported:\n"
                                                   << got;
  if (std::getenv("HANDWIRE_BLESS")) {
    std::ofstream(base + ".expected", std::ios::binary) << got;
    return;
  }
  std::ifstream in(base + ".expected", std::ios::binary);
  ASSERT_TRUE(in) << base << ".expected is missing; run with HANDWIRE_BLESS=1";
  std::stringstream want;
  want << in.rdbuf();
  EXPECT_EQ(got, want.str());
}

INSTANTIATE_TEST_SUITE_P(Errors, GoldenErrors,
                         ::testing::ValuesIn(goldenCases()),
                         [](const auto &info) { return info.param; });

} // namespace
} // namespace handwire
