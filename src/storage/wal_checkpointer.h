// WalCheckpointer: moves SQLite's WAL checkpoints off the writer.
//
// With SQLite's automatic checkpoint, the commit that crosses the WAL limit
// copies the whole WAL into the database file and fsyncs it before it
// returns; under ingest load that one commit (and every event waiting for its
// ack) stalls for hundreds of milliseconds. Here the writer's automatic
// checkpoint is off and a thread with its own connection runs PASSIVE
// checkpoints, which never block the writer or readers, whenever the WAL has
// grown by `start_frames` since it was last reset (and at least every
// `interval` while frames are waiting).
//
// SQLite starts the WAL over only when a write transaction begins while
// every frame is already in the database, which a busy writer (always in a
// transaction) almost never allows. So once the thread has copied all but
// `tail_frames`, the writer copies that small tail itself right after a
// commit, and its next transaction starts the WAL over. The tail's cost is
// mostly its two fdatasyncs (WAL, then database). SQLite syncs the database
// only when a checkpoint copies the whole WAL with no commit arriving
// meanwhile, so the thread syncs it itself after each of its checkpoints:
// otherwise the tail's sync flushed every page
// copied since the WAL last started over, and the writer stalled 40-60 ms
// per restart at 5,000 events/s instead of ~15 ms (docs/performance-api.md).
// If the WAL still reaches `writer_limit_frames` (a reader pinning an old
// snapshot, a slow disk), the writer checkpoints after its commit as SQLite
// would, so the WAL stays bounded.
//
// Thread-safety: the writer's connection must be used by one thread at a
// time (SqliteRepository's mutex); the checkpointer's own connection is used
// only by its thread. Stats() may be called from any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "core/status.h"

struct sqlite3;
namespace spdlog {
class logger;
}

namespace vigil::storage {

class SqliteDb;

struct WalCheckpointerOptions {
  // 128 MiB of WAL at 4 KiB pages. Every WAL restart stalls the writer for
  // the tail's syncs (40-60 ms before the thread synced the database, 11-27
  // ms since), so a longer cycle means fewer stalls: at 5,000 events/s,
  // 32,768 frames halved the restarts (18 vs 33 in 20 s).
  int start_frames = 32768;
  int tail_frames = 256;            // what the writer copies itself to reset the WAL
  int writer_limit_frames = 65536;  // 256 MiB: the writer checkpoints itself
  std::chrono::milliseconds interval{1000};
  // Sync the database file after each checkpoint that copied frames, so the
  // writer's tail sync has only the tail's pages left to flush.
  bool sync_database = true;
};

struct WalCheckpointStats {
  int64_t background_runs = 0;      // PASSIVE checkpoints by the thread
  int64_t background_frames = 0;    // frames those copied into the database
  int64_t background_errors = 0;    // failed checkpoints and database syncs
  int64_t background_db_syncs = 0;  // database syncs after the thread's checkpoints
  int64_t writer_tail_runs = 0;     // tails the writer copied so the WAL could start over
  int64_t writer_runs = 0;          // checkpoints the writer had to do itself at the limit
  int64_t writer_max_us = 0;        // the longest checkpoint done on the writer's thread
  int64_t last_wal_frames = 0;      // WAL size after the latest commit
  int64_t wal_restarts = 0;         // times a commit found the WAL started over
};

class WalCheckpointer {
 public:
  // `writer` is the connection that commits; `checkpoint_db` a second
  // connection to the same file, owned by the checkpointer.
  static Result<std::unique_ptr<WalCheckpointer>> Start(SqliteDb& writer, std::unique_ptr<SqliteDb> checkpoint_db,
                                                        WalCheckpointerOptions options = {});
  ~WalCheckpointer();  // stops the thread (a running checkpoint finishes first)
  WalCheckpointer(const WalCheckpointer&) = delete;
  WalCheckpointer& operator=(const WalCheckpointer&) = delete;

  WalCheckpointStats Stats() const;

 private:
  WalCheckpointer(SqliteDb& writer, std::unique_ptr<SqliteDb> checkpoint_db, WalCheckpointerOptions options);
  static int OnCommit(void* self, sqlite3* db, const char* schema, int wal_frames);
  void Loop();
  void SyncDatabase(spdlog::logger& log);
  static uint32_t Generation(uint64_t packed) { return static_cast<uint32_t>(packed >> 32); }
  static uint32_t Frames(uint64_t packed) { return static_cast<uint32_t>(packed); }
  static uint64_t Pack(uint32_t generation, uint32_t frames) { return (uint64_t{generation} << 32) | frames; }
  // Records that `copied` frames of WAL generation `generation` are in the
  // database, unless the WAL has started over since.
  void RaiseBackfilled(uint32_t generation, int copied);

  SqliteDb& writer_;
  std::unique_ptr<SqliteDb> db_;
  WalCheckpointerOptions options_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;       // guarded by mu_
  bool requested_ = false;  // guarded by mu_
  std::atomic<int64_t> background_runs_{0};
  std::atomic<int64_t> background_frames_{0};
  std::atomic<int64_t> background_errors_{0};
  std::atomic<int64_t> background_db_syncs_{0};
  std::atomic<int64_t> writer_runs_{0};
  std::atomic<int64_t> writer_tail_runs_{0};
  std::atomic<int64_t> writer_max_us_{0};
  // Frames of the current WAL known to be in the database (low 32 bits) and
  // the WAL's generation, raised by the hook whenever the WAL starts over
  // (high 32 bits), in one word so a late report about an older WAL is
  // discarded instead of counted.
  std::atomic<uint64_t> backfilled_{0};
  std::atomic<int64_t> wal_frames_{0};
  std::thread thread_;
};

}  // namespace vigil::storage
