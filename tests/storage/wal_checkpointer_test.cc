// WalCheckpointer on a real database file: commits no longer checkpoint, the
// thread copies the WAL into the database so the writer can start it over,
// the writer still checkpoints itself past the hard limit, and nothing is
// lost on the way.
#include "storage/wal_checkpointer.h"

#include <gtest/gtest.h>

#include <thread>

#include "storage/sqlite_db.h"
#include "storage/storage_test_helpers.h"

namespace vigil::storage {
namespace {

using namespace std::chrono_literals;
using testing::OpenDb;
using testing::TempDir;

// One transaction of `rows` rows of 4 KiB: at least `rows` WAL frames. With
// `hold`, the transaction stays open that long before its commit, like the
// ingest thread's batches.
void WriteRows(SqliteDb& db, int rows, std::chrono::milliseconds hold = {}) {
  ASSERT_TRUE(db.Exec("BEGIN IMMEDIATE").ok());
  for (int i = 0; i < rows; ++i) {
    auto q = db.Prepare("INSERT INTO blobs (data) VALUES (zeroblob(4000))");
    ASSERT_TRUE(q.ok());
    ASSERT_TRUE((*q)->Run().ok());
  }
  if (hold.count() > 0) std::this_thread::sleep_for(hold);
  ASSERT_TRUE(db.Exec("COMMIT").ok());
}

// Thresholds small enough for a test to cross in a few transactions.
WalCheckpointerOptions Options(int start_frames, int tail_frames, int writer_limit_frames,
                               std::chrono::milliseconds interval) {
  WalCheckpointerOptions o;
  o.start_frames = start_frames;
  o.tail_frames = tail_frames;
  o.writer_limit_frames = writer_limit_frames;
  o.interval = interval;
  return o;
}

bool WaitFor(const std::function<bool()>& pred, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(5ms);
  }
  return true;
}

int64_t RowCount(SqliteDb& db) {
  auto q = db.Prepare("SELECT COUNT(*) FROM blobs");
  EXPECT_TRUE(q.ok());
  auto row = (*q)->Step();
  EXPECT_TRUE(row.ok() && *row);
  return (*q)->Int(0);
}

class WalCheckpointerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(dir_.path().empty());
    path_ = dir_.path() + "/ckpt.db";
    writer_ = OpenDb(path_);
    ASSERT_NE(writer_, nullptr);
    ASSERT_TRUE(writer_->Exec("CREATE TABLE blobs (id INTEGER PRIMARY KEY, data BLOB)").ok());
  }

  TempDir dir_;
  std::string path_;
  std::unique_ptr<SqliteDb> writer_;
};

TEST_F(WalCheckpointerTest, TheThreadCheckpointsSoTheWriterStartsTheWalOver) {
  const WalCheckpointerOptions o = Options(64, 16, 1'000'000, 50ms);
  auto c = WalCheckpointer::Start(*writer_, OpenDb(path_), o);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  for (int i = 0; i < 20; ++i) WriteRows(*writer_, 100);
  ASSERT_TRUE(WaitFor([&] { return (*c)->Stats().background_frames >= 100; }, 10s));
  // Once a checkpoint has copied everything, the next commit starts the WAL
  // from its beginning: the WAL size it reports is that commit's frames only.
  int extra = 0;
  ASSERT_TRUE(WaitFor(
      [&] {
        WriteRows(*writer_, 1);
        ++extra;
        return (*c)->Stats().last_wal_frames < 64;
      },
      10s))
      << "the WAL was never reset; last size " << (*c)->Stats().last_wal_frames << " frames";
  auto s = (*c)->Stats();
  EXPECT_EQ(s.writer_runs, 0) << "no commit should have checkpointed";
  EXPECT_EQ(s.background_errors, 0);
  EXPECT_GE(s.background_runs, 1);
  EXPECT_EQ(RowCount(*writer_), 20 * 100 + extra);
}

TEST_F(WalCheckpointerTest, TheThreadSyncsTheDatabaseWhenItLeavesFramesBehind) {
  // SQLite syncs the database file only when a checkpoint copies the whole
  // WAL and no commit arrived meanwhile. When the thread's checkpoint copies
  // part of it (here a reader pins
  // an older snapshot; under load, the writer keeps appending), the thread
  // syncs the database itself, so the writer's tail has only its own pages
  // to flush. Switched off, it does not.
  for (bool sync : {true, false}) {
    const std::string path = dir_.path() + (sync ? "/sync.db" : "/nosync.db");
    auto writer = OpenDb(path);
    ASSERT_NE(writer, nullptr);
    ASSERT_TRUE(writer->Exec("CREATE TABLE blobs (id INTEGER PRIMARY KEY, data BLOB)").ok());
    WalCheckpointerOptions o = Options(64, 16, 1'000'000, std::chrono::hours(1));
    o.sync_database = sync;
    auto c = WalCheckpointer::Start(*writer, OpenDb(path), o);
    ASSERT_TRUE(c.ok()) << c.status().ToString();
    WriteRows(*writer, 20);  // below start_frames: the thread sleeps
    auto reader = OpenDb(path);
    ASSERT_NE(reader, nullptr);
    ASSERT_TRUE(reader->Exec("BEGIN").ok());
    EXPECT_EQ(RowCount(*reader), 20);  // its snapshot ends after these 20 rows
    WriteRows(*writer, 100);           // past start_frames: the commit wakes the thread
    ASSERT_TRUE(WaitFor([&] { return (*c)->Stats().background_frames >= 20; }, 10s)) << "sync=" << sync;
    if (sync) {
      // The thread counts the frames first, then syncs.
      EXPECT_TRUE(WaitFor([&] { return (*c)->Stats().background_db_syncs >= 1; }, 10s));
    }
    const auto s = (*c)->Stats();
    EXPECT_EQ(s.background_errors, 0) << "sync=" << sync;
    EXPECT_LT(s.background_frames, 100) << "the reader's snapshot should stop the copy";
    if (!sync) {
      EXPECT_EQ(s.background_db_syncs, 0);
    }
    ASSERT_TRUE(reader->Exec("COMMIT").ok());
    EXPECT_EQ(RowCount(*writer), 120);
  }
}

