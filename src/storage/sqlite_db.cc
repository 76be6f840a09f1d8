#include "storage/sqlite_db.h"

#include <cstring>

#include "storage/sqlite_wal_vfs.h"

namespace vigil::storage {

Status SqliteStatus(int rc, sqlite3* db, const std::string& context) {
  if (rc == SQLITE_OK || rc == SQLITE_DONE || rc == SQLITE_ROW) return Status::Ok();
  std::string msg = context + ": ";
  msg += (db != nullptr) ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return Unavailable(msg + " (database is busy; retry later)");
    case SQLITE_CONSTRAINT:
      switch (rc) {
        case SQLITE_CONSTRAINT_PRIMARYKEY:
        case SQLITE_CONSTRAINT_UNIQUE:
          return AlreadyExists(msg);
        default:
          return InvalidArgument(msg);
      }
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return DataLoss(msg);
    case SQLITE_CANTOPEN:
    case SQLITE_IOERR:
    case SQLITE_FULL:
    case SQLITE_READONLY:
      return Unavailable(msg);
    case SQLITE_TOOBIG:
    case SQLITE_RANGE:
    case SQLITE_MISMATCH:
      return InvalidArgument(msg);
    default:
      return Internal(msg);
  }
}

SqliteQuery::~SqliteQuery() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
}

SqliteQuery& SqliteQuery::Bind(int64_t v) {
  int rc = sqlite3_bind_int64(stmt_, next_++, v);
  if (bind_rc_ == SQLITE_OK) bind_rc_ = rc;
  return *this;
}

SqliteQuery& SqliteQuery::Bind(double v) {
  int rc = sqlite3_bind_double(stmt_, next_++, v);
  if (bind_rc_ == SQLITE_OK) bind_rc_ = rc;
  return *this;
}

SqliteQuery& SqliteQuery::Bind(const std::string& v) {
  int rc = sqlite3_bind_text64(stmt_, next_++, v.data(), v.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
  if (bind_rc_ == SQLITE_OK) bind_rc_ = rc;
  return *this;
}

SqliteQuery& SqliteQuery::Bind(const std::optional<std::string>& v) { return v ? Bind(*v) : BindNull(); }
SqliteQuery& SqliteQuery::Bind(const std::optional<double>& v) { return v ? Bind(*v) : BindNull(); }
SqliteQuery& SqliteQuery::Bind(const std::optional<int64_t>& v) { return v ? Bind(*v) : BindNull(); }

SqliteQuery& SqliteQuery::BindFloats(const std::vector<float>& v) {
  static_assert(sizeof(float) == 4, "float32 expected");
  // x86-64 and aarch64 are little-endian, which is the stored byte order.
  int rc = sqlite3_bind_blob64(stmt_, next_++, v.data(), v.size() * sizeof(float), SQLITE_TRANSIENT);
  if (bind_rc_ == SQLITE_OK) bind_rc_ = rc;
  return *this;
}

SqliteQuery& SqliteQuery::BindNull() {
  int rc = sqlite3_bind_null(stmt_, next_++);
  if (bind_rc_ == SQLITE_OK) bind_rc_ = rc;
  return *this;
}

Status SqliteQuery::BindStatus() const {
  if (bind_rc_ == SQLITE_OK) return Status::Ok();
  return SqliteStatus(bind_rc_, db_->raw(), "bind");
}

Result<bool> SqliteQuery::Step() {
  VIGIL_RETURN_IF_ERROR(BindStatus());
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  // sqlite3_step returns the extended code with extended result codes on.
  return SqliteStatus(rc, db_->raw(), "sqlite");
}

Status SqliteQuery::Run() {
  for (;;) {
    VIGIL_ASSIGN_OR_RETURN(bool row, Step());
    if (!row) return Status::Ok();
  }
}

bool SqliteQuery::IsNull(int col) const { return sqlite3_column_type(stmt_, col) == SQLITE_NULL; }
int64_t SqliteQuery::Int(int col) const { return sqlite3_column_int64(stmt_, col); }
double SqliteQuery::Double(int col) const { return sqlite3_column_double(stmt_, col); }

std::string SqliteQuery::Text(int col) const {
  const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, col));
  if (p == nullptr) return {};
  return std::string(p, static_cast<size_t>(sqlite3_column_bytes(stmt_, col)));
}

std::optional<std::string> SqliteQuery::OptText(int col) const {
  if (IsNull(col)) return std::nullopt;
  return Text(col);
}

