#include "storage/wal_checkpointer.h"

#include <pthread.h>
#include <sqlite3.h>

#include "core/logging.h"
#include "storage/sqlite_db.h"

namespace vigil::storage {

Result<std::unique_ptr<WalCheckpointer>> WalCheckpointer::Start(SqliteDb& writer,
                                                                std::unique_ptr<SqliteDb> checkpoint_db,
                                                                WalCheckpointerOptions options) {
  if (checkpoint_db == nullptr) return InvalidArgument("the checkpointer needs its own connection");
  if (options.tail_frames < 0 || options.tail_frames >= options.start_frames ||
      options.writer_limit_frames < options.start_frames) {
    return InvalidArgument(
        "WAL checkpoint thresholds must satisfy 0 <= tail_frames < start_frames <= writer_limit_frames");
  }
  std::unique_ptr<WalCheckpointer> c(new WalCheckpointer(writer, std::move(checkpoint_db), options));
  // Replaces SQLite's automatic checkpoint on the writer (the two share one
  // hook slot), so from here commits only append to the WAL.
  sqlite3_wal_hook(writer.raw(), &WalCheckpointer::OnCommit, c.get());
  c->thread_ = std::thread([p = c.get()] { p->Loop(); });
  return c;
}

WalCheckpointer::WalCheckpointer(SqliteDb& writer, std::unique_ptr<SqliteDb> checkpoint_db,
                                 WalCheckpointerOptions options)
    : writer_(writer), db_(std::move(checkpoint_db)), options_(options) {}

WalCheckpointer::~WalCheckpointer() {
  // The writer may outlive this object by a moment: give it back SQLite's own
  // automatic checkpoint rather than a hook into freed memory.
  sqlite3_wal_autocheckpoint(writer_.raw(), options_.writer_limit_frames);
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

WalCheckpointStats WalCheckpointer::Stats() const {
  WalCheckpointStats s;
  s.background_runs = background_runs_.load();
  s.background_frames = background_frames_.load();
  s.background_errors = background_errors_.load();
  s.background_db_syncs = background_db_syncs_.load();
  s.writer_runs = writer_runs_.load();
  s.writer_tail_runs = writer_tail_runs_.load();
  s.writer_max_us = writer_max_us_.load();
  s.wal_restarts = Generation(backfilled_.load());
  s.last_wal_frames = wal_frames_.load();
  return s;
}

void WalCheckpointer::RaiseBackfilled(uint32_t generation, int copied) {
  if (copied <= 0) return;
  uint64_t cur = backfilled_.load();
  while (Generation(cur) == generation && static_cast<uint32_t>(copied) > Frames(cur) &&
         !backfilled_.compare_exchange_weak(cur, Pack(generation, static_cast<uint32_t>(copied)))) {
  }
}

// Runs on the writer's thread right after each commit, outside the write lock.
int WalCheckpointer::OnCommit(void* self, sqlite3* db, const char* schema, int wal_frames) {
  auto* c = static_cast<WalCheckpointer*>(self);
  const int64_t before = c->wal_frames_.exchange(wal_frames);
  if (wal_frames < before) c->backfilled_.store(Pack(Generation(c->backfilled_.load()) + 1, 0));  // started over
  const bool at_limit = wal_frames >= c->options_.writer_limit_frames;
  const bool tail = wal_frames >= c->options_.start_frames &&
                    int64_t{wal_frames} - int64_t{Frames(c->backfilled_.load())} <= c->options_.tail_frames;
  if (at_limit || tail) {
    // At the limit the background checkpoints are not keeping up: do what
    // SQLite's automatic checkpoint does. For a tail, finish what the thread
    // nearly did. BUSY (the thread is mid-checkpoint) is fine; the next
    // commit tries again.
    ++(at_limit ? c->writer_runs_ : c->writer_tail_runs_);
    const auto t0 = std::chrono::steady_clock::now();
    int log_frames = 0, copied = 0;
    if (sqlite3_wal_checkpoint_v2(db, schema, SQLITE_CHECKPOINT_PASSIVE, &log_frames, &copied) == SQLITE_OK) {
      c->RaiseBackfilled(Generation(c->backfilled_.load()), copied);
    }
    const int64_t us =
        std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - t0).count();
    int64_t prev = c->writer_max_us_.load();
    while (us > prev && !c->writer_max_us_.compare_exchange_weak(prev, us)) {
    }
    return SQLITE_OK;
  }
  if (wal_frames >= c->options_.start_frames) {
    {
      std::lock_guard<std::mutex> lock(c->mu_);
      c->requested_ = true;
    }
    c->cv_.notify_one();
  }
  return SQLITE_OK;
}

// A PASSIVE checkpoint that leaves frames behind writes pages into the
// database file but does not sync it: SQLite syncs the database only when a
// checkpoint has copied the whole WAL with no commit arriving meanwhile, which
// under load only the writer's tail does.
// Left alone, that one fdatasync would flush every page copied since the WAL
// last started over (40-60 ms at 5,000 events/s, docs/performance-api.md).
// Syncing here, on this thread, leaves the tail only its own pages.
void WalCheckpointer::SyncDatabase(spdlog::logger& log) {
  sqlite3_file* file = nullptr;
  int rc = sqlite3_file_control(db_->raw(), "main", SQLITE_FCNTL_FILE_POINTER, &file);
  if (rc == SQLITE_OK && (file == nullptr || file->pMethods == nullptr)) rc = SQLITE_MISUSE;
  // This connection and its file are used by this thread only.
  if (rc == SQLITE_OK) rc = file->pMethods->xSync(file, SQLITE_SYNC_NORMAL);
  if (rc != SQLITE_OK) {
    ++background_errors_;
    log.warn("msg=\"database sync after a WAL checkpoint failed\" error={}",
             LogValue(SqliteStatus(rc, db_->raw(), "sync").ToString()));
    return;
  }
  ++background_db_syncs_;
}

void WalCheckpointer::Loop() {
  pthread_setname_np(pthread_self(), "vigil-ckpt");
  auto log = GetLogger("storage");
  int64_t backfilled_of_log = -1;  // the WAL size our last complete checkpoint saw
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait_for(lock, options_.interval, [this] { return stop_ || requested_; });
      if (stop_) return;
      requested_ = false;
    }
    const int64_t frames = wal_frames_.load();
    // Nothing new since a checkpoint that copied everything: the writer
    // resets the WAL at its next transaction, so there is nothing to do.
    if (frames == 0 || frames == backfilled_of_log) continue;
    // The writer copies a short tail itself after its next commit; running
    // now would only collide with that and with the WAL restart after it.
    if (frames >= options_.start_frames && frames - int64_t{Frames(backfilled_.load())} <= options_.tail_frames) {
      continue;
    }
    int log_frames = 0, copied = 0;
    const uint32_t generation = Generation(backfilled_.load());
    const auto t0 = std::chrono::steady_clock::now();
    const int rc = sqlite3_wal_checkpoint_v2(db_->raw(), nullptr, SQLITE_CHECKPOINT_PASSIVE, &log_frames, &copied);
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0);
    if (rc != SQLITE_OK && rc != SQLITE_BUSY) {
      ++background_errors_;
      log->warn("msg=\"WAL checkpoint failed\" error={}",
                LogValue(SqliteStatus(rc, db_->raw(), "checkpoint").ToString()));
      continue;
    }
    ++background_runs_;
    if (copied > 0) {
      // `copied` counts every frame of this WAL in the database so far.
      const uint64_t known = backfilled_.load();
      const int64_t before = Generation(known) == generation ? Frames(known) : 0;
      if (copied > before) background_frames_ += copied - before;
      RaiseBackfilled(generation, copied);
      // Even when `copied` equals `log_frames`, SQLite may not have synced the
      // database: it does only if no commit arrived while it copied (it checks
      // the live WAL size, not the one it started from), and under load one
      // always has. Skipping the sync there lost the whole gain (measured).
      if (options_.sync_database && copied > before) SyncDatabase(*log);
    }
    backfilled_of_log = (log_frames > 0 && copied == log_frames) ? log_frames : -1;
    log->debug("msg=\"WAL checkpoint\" wal_frames={} backfilled={} ms={}", log_frames, copied, ms.count());
    // Frames that arrived while this ran are copied on the next commit's
    // request, so a run usually starts right after a commit and the writer's
    // tail (see OnCommit) stays short.
  }
}

}  // namespace vigil::storage