TEST_F(WalCheckpointerTest, ABusyWriterStillGetsItsWalStartedOver) {
  // A writer that is inside a transaction nearly all the time leaves no gap
  // in which a checkpoint can have copied everything by the time the next
  // transaction begins; the writer copies the last few frames itself.
  const WalCheckpointerOptions o = Options(256, 128, 1'000'000, 10ms);
  auto c = WalCheckpointer::Start(*writer_, OpenDb(path_), o);
  ASSERT_TRUE(c.ok());
  auto deadline = std::chrono::steady_clock::now() + 20s;
  for (int i = 0; i < 2000 && (*c)->Stats().wal_restarts < 2 && std::chrono::steady_clock::now() < deadline; ++i) {
    WriteRows(*writer_, 20, 3ms);  // at most 2,000 x 20 x 4 KB = 160 MB of WAL if it never restarts
  }
  auto s = (*c)->Stats();
  EXPECT_GE(s.wal_restarts, 2) << "tail runs " << s.writer_tail_runs << ", thread runs " << s.background_runs
                               << ", WAL " << s.last_wal_frames << " frames";
  EXPECT_GE(s.writer_tail_runs, 1);
  EXPECT_EQ(s.writer_runs, 0);
  EXPECT_GE(s.background_runs, 1);
}

TEST_F(WalCheckpointerTest, WithoutItTheWalOnlyGrows) {
  // The control for the test above: automatic checkpoints off and no thread.
  ASSERT_TRUE(writer_->Exec("PRAGMA wal_autocheckpoint=0").ok());
  int last = 0;
  sqlite3_wal_hook(
      writer_->raw(),
      [](void* p, sqlite3*, const char*, int frames) {
        *static_cast<int*>(p) = frames;
        return SQLITE_OK;
      },
      &last);
  for (int i = 0; i < 10; ++i) WriteRows(*writer_, 100);
  WriteRows(*writer_, 1);
  EXPECT_GE(last, 1000);
}

TEST_F(WalCheckpointerTest, TheWriterCheckpointsItselfPastTheLimit) {
  // Start equals the limit: the writer's hook sees the limit before the
  // thread is ever woken.
  const WalCheckpointerOptions o = Options(200, 0, 200, std::chrono::hours(1));
  auto c = WalCheckpointer::Start(*writer_, OpenDb(path_), o);
  ASSERT_TRUE(c.ok());
  for (int i = 0; i < 10; ++i) WriteRows(*writer_, 100);
  auto s = (*c)->Stats();
  EXPECT_GE(s.writer_runs, 1);
  // Each writer checkpoint copies everything (no reader holds a snapshot),
  // so the WAL restarts and never passes the limit by more than one commit.
  EXPECT_LT(s.last_wal_frames, 200 + 110);
}

TEST_F(WalCheckpointerTest, NothingIsLostAcrossCheckpointsAndAReopen) {
  {
    const WalCheckpointerOptions o = Options(32, 8, 100'000, 10ms);
    auto c = WalCheckpointer::Start(*writer_, OpenDb(path_), o);
    ASSERT_TRUE(c.ok());
    for (int i = 0; i < 50; ++i) WriteRows(*writer_, 20);
    ASSERT_TRUE(WaitFor([&] { return (*c)->Stats().background_frames > 0; }, 10s));
  }
  writer_.reset();
  auto db = OpenDb(path_);
  ASSERT_NE(db, nullptr);
  EXPECT_EQ(RowCount(*db), 50 * 20);
  auto q = db->Prepare("PRAGMA integrity_check");
  ASSERT_TRUE(q.ok());
  ASSERT_TRUE(*(*q)->Step());
  EXPECT_EQ((*q)->Text(0), "ok");
}

TEST(WalCheckpointerOptionsTest, BadThresholdsAreRefused) {
  TempDir dir;
  auto writer = OpenDb(dir.path() + "/x.db");
  ASSERT_NE(writer, nullptr);
  auto c = WalCheckpointer::Start(*writer, OpenDb(dir.path() + "/x.db"), Options(100, 10, 10, 1s));
  EXPECT_EQ(c.status().code(), StatusCode::kInvalidArgument) << "the limit is below the start";
  auto tail = WalCheckpointer::Start(*writer, OpenDb(dir.path() + "/x.db"), Options(100, 100, 1000, 1s));
  EXPECT_EQ(tail.status().code(), StatusCode::kInvalidArgument) << "the tail is not below the start";
  auto none = WalCheckpointer::Start(*writer, nullptr);
  EXPECT_EQ(none.status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace vigil::storage