std::optional<double> SqliteQuery::OptDouble(int col) const {
  if (IsNull(col)) return std::nullopt;
  return Double(col);
}

std::vector<float> SqliteQuery::Floats(int col) const {
  const void* p = sqlite3_column_blob(stmt_, col);
  const int n = sqlite3_column_bytes(stmt_, col);
  std::vector<float> v(static_cast<size_t>(n) / sizeof(float));
  if (p != nullptr && !v.empty()) std::memcpy(v.data(), p, v.size() * sizeof(float));
  return v;
}

Result<std::unique_ptr<SqliteDb>> SqliteDb::Open(const std::string& path, int busy_timeout_ms, bool sync_full) {
  sqlite3* raw = nullptr;
  // FULLMUTEX is unnecessary: the repository serialises access itself. The
  // VFS collects each transaction's WAL frames into a few writes
  // (sqlite_wal_vfs.h).
  int rc = sqlite3_open_v2(path.c_str(), &raw, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                           WalBufferVfsName());
  if (rc != SQLITE_OK) {
    Status st = SqliteStatus(rc, raw, "cannot open database " + path);
    sqlite3_close_v2(raw);
    return st;
  }
  std::unique_ptr<SqliteDb> db(new SqliteDb(raw));
  sqlite3_extended_result_codes(raw, 1);
  sqlite3_busy_timeout(raw, busy_timeout_ms);
  // journal_mode needs a lock; under contention it may report busy, which is
  // returned as Unavailable like any other lock wait.
  VIGIL_RETURN_IF_ERROR(db->Exec("PRAGMA journal_mode=WAL"));
  VIGIL_RETURN_IF_ERROR(db->Exec("PRAGMA foreign_keys=ON"));
  VIGIL_RETURN_IF_ERROR(db->Exec(sync_full ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL"));
  // A 64 MiB page cache and memory-mapped reads: the default 2 MiB cache
  // turns every index probe of a large events table into a pread.
  VIGIL_RETURN_IF_ERROR(db->Exec("PRAGMA cache_size=-65536"));
  VIGIL_RETURN_IF_ERROR(db->Exec("PRAGMA mmap_size=268435456"));
  VIGIL_RETURN_IF_ERROR(db->Exec("PRAGMA temp_store=MEMORY"));
  // Checkpoint every ~64 MiB of WAL instead of 4 MiB: index pages dirtied by
  // many ingest transactions are copied into the database once per
  // checkpoint, which halves the write volume under load. A file database's
  // writer hands this job to a WalCheckpointer thread (wal_checkpointer.h);
  // the setting stays for connections without one.
  VIGIL_RETURN_IF_ERROR(db->Exec("PRAGMA wal_autocheckpoint=16384"));
  // When the WAL starts over, SQLite truncates a file larger than this. At
  // 64 MiB the steady ingest cycle (the WAL peaks near 90 MiB) truncated
  // ~30 MiB and re-grew it every few cycles, and the truncation stalled the
  // writer ~100 ms (traced; it frees blocks, and discard-mounted disks
  // discard them synchronously). 256 MiB is WalCheckpointer's writer limit,
  // so only an abnormal WAL — a reader pinning an old snapshot — is cut back.
  VIGIL_RETURN_IF_ERROR(db->Exec("PRAGMA journal_size_limit=268435456"));
  return db;
}

SqliteDb::~SqliteDb() {
  for (auto& [sql, stmt] : cache_) sqlite3_finalize(stmt);
  sqlite3_close_v2(db_);
}

Status SqliteDb::Exec(const std::string& sql) {
  char* err = nullptr;
  int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err);
  if (err != nullptr) sqlite3_free(err);
  if (rc == SQLITE_OK) return Status::Ok();
  return SqliteStatus(sqlite3_extended_errcode(db_), db_, "sqlite");
}

Result<std::unique_ptr<SqliteQuery>> SqliteDb::Prepare(const std::string& sql) {
  auto it = cache_.find(sql);
  if (it == cache_.end()) {
    sqlite3_stmt* stmt = nullptr;
    int rc =
        sqlite3_prepare_v3(db_, sql.c_str(), static_cast<int>(sql.size()), SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
    if (rc != SQLITE_OK) return SqliteStatus(rc, db_, "prepare");
    it = cache_.emplace(sql, stmt).first;
  }
  return std::make_unique<SqliteQuery>(*this, it->second);
}

int64_t SqliteDb::Changes() const { return sqlite3_changes64(db_); }

}  // namespace vigil::storage
