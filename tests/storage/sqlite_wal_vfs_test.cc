// The WAL-buffering VFS (sqlite_wal_vfs.h) on real database files: it really
// collects the writer's frames, a second connection sees every commit the
// moment it returns, a transaction larger than the page cache (frames
// written before the commit and rewritten in place) stays correct, committed
// data survives the process dying without closing the database, and a write
// that fails at commit fails the transaction and leaves the database intact.
#include "storage/sqlite_wal_vfs.h"

#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <string>

#include "storage/sqlite_db.h"
#include "storage/storage_test_helpers.h"

namespace vigil::storage {
namespace {

using testing::OpenDb;
using testing::TempDir;

int64_t QueryInt(SqliteDb& db, const std::string& sql) {
  auto q = db.Prepare(sql);
  EXPECT_TRUE(q.ok()) << q.status().ToString();
  if (!q.ok()) return -1;
  auto row = (*q)->Step();
  EXPECT_TRUE(row.ok() && *row);
  return (row.ok() && *row) ? (*q)->Int(0) : -1;
}

std::string IntegrityCheck(SqliteDb& db) {
  auto q = db.Prepare("PRAGMA integrity_check");
  if (!q.ok()) return q.status().ToString();
  auto row = (*q)->Step();
  if (!row.ok() || !*row) return "no result";
  return (*q)->Text(0);
}

// `rows` rows of about 1 KiB each in one transaction, ids from `first`.
Status InsertRows(SqliteDb& db, int first, int rows) {
  VIGIL_RETURN_IF_ERROR(db.Exec("BEGIN IMMEDIATE"));
  for (int i = 0; i < rows; ++i) {
    auto q = db.Prepare("INSERT INTO items (id, payload) VALUES (?, zeroblob(1000))");
    if (!q.ok()) return q.status();
    Status st = (*q)->Bind(int64_t{first + i}).Run();
    if (!st.ok()) {
      (void)db.Exec("ROLLBACK");
      return st;
    }
  }
  return db.Exec("COMMIT");
}

class WalBufferVfsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(dir_.path().empty());
    ASSERT_NE(WalBufferVfsName(), nullptr) << "VIGIL_SQLITE_WAL_BUFFER=0 is set for this test run";
    path_ = dir_.path() + "/walbuf.db";
    writer_ = OpenDb(path_);
    ASSERT_NE(writer_, nullptr);
    ASSERT_TRUE(writer_->Exec("CREATE TABLE items (id INTEGER PRIMARY KEY, payload BLOB, n INTEGER DEFAULT 0)").ok());
    ASSERT_TRUE(writer_->Exec("CREATE INDEX items_n ON items(n, id)").ok());
  }

  TempDir dir_;
  std::string path_;
  std::unique_ptr<SqliteDb> writer_;
};

TEST_F(WalBufferVfsTest, CollectsFramesAndEveryCommitIsVisibleAtOnce) {
  auto reader = OpenDb(path_);
  ASSERT_NE(reader, nullptr);
  const WalBufferCounters before = GetWalBufferCounters();
  for (int t = 0; t < 20; ++t) {
    ASSERT_TRUE(InsertRows(*writer_, t * 50, 50).ok());
    // Another connection reads the WAL through its own file: the frames of
    // the commit that just returned must already be in the file.
    EXPECT_EQ(QueryInt(*reader, "SELECT COUNT(*) FROM items"), (t + 1) * 50) << "after commit " << t;
    EXPECT_EQ(QueryInt(*reader, "SELECT SUM(length(payload)) FROM items"), (t + 1) * 50 * 1000);
  }
  const WalBufferCounters after = GetWalBufferCounters();
  const uint64_t collected = after.buffered_writes - before.buffered_writes;
  const uint64_t flushes = after.flushes - before.flushes;
  // 20 commits of ~15 pages: ~600 header and page writes collected, written
  // out in a handful of calls per commit.
  EXPECT_GE(collected, 20u * 2 * 10);
  EXPECT_GE(flushes, 20u);
  EXPECT_LT(flushes * 5, collected);
  EXPECT_EQ(IntegrityCheck(*reader), "ok");
}

