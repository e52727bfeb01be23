#include "support/FileIO.h"

#include "support/Diagnostics.h"

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <sys/stat.h>
#include <unistd.h>

namespace handwire {

namespace {
// A path in a message: a 100,000-character one is not echoed whole.
std::string q(const std::string &path) {
  return "'" + clipMiddle(path, 300) + "'";
}

// What a non-regular file is, for the message.
std::string fileKind(mode_t mode) {
  if (S_ISDIR(mode))
    return "a directory";
  if (S_ISFIFO(mode))
    return "a FIFO (named pipe)";
  if (S_ISCHR(mode))
    return "a character device";
  if (S_ISBLK(mode))
    return "a block device";
  if (S_ISSOCK(mode))
    return "a socket";
  return "not a regular file";
}

std::string notRegular(const std::string &path, mode_t mode,
                       const std::string &what) {
  return q(path) + " is " + fileKind(mode) + ", not " + what +
         " (only regular files are read)";
}

// Opens `path` for reading after checking it is a regular file of at most
// `maxBytes`; -1 with `error` set otherwise.
int openChecked(const std::string &path, int64_t maxBytes,
                const std::string &what, int64_t &size, std::string &error) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    error = "cannot open " + q(path) + ": " + std::strerror(errno);
    return -1;
  }
  if (!S_ISREG(st.st_mode)) {
    error = notRegular(path, st.st_mode, what);
    return -1;
  }
  // O_NONBLOCK: if a FIFO replaced the file since stat, open must not wait
  // for a writer; fstat below then refuses it.
  const int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) {
    error = "cannot open " + q(path) + ": " + std::strerror(errno);
    return -1;
  }
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    error = notRegular(path, st.st_mode, what);
    ::close(fd);
    return -1;
  }
  size = static_cast<int64_t>(st.st_size);
  if (size > maxBytes) {
    error = q(path) + " is " + std::to_string(size) + " bytes; " + what +
            " may be at most " + humanBytes(static_cast<double>(maxBytes));
    ::close(fd);
    return -1;
  }
  return fd;
}
} // namespace

std::string checkRegularFile(const std::string &path, int64_t maxBytes,
                             const std::string &what, int64_t &size) {
  std::string error;
  const int fd = openChecked(path, maxBytes, what, size, error);
  if (fd >= 0)
    ::close(fd);
  return error;
}

bool readRegularFile(const std::string &path, int64_t maxBytes,
                     const std::string &what, std::string &text,
                     std::string &error) {
  int64_t size = 0;
  const int fd = openChecked(path, maxBytes, what, size, error);
  if (fd < 0)
    return false;
  // Read at most maxBytes + 1: a file that grows while we read is still
  // capped, and noticed.
  text.assign(static_cast<size_t>(size), '\0');
  size_t got = 0;
  for (;;) {
    if (got == text.size()) {
      if (static_cast<int64_t>(got) > maxBytes)
        break;
      text.resize(got + std::min<size_t>(
                            65536, static_cast<size_t>(maxBytes + 1 - got)));
    }
    const ssize_t n = ::read(fd, text.data() + got, text.size() - got);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0) {
      error = "cannot read " + q(path) + ": " + std::strerror(errno);
      ::close(fd);
      return false;
    }
    if (n == 0)
      break;
    got += static_cast<size_t>(n);
  }
  ::close(fd);
  text.resize(got);
  if (static_cast<int64_t>(got) > maxBytes) {
    error = q(path) + " grew past " +
            humanBytes(static_cast<double>(maxBytes)) + " while being read; " +
            what + " may be at most that";
    return false;
  }
  return true;
}

std::string readRegularFile(const std::string &path, int64_t maxBytes,
                            const std::string &what) {
  std::string text, error;
  if (!readRegularFile(path, maxBytes, what, text, error))
    throw UserError(error);
  return text;
}

std::ifstream openRegularFile(const std::string &path, const std::string &what,
                              int64_t &size) {
  std::string error;
  const int fd = openChecked(path, INT64_MAX, what, size, error);
  if (fd < 0)
    throw UserError(error);
  // The stream opens the very file we checked (the descriptor's inode, not
  // the path again), where /proc is mounted.
  const std::string self = "/proc/self/fd/" + std::to_string(fd);
  std::ifstream in(::access(self.c_str(), R_OK) == 0 ? self : path,
                   std::ios::binary);
  ::close(fd);
  if (!in)
    throw UserError("cannot open " + q(path) + ": " + std::strerror(errno));
  return in;
}

// ---------------------------------------------------------------------------
// OutputSet and its signal-time registry.

