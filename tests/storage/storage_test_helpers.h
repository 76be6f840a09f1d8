// Shared fixture pieces for the storage tests: a temporary directory per test
// and a repository opened on a file inside it.
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>

#include "core/clock.h"
#include "storage/repository.h"
#include "storage/sqlite_db.h"

namespace vigil::storage::testing {

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "vigil-storage-XXXXXX").string();
    char* p = ::mkdtemp(tmpl.data());
    if (p != nullptr) path_ = p;
  }
  ~TempDir() {
    std::error_code ec;
    if (!path_.empty()) std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// A raw SQLite connection with Vigil's settings (WAL, 5 s busy timeout,
// synchronous=NORMAL); null, with a test failure, when it cannot be opened.
inline std::unique_ptr<SqliteDb> OpenDb(const std::string& path) {
  auto db = SqliteDb::Open(path, 5000, false);
  EXPECT_TRUE(db.ok()) << db.status().ToString();
  return db.ok() ? std::move(*db) : nullptr;
}

class RepoTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(dir_.path().empty());
    url_ = "sqlite://" + dir_.path() + "/vigil.db";
    RepositoryOptions opts;
    opts.clock = &clock_;
    auto r = OpenRepository(url_, opts);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    repo_ = std::move(r).value();
  }

  TempDir dir_;
  std::string url_;
  FakeClock clock_{1'790'000'000'000};  // 2026-09-21T...
  RepositoryPtr repo_;
};

}  // namespace vigil::storage::testing
