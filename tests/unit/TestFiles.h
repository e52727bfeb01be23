// Scratch files for tests: a fresh directory per name, removed when the test
// binary exits, and whole-file reads.
#pragma once

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <system_error>
#include <unistd.h>
#include <vector>

namespace handwire::testing {

// A fresh directory handwire-<name>-<pid> under the system's temp directory.
inline std::string tempDir(const std::string &name) {
  namespace fs = std::filesystem;
  static struct Cleanup {
    std::vector<fs::path> dirs;
    ~Cleanup() {
      std::error_code ec;
      for (const auto &d : dirs)
        fs::remove_all(d, ec);
    }
  } cleanup;
  fs::path p = fs::temp_directory_path() /
               ("handwire-" + name + "-" + std::to_string(::getpid()));
  fs::remove_all(p);
  fs::create_directories(p);
  cleanup.dirs.push_back(p);
  return p.string();
}

inline std::string slurp(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

} // namespace handwire::testing
