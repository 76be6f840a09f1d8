// The file-system operations the worker's on-disk state needs (event spool,
// counters, worker id), behind one small interface so that tests can inject
// failures (a full disk, a failing fsync) without touching the real disk's
// behaviour. DefaultEnv() is the POSIX implementation.
//
// Thread-safety: DefaultEnv() is safe for concurrent use. A WritableFile is
// used by one thread at a time.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace vigil::worker {

class WritableFile {
 public:
  virtual ~WritableFile() = default;
  // Appends all of `data` or fails (a short write is an error; what part of
  // `data` reached the file is then unknown, as after a crash).
  virtual Status Append(std::string_view data) = 0;
  // Makes everything appended so far durable (fdatasync).
  virtual Status Sync() = 0;
  virtual Status Close() = 0;
};
using WritableFilePtr = std::unique_ptr<WritableFile>;

class Env {
 public:
  virtual ~Env() = default;
  // Opens `path` for appending, creating it when absent.
  virtual Result<WritableFilePtr> NewAppendableFile(const std::string& path) = 0;
  // The whole file; NotFound when absent.
  virtual Result<std::string> ReadFile(const std::string& path) = 0;
  // `n` bytes at `offset`; DataLoss when the file is shorter.
  virtual Result<std::string> ReadRange(const std::string& path, uint64_t offset, size_t n) = 0;
  // Names (not paths) of the entries of `dir`.
  virtual Result<std::vector<std::string>> ListDir(const std::string& dir) = 0;
  virtual Status RemoveFile(const std::string& path) = 0;
  // mkdir -p.
  virtual Status CreateDirs(const std::string& dir) = 0;
  // Writes `data` to a temporary file next to `path` and renames it over
  // `path`, so readers see the old or the new content, never a mix.
  virtual Status WriteFileAtomic(const std::string& path, std::string_view data, bool sync) = 0;
};

// The POSIX file system. The returned reference lives for the process.
Env& DefaultEnv();

}  // namespace vigil::worker
