#include "sweep/SweepOutputs.h"

#include "support/Diagnostics.h"
#include "support/FileIO.h"

#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <spawn.h>
#include <sstream>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

namespace handwire {

namespace {
namespace fs = std::filesystem;

bool endsWith(const std::string &s, const std::string &suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// Writes `text` to `path`; `shown` is the path the user asked for.
void writeFile(const std::string &path, const std::string &text,
               const std::string &shown) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f << text;
  f.close();
  if (!f)
    throw UserError("cannot write '" + shown + "'");
}

// Runs rsvg-convert (librsvg2-bin) to render `svg` as `png`. `shownPng` is
// the path the user asked for (png is its staged path).
void convertToPng(const std::string &svg, const std::string &png,
                  const std::string &shownPng) {
  std::vector<std::string> args = {"rsvg-convert", "--background-color=white",
                                   "-o", png, svg};
  std::vector<char *> argv;
  for (auto &a : args)
    argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = 0;
  if (posix_spawnp(&pid, "rsvg-convert", nullptr, nullptr, argv.data(),
                   environ) != 0)
    throw UserError("--png needs rsvg-convert (Debian package librsvg2-bin), "
                    "which is not installed; nothing was written");
  int status = 0;
  waitpid(pid, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    throw UserError("rsvg-convert failed to write '" + shownPng + "'");
}

// One OutputSet per directory, so that files in several directories still
// land together.
class StagedFiles {
public:
  std::string stage(const std::string &path) {
    const std::string parent = fs::path(path).parent_path().string();
    const std::string dir = parent.empty() ? "." : parent;
    auto &set = sets_[dir];
    if (!set)
      set = std::make_unique<OutputSet>(dir);
    return set->add(fs::path(path).filename().string());
  }
  void commit() {
    for (auto &[dir, set] : sets_)
      set->commit();
  }

private:
  std::map<std::string, std::unique_ptr<OutputSet>> sets_;
};
} // namespace

std::string jsonText(const nlohmann::json &document) {
  return document.dump(2) + "\n";
}

void writeJsonFile(const std::string &path, const nlohmann::json &document) {
  StagedFiles files;
  writeFile(files.stage(path), jsonText(document), path);
  files.commit();
}

SweepOutputPaths sweepOutputPaths(const std::string &prefix,
                                  const std::string &csv,
                                  const std::string &svg,
                                  const std::string &png) {
  SweepOutputPaths out;
  out.csv = csv.empty() ? prefix + ".csv" : csv;
  const std::string stem = endsWith(out.csv, ".csv")
                               ? out.csv.substr(0, out.csv.size() - 4)
                               : out.csv;
  out.json = stem + ".json";
  out.timings = stem + ".timings.csv";
  out.svg = svg.empty() ? prefix + ".svg" : svg;
  out.png = png;
  return out;
}

void checkWritable(const std::vector<std::string> &paths) {
  for (const std::string &path : paths) {
    if (path.empty())
      continue;
    const auto parent = fs::path(path).parent_path();
    std::error_code ec;
    if (!parent.empty() && !fs::is_directory(parent, ec))
      throw UserError("cannot write '" + path + "': no directory '" +
                      parent.string() + "'");
    const std::string dir = parent.empty() ? "." : parent.string();
    if (fs::exists(path, ec) ? access(path.c_str(), W_OK) != 0
                             : access(dir.c_str(), W_OK) != 0)
      throw UserError("cannot write '" + path + "'");
  }
}

void checkSweepOutputs(const SweepOutputPaths &out) {
  checkWritable({out.csv, out.json, out.timings, out.svg, out.png});
}

void writeSweepOutputs(const SweepOutputPaths &out,
                       const std::vector<SweepRow> &rows,
                       const nlohmann::json &document,
                       const std::string &source) {
  StagedFiles files;
  if (!out.csv.empty()) {
    std::ostringstream csv;
    writeSweepCsv(csv, rows);
    writeFile(files.stage(out.csv), csv.str(), out.csv);
  }
  if (!out.json.empty())
    writeFile(files.stage(out.json), jsonText(document), out.json);
  if (!out.timings.empty()) {
    std::ostringstream timings;
    writeSweepTimingsCsv(timings, rows);
    writeFile(files.stage(out.timings), timings.str(), out.timings);
  }
  const std::string svgStaged = files.stage(out.svg);
  writeFile(svgStaged, renderSvg(sweepPlot(rows, source)), out.svg);
  if (!out.png.empty())
    convertToPng(svgStaged, files.stage(out.png), out.png);
  files.commit();
}

} // namespace handwire