TEST_F(WalBufferVfsTest, ATransactionLargerThanThePageCacheStaysCorrect) {
  // A tiny cache makes SQLite spill dirty pages into the WAL before the
  // commit and later rewrite some of those frames in place.
  ASSERT_TRUE(writer_->Exec("PRAGMA cache_size=8").ok());
  ASSERT_TRUE(InsertRows(*writer_, 0, 600).ok());
  ASSERT_TRUE(writer_->Exec("BEGIN IMMEDIATE").ok());
  for (int round = 1; round <= 3; ++round) {
    ASSERT_TRUE(
        writer_->Exec("UPDATE items SET n = n + 1, payload = zeroblob(900 + " + std::to_string(round) + ")").ok());
  }
  ASSERT_TRUE(writer_->Exec("COMMIT").ok());
  auto reader = OpenDb(path_);
  ASSERT_NE(reader, nullptr);
  EXPECT_EQ(QueryInt(*reader, "SELECT COUNT(*) FROM items WHERE n = 3 AND length(payload) = 903"), 600);
  EXPECT_EQ(IntegrityCheck(*reader), "ok");
  writer_.reset();
  reader.reset();
  auto reopened = OpenDb(path_);
  ASSERT_NE(reopened, nullptr);
  EXPECT_EQ(QueryInt(*reopened, "SELECT COUNT(*) FROM items WHERE n = 3"), 600);
  EXPECT_EQ(IntegrityCheck(*reopened), "ok");
}

TEST_F(WalBufferVfsTest, CommittedDataSurvivesTheProcessDyingWithoutClosing) {
  writer_.reset();
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    auto db = SqliteDb::Open(path_, 5000, false);
    if (!db.ok()) _exit(2);
    for (int t = 0; t < 10; ++t) {
      if (!InsertRows(**db, t * 100, 100).ok()) _exit(3);
    }
    _exit(0);  // no close, no checkpoint: everything is still in the WAL
  }
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  ASSERT_EQ(WEXITSTATUS(status), 0);
  auto db = OpenDb(path_);
  ASSERT_NE(db, nullptr);
  EXPECT_EQ(QueryInt(*db, "SELECT COUNT(*) FROM items"), 1000);
  EXPECT_EQ(IntegrityCheck(*db), "ok");
}

TEST_F(WalBufferVfsTest, AWriteThatFailsAtCommitFailsTheTransactionAndKeepsTheData) {
  ASSERT_TRUE(InsertRows(*writer_, 0, 100).ok());
  writer_.reset();
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    // Files may not grow past 512 KiB in this process: the 2 MiB transaction
    // cannot reach the WAL, and the failure must come back from COMMIT.
    std::signal(SIGXFSZ, SIG_IGN);
    rlimit limit{512 * 1024, 512 * 1024};
    if (setrlimit(RLIMIT_FSIZE, &limit) != 0) _exit(10);
    auto db = SqliteDb::Open(path_, 5000, false);
    if (!db.ok()) _exit(2);
    if (InsertRows(**db, 1000, 2000).ok()) _exit(3);  // must fail
    // The connection stays usable and the earlier rows are all there.
    if (QueryInt(**db, "SELECT COUNT(*) FROM items") != 100) _exit(4);
    if (!InsertRows(**db, 5000, 5).ok()) _exit(5);
    _exit(0);
  }
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  ASSERT_EQ(WEXITSTATUS(status), 0) << "2 open, 3 oversized commit succeeded, 4 rows lost, 5 writer unusable";
  auto db = OpenDb(path_);
  ASSERT_NE(db, nullptr);
  EXPECT_EQ(QueryInt(*db, "SELECT COUNT(*) FROM items"), 105);
  EXPECT_EQ(QueryInt(*db, "SELECT COUNT(*) FROM items WHERE id >= 1000 AND id < 3000"), 0);
  EXPECT_EQ(IntegrityCheck(*db), "ok");
}

}  // namespace
}  // namespace vigil::storage