namespace {
// Per live OutputSet: its staging files, then the staging directory, then
// (if it was created for the set) the target directory, as NUL-terminated
// paths one after another, ended by an empty one. Written only while the
// slot is inactive, so a signal handler sees either nothing or a whole list.
constexpr int kSlots = 8;
constexpr size_t kSlotBytes = 32768;
struct CleanupSlot {
  std::atomic<bool> used{false};   // owned by an OutputSet
  std::atomic<bool> active{false}; // paths[] complete
  char paths[kSlotBytes];
};
CleanupSlot gSlots[kSlots];

int claimSlot() {
  for (int i = 0; i < kSlots; ++i) {
    bool expected = false;
    if (gSlots[i].used.compare_exchange_strong(expected, true))
      return i;
  }
  return -1;
}

void publish(int slot, const std::vector<std::string> &paths) {
  if (slot < 0)
    return;
  CleanupSlot &s = gSlots[slot];
  s.active.store(false);
  size_t at = 0;
  for (const std::string &p : paths) {
    if (at + p.size() + 2 > kSlotBytes)
      break; // the directories come last: better lose files than overflow
    std::memcpy(s.paths + at, p.c_str(), p.size() + 1);
    at += p.size() + 1;
  }
  s.paths[at] = '\0';
  s.active.store(true);
}

void release(int slot) {
  if (slot < 0)
    return;
  gSlots[slot].active.store(false);
  gSlots[slot].used.store(false);
}
} // namespace

void removeStagedOutputsAtSignal() noexcept {
  for (CleanupSlot &s : gSlots) {
    if (!s.active.load())
      continue;
    // unlink and rmdir are async-signal-safe; a path that is a directory is
    // not unlinked, so try both.
    for (const char *p = s.paths; *p; p += std::strlen(p) + 1)
      if (::unlink(p) != 0)
        ::rmdir(p);
  }
}

OutputSet::OutputSet(const std::string &dir) : dir_(dir.empty() ? "." : dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::exists(dir_, ec)) {
    // Remember every level created, to remove them all again.
    for (fs::path p = fs::absolute(dir_, ec); !p.empty() && !fs::exists(p, ec);
         p = p.parent_path()) {
      created_.push_back(p.string());
      if (p == p.parent_path())
        break;
    }
    fs::create_directories(dir_, ec);
    if (ec) {
      removeCreated();
      throw UserError("cannot create output directory '" + dir_ +
                      "': " + ec.message());
    }
  } else if (!fs::is_directory(dir_, ec)) {
    throw UserError("cannot write to '" + dir_ + "': it is not a directory");
  }
  std::string tmpl = (fs::path(dir_) / ".handwire-staging-XXXXXX").string();
  if (!::mkdtemp(tmpl.data())) {
    const std::string why = std::strerror(errno);
    removeCreated();
    throw UserError("cannot write to '" + dir_ + "': " + why);
  }
  staging_ = tmpl;
  slot_ = claimSlot();
  republish();
}

// The signal-time cleanup list: the declared files, then the directories.
void OutputSet::republish() {
  std::vector<std::string> cleanup;
  for (const std::string &n : names_)
    cleanup.push_back(staging_ + "/" + n);
  cleanup.push_back(staging_);
  for (const std::string &d : created_)
    cleanup.push_back(d);
  publish(slot_, cleanup);
}

std::vector<std::string> OutputSet::finalPaths() const {
  std::vector<std::string> out;
  for (const std::string &n : names_)
    out.push_back((std::filesystem::path(dir_) / n).string());
  return out;
}

std::string OutputSet::add(const std::string &name) {
  names_.push_back(name);
  republish();
  return staging_ + "/" + name;
}

void OutputSet::commit() {
  namespace fs = std::filesystem;
  // Nothing may stand in the way that a rename cannot replace: check first,
  // so that the renames below do not fail half-way for a reason we can see.
  for (const std::string &target : finalPaths()) {
    struct stat st {};
    if (::lstat(target.c_str(), &st) == 0 && !S_ISREG(st.st_mode))
      throw UserError("cannot write '" + target + "': it exists and is " +
                      fileKind(st.st_mode));
  }
  // Keep the files being replaced (hard links in the staging directory), so
  // that a failed rename can put them back.
  std::vector<bool> hadOld(names_.size(), false);
  for (size_t i = 0; i < names_.size(); ++i) {
    const std::string target = (fs::path(dir_) / names_[i]).string();
    const std::string old = staging_ + "/.old." + std::to_string(i);
    hadOld[i] = ::link(target.c_str(), old.c_str()) == 0;
  }
  for (size_t i = 0; i < names_.size(); ++i) {
    const std::string from = staging_ + "/" + names_[i];
    const std::string target = (fs::path(dir_) / names_[i]).string();
    if (::rename(from.c_str(), target.c_str()) == 0)
      continue;
    const std::string why = std::strerror(errno);
    for (size_t k = 0; k < i; ++k) {
      const std::string done = (fs::path(dir_) / names_[k]).string();
      const std::string old = staging_ + "/.old." + std::to_string(k);
      if (hadOld[k])
        ::rename(old.c_str(), done.c_str());
      else
        ::unlink(done.c_str());
    }
    throw UserError("cannot write '" + target + "': " + why);
  }
  committed_ = true;
  created_.clear(); // they hold the files now
  discard();
}

void OutputSet::discard() noexcept {
  release(slot_);
  slot_ = -1;
  std::error_code ec;
  if (!staging_.empty())
    std::filesystem::remove_all(staging_, ec);
  staging_.clear();
  removeCreated();
}

// rmdir only removes empty directories: never someone else's files.
void OutputSet::removeCreated() noexcept {
  for (const std::string &d : created_)
    ::rmdir(d.c_str());
  created_.clear();
}

OutputSet::~OutputSet() { discard(); }

} // namespace handwire
