// Reading and writing the files people hand us, defensively.
//
// Reading: every file handwire reads (specs, model configs, weights, sweep
// CSVs, ONNX files) goes through readRegularFile / openRegularFile. They
// refuse anything that is not a regular file before reading it (a FIFO would
// block forever, a directory has no size, /dev/zero never ends), open with
// O_NONBLOCK so that a FIFO swapped in after the check cannot block either,
// check the opened file again with fstat, and cap what is read.
//
// Writing: OutputSet writes a command's output files all-or-nothing. The
// files go to a staging directory inside the target directory; commit()
// renames them into place together. Anything that stops the command before
// (an error, an exception, Ctrl-C) removes the staging directory, so a failed
// command leaves the target directory as it found it.
#pragma once

#include <cstdint>
#include <fstream>
#include <string>
#include <vector>

namespace handwire {

// Why `path` cannot be read as a regular file of at most `maxBytes`, or ""
// if it can. `what` names the file in messages ("a spec", "a model config").
// On success `size` is its size in bytes.
std::string checkRegularFile(const std::string &path, int64_t maxBytes,
                             const std::string &what, int64_t &size);

// The whole file; throws UserError (the reason above) if it is not a regular
// file of at most `maxBytes`.
std::string readRegularFile(const std::string &path, int64_t maxBytes,
                            const std::string &what);
// Like readRegularFile, but returns false and sets `error` instead of
// throwing (for the front end, which reports through its diagnostics).
bool readRegularFile(const std::string &path, int64_t maxBytes,
                     const std::string &what, std::string &text,
                     std::string &error);

// A stream on the regular file `path` (no size cap: the caller checks `size`
// against its own limit), for readers that seek instead of reading it whole.
// Throws UserError as readRegularFile does.
std::ifstream openRegularFile(const std::string &path, const std::string &what,
                              int64_t &size);

// A set of output files written together into one directory.
class OutputSet {
public:
  // Creates `dir` if needed (and removes it again if nothing is committed)
  // and a staging directory inside it. Throws UserError if it cannot.
  explicit OutputSet(const std::string &dir);
  OutputSet(const OutputSet &) = delete;
  OutputSet &operator=(const OutputSet &) = delete;
  // Removes the staging directory unless commit() succeeded.
  ~OutputSet();

  // The directory the writers write into (the staging directory).
  const std::string &stagingDir() const { return staging_; }
  // Declares a file the writers will create in the staging directory, by
  // name; it lands as dir/name on commit. Returns its staging path.
  std::string add(const std::string &name);
  // Renames every declared file into place. Existing files of the same names
  // are replaced; if any rename fails, the ones already done are undone (the
  // files they replaced are restored) and UserError is thrown.
  void commit();
  // The final paths (dir/name), in the order added.
  std::vector<std::string> finalPaths() const;

private:
  void discard() noexcept;
  void republish();
  void removeCreated() noexcept;
  std::string dir_, staging_;
  std::vector<std::string> created_; // directories made for us, leaf first
  bool committed_ = false;
  std::vector<std::string> names_;
  int slot_ = -1; // in the signal-time cleanup registry
};

// Removes every staging directory of a live OutputSet (and the files declared
// in it), with async-signal-safe calls only: for a SIGINT handler that exits
// at once.
void removeStagedOutputsAtSignal() noexcept;

} // namespace handwire
