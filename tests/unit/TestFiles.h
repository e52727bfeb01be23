// Scratch files for tests: a fresh directory per name, removed when the test
// binary exits, and whole-file reads.
#pragma once

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <sys/wait.h>
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

// Runs a shell command; returns its exit status (-1 if it did not run) and
// its stdout and stderr in `output`.
inline int runCommand(const std::string &cmd, std::string &output) {
  output.clear();
  FILE *p = ::popen((cmd + " 2>&1").c_str(), "r");
  if (!p)
    return -1;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0)
    output.append(buf, n);
  const int status = ::pclose(p);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

#ifdef HANDWIRE_SOURCE_DIR // defined for the test binaries
                           // (tests/CMakeLists.txt)
// Whether node and onnxruntime-node (tests/onnx/node_modules) can replay
// exported models with tests/onnx/replay.js.
inline bool haveOnnxRuntime() {
  std::string out;
  return runCommand("command -v node", out) == 0 &&
         runCommand("cd '" HANDWIRE_SOURCE_DIR "/tests/onnx' && node -e "
                    "\"require('onnxruntime-node')\"",
                    out) == 0;
}
#endif

} // namespace handwire::testing
