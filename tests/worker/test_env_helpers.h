// Test helpers for the worker module: a temporary directory and an Env that
// fails on demand.
#pragma once

#include <atomic>
#include <string>

#include "worker/env.h"

namespace vigil::worker::testing {

// A fresh directory under $TMPDIR, removed (recursively) on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// Wraps DefaultEnv(); while fail_writes is set, every Append fails with
// ResourceExhausted ("disk full") after writing half of its data, as a full
// disk does.
class FaultInjectionEnv final : public Env {
 public:
  std::atomic<bool> fail_writes{false};
  std::atomic<int> failed_appends{0};

  Result<WritableFilePtr> NewAppendableFile(const std::string& path) override;
  Result<std::string> ReadFile(const std::string& path) override { return DefaultEnv().ReadFile(path); }
  Result<std::string> ReadRange(const std::string& path, uint64_t offset, size_t n) override {
    return DefaultEnv().ReadRange(path, offset, n);
  }
  Result<std::vector<std::string>> ListDir(const std::string& dir) override { return DefaultEnv().ListDir(dir); }
  Status RemoveFile(const std::string& path) override { return DefaultEnv().RemoveFile(path); }
  Status CreateDirs(const std::string& dir) override { return DefaultEnv().CreateDirs(dir); }
  Status WriteFileAtomic(const std::string& path, std::string_view data, bool sync) override;
};

}  // namespace vigil::worker::testing
