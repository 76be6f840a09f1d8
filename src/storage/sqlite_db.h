// A thin RAII layer over one sqlite3 connection: open with the project's
// pragmas, a prepared-statement cache, typed binding and error mapping to
// Status. Internal to src/storage (it includes sqlite3.h); others use
// repository.h.
//
// Thread-safety: none. A SqliteDb and its statements belong to one thread at a
// time; SqliteRepository serialises access with its mutex.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/status.h"

namespace vigil::storage {

// Maps an SQLite result code to a Status: BUSY/LOCKED -> Unavailable,
// primary key / unique -> AlreadyExists, foreign key / not null / check ->
// InvalidArgument, CORRUPT/NOTADB -> DataLoss, CANTOPEN/IOERR/FULL ->
// Unavailable, anything else -> Internal.
Status SqliteStatus(int rc, sqlite3* db, const std::string& context);

class SqliteDb;

// A cached statement in use: binds positionally, steps, reads columns, and
// resets itself (clearing bindings) when it goes out of scope.
class SqliteQuery {
 public:
  SqliteQuery(SqliteDb& db, sqlite3_stmt* stmt) : db_(&db), stmt_(stmt) {}
  ~SqliteQuery();
  SqliteQuery(const SqliteQuery&) = delete;
  SqliteQuery& operator=(const SqliteQuery&) = delete;

  SqliteQuery& Bind(int64_t v);
  SqliteQuery& Bind(int v) { return Bind(static_cast<int64_t>(v)); }
  SqliteQuery& Bind(bool v) { return Bind(static_cast<int64_t>(v ? 1 : 0)); }
  SqliteQuery& Bind(double v);
  SqliteQuery& Bind(const std::string& v);
  SqliteQuery& Bind(const char* v) { return Bind(std::string(v)); }
  SqliteQuery& Bind(const std::optional<std::string>& v);
  SqliteQuery& Bind(const std::optional<double>& v);
  SqliteQuery& Bind(const std::optional<int64_t>& v);
  SqliteQuery& BindFloats(const std::vector<float>& v);  // BLOB of little-endian float32
  SqliteQuery& BindNull();

  // Next row: true when a row is available, false when done.
  Result<bool> Step();
  // Runs to completion, ignoring any rows.
  Status Run();

  bool IsNull(int col) const;
  int64_t Int(int col) const;
  double Double(int col) const;
  std::string Text(int col) const;
  std::optional<std::string> OptText(int col) const;
  std::optional<double> OptDouble(int col) const;
  std::vector<float> Floats(int col) const;

 private:
  Status BindStatus() const;
  SqliteDb* db_;
  sqlite3_stmt* stmt_;
  int next_ = 1;
  int bind_rc_ = SQLITE_OK;
};

class SqliteDb {
 public:
  // Opens (creating) `path` (":memory:" allowed) with WAL, foreign keys,
  // busy_timeout and synchronous=NORMAL (FULL when `sync_full`).
  static Result<std::unique_ptr<SqliteDb>> Open(const std::string& path, int busy_timeout_ms, bool sync_full);
  ~SqliteDb();
  SqliteDb(const SqliteDb&) = delete;
  SqliteDb& operator=(const SqliteDb&) = delete;

  // Runs one or more statements without parameters (schema, pragmas, BEGIN).
  Status Exec(const std::string& sql);
  // A statement from the cache (prepared on first use).
  Result<std::unique_ptr<SqliteQuery>> Prepare(const std::string& sql);
  int64_t Changes() const;
  sqlite3* raw() const { return db_; }

 private:
  explicit SqliteDb(sqlite3* db) : db_(db) {}
  sqlite3* db_;
  std::unordered_map<std::string, sqlite3_stmt*> cache_;
};

}  // namespace vigil::storage
