// Migration 2 (partial indexes on events): a version-1 database with data is
// upgraded in place, and the queries and foreign-key lookups that need the
// changed indexes still use them.
#include <gtest/gtest.h>

#include <string>

#include "storage/repository.h"
#include "storage/sqlite_db.h"
#include "storage/sqlite_migrations.h"
#include "storage/storage_test_helpers.h"

namespace vigil::storage {
namespace {

using testing::TempDir;

// The plan's detail lines joined, for `EXPLAIN QUERY PLAN sql`.
std::string Plan(SqliteDb& db, const std::string& sql) {
  auto q = db.Prepare("EXPLAIN QUERY PLAN " + sql);
  EXPECT_TRUE(q.ok()) << q.status().ToString();
  if (!q.ok()) return "";
  std::string out;
  for (;;) {
    auto row = (*q)->Step();
    EXPECT_TRUE(row.ok()) << row.status().ToString();
    if (!row.ok() || !*row) break;
    out += (*q)->Text(3) + "\n";
  }
  return out;
}

TEST(MigrationTest, UpgradesVersionOneDatabaseAndKeepsRows) {
  TempDir dir;
  const std::string path = dir.path() + "/v1.db";
  {
    auto db = SqliteDb::Open(path, 1000, false);
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    ASSERT_TRUE(
        (*db)->Exec("CREATE TABLE schema_version (version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)").ok());
    ASSERT_TRUE((*db)->Exec(SqliteMigrations().at(0)).ok());
    ASSERT_TRUE((*db)->Exec("INSERT INTO schema_version VALUES (1, 0)").ok());
    ASSERT_TRUE((*db)
                    ->Exec("INSERT INTO events (event_id, worker_id, camera_id, captured_at, track_id, bbox_x, bbox_y, "
                           "bbox_w, bbox_h, det_score, quality, model, dim, embedding, created_at) VALUES "
                           "('e1', 'w', 'c', 5, 1, 0, 0, 1, 1, 0.9, 0.8, 'm', 1, x'0000803f', 5)")
                    .ok());
  }
  auto repo = OpenRepository("sqlite://" + path);
  ASSERT_TRUE(repo.ok()) << repo.status().ToString();
  EXPECT_EQ(*(*repo)->SchemaVersion(), static_cast<int>(SqliteMigrations().size()));
  EXPECT_EQ(*(*repo)->CountRows("events"), 1);
  auto e = (*repo)->GetEvent("e1");
  ASSERT_TRUE(e.ok()) << e.status().ToString();
  EXPECT_EQ(e->camera_id, "c");
}

TEST(MigrationTest, PartialEventIndexesServeTheirLookups) {
  TempDir dir;
  const std::string path = dir.path() + "/vigil.db";
  auto repo = OpenRepository("sqlite://" + path);
  ASSERT_TRUE(repo.ok()) << repo.status().ToString();
  auto db = SqliteDb::Open(path, 1000, false);
  ASSERT_TRUE(db.ok()) << db.status().ToString();
  // Filtered event lists (ListEvents) and the lookups behind ON DELETE
  // actions and customer erasure all compare with '='.
  EXPECT_NE(Plan(**db, "SELECT event_id FROM events WHERE site_id = 's' ORDER BY captured_at DESC, event_id DESC")
                .find("events_site"),
            std::string::npos);
  EXPECT_NE(Plan(**db, "SELECT event_id FROM events WHERE snapshot_id = 'x'").find("events_snapshot"),
            std::string::npos);
  EXPECT_NE(Plan(**db, "SELECT event_id FROM events WHERE customer_id = 'c' ORDER BY captured_at, event_id")
                .find("events_customer"),
            std::string::npos);
  // Rows with a NULL column stay out of the three indexes.
  for (const char* name : {"events_site", "events_snapshot", "events_customer"}) {
    auto q = (*db)->Prepare("SELECT sql FROM sqlite_master WHERE type = 'index' AND name = ?");
    ASSERT_TRUE(q.ok()) << q.status().ToString();
    (*q)->Bind(std::string(name));
    ASSERT_TRUE(*(*q)->Step()) << name;
    EXPECT_NE((*q)->Text(0).find("IS NOT NULL"), std::string::npos) << (*q)->Text(0);
  }
}

}  // namespace
}  // namespace vigil::storage
