#include "storage/sqlite_migrations.h"

namespace vigil::storage {

// The SQL sticks to what PostgreSQL also accepts (TEXT, BIGINT, DOUBLE
// PRECISION, REFERENCES ... ON DELETE, CHECK), except BLOB, which is BYTEA
// there; booleans are 0/1 integers.
const std::vector<std::string>& SqliteMigrations() {
  static const std::vector<std::string> kMigrations = {
      // 1: the initial schema.
      R"sql(
CREATE TABLE sites (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  timezone TEXT NOT NULL,
  created_at BIGINT NOT NULL
);
CREATE TABLE workers (
  id TEXT PRIMARY KEY,
  host TEXT NOT NULL,
  version TEXT NOT NULL,
  capabilities TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('online', 'offline')),
  last_heartbeat_at BIGINT NOT NULL,
  stats TEXT NOT NULL,
  connected_at BIGINT NOT NULL,
  created_at BIGINT NOT NULL
);
CREATE TABLE cameras (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  url TEXT NOT NULL,
  site_id TEXT REFERENCES sites(id) ON DELETE SET NULL,
  enabled INTEGER NOT NULL,
  fps DOUBLE PRECISION NOT NULL,
  worker_id TEXT REFERENCES workers(id) ON DELETE SET NULL,
  pinned INTEGER NOT NULL,
  state TEXT NOT NULL,
  created_at BIGINT NOT NULL
);
CREATE INDEX cameras_site ON cameras(site_id);
CREATE INDEX cameras_worker ON cameras(worker_id);
CREATE TABLE staff (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  email TEXT,
  notes TEXT,
  created_at BIGINT NOT NULL
);
CREATE TABLE staff_faces (
  id TEXT PRIMARY KEY,
  staff_id TEXT NOT NULL REFERENCES staff(id) ON DELETE CASCADE,
  model TEXT NOT NULL,
  dim INTEGER NOT NULL,
  embedding BLOB NOT NULL,
  photo_path TEXT NOT NULL,
  quality DOUBLE PRECISION NOT NULL,
  created_at BIGINT NOT NULL
);
CREATE INDEX staff_faces_staff ON staff_faces(staff_id);
CREATE INDEX staff_faces_model ON staff_faces(model);
CREATE TABLE customers (
  id TEXT PRIMARY KEY,
  name TEXT,
  first_seen_at BIGINT NOT NULL,
  last_seen_at BIGINT NOT NULL,
  visit_count BIGINT NOT NULL,
  created_at BIGINT NOT NULL
);
CREATE INDEX customers_last_seen ON customers(last_seen_at, id);
CREATE TABLE customer_embeddings (
  id TEXT PRIMARY KEY,
  customer_id TEXT NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
  model TEXT NOT NULL,
  dim INTEGER NOT NULL,
  embedding BLOB NOT NULL,
  quality DOUBLE PRECISION NOT NULL,
  created_at BIGINT NOT NULL
);
CREATE INDEX customer_embeddings_customer ON customer_embeddings(customer_id, model, quality);
CREATE INDEX customer_embeddings_model ON customer_embeddings(model);
CREATE TABLE snapshots (
  id TEXT PRIMARY KEY,
  path TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  size BIGINT NOT NULL
);
CREATE INDEX snapshots_created ON snapshots(created_at);
CREATE TABLE visits (
  id TEXT PRIMARY KEY,
  site_id TEXT,
  person_kind TEXT NOT NULL CHECK (person_kind IN ('staff', 'customer')),
  staff_id TEXT REFERENCES staff(id) ON DELETE CASCADE,
  customer_id TEXT REFERENCES customers(id) ON DELETE CASCADE,
  started_at BIGINT NOT NULL,
  ended_at BIGINT NOT NULL,
  event_count BIGINT NOT NULL,
  CHECK ((person_kind = 'staff' AND staff_id IS NOT NULL AND customer_id IS NULL) OR
         (person_kind = 'customer' AND customer_id IS NOT NULL AND staff_id IS NULL))
);
CREATE INDEX visits_started ON visits(started_at, id);
CREATE INDEX visits_customer_site ON visits(customer_id, site_id, ended_at) WHERE customer_id IS NOT NULL;
CREATE INDEX visits_customer_started ON visits(customer_id, started_at) WHERE customer_id IS NOT NULL;
CREATE INDEX visits_staff_site ON visits(staff_id, site_id, ended_at) WHERE staff_id IS NOT NULL;
CREATE INDEX visits_site_started ON visits(site_id, started_at, id);
CREATE TABLE events (
  event_id TEXT PRIMARY KEY,
  worker_id TEXT NOT NULL,
  camera_id TEXT NOT NULL,
  site_id TEXT,
  captured_at BIGINT NOT NULL,
  track_id BIGINT NOT NULL,
  bbox_x DOUBLE PRECISION NOT NULL,
  bbox_y DOUBLE PRECISION NOT NULL,
  bbox_w DOUBLE PRECISION NOT NULL,
  bbox_h DOUBLE PRECISION NOT NULL,
  det_score DOUBLE PRECISION NOT NULL,
  quality DOUBLE PRECISION NOT NULL,
  model TEXT NOT NULL,
  dim INTEGER NOT NULL,
  embedding BLOB NOT NULL,
  staff_id TEXT REFERENCES staff(id) ON DELETE SET NULL,
  staff_similarity DOUBLE PRECISION,
  customer_id TEXT REFERENCES customers(id) ON DELETE CASCADE,
  customer_similarity DOUBLE PRECISION,
  visit_id TEXT REFERENCES visits(id) ON DELETE SET NULL,
  snapshot_id TEXT REFERENCES snapshots(id) ON DELETE SET NULL,
  created_at BIGINT NOT NULL
);
CREATE INDEX events_captured ON events(captured_at, event_id);
CREATE INDEX events_site ON events(site_id, captured_at, event_id);
CREATE INDEX events_camera ON events(camera_id, captured_at, event_id);
CREATE INDEX events_customer ON events(customer_id, captured_at, event_id);
CREATE INDEX events_staff ON events(staff_id, captured_at, event_id) WHERE staff_id IS NOT NULL;
CREATE INDEX events_visit ON events(visit_id);
CREATE INDEX events_snapshot ON events(snapshot_id);
)sql",
      // 2: fewer index writes per ingested event. Rows whose column is NULL
      // are never looked up through these indexes (every query and foreign-key
      // action compares the column with `=`, which only a non-NULL value
      // satisfies, so SQLite and PostgreSQL both use the partial index), so
      // they stay out of them: events without a site, a snapshot or a
      // customer (staff sightings) cost one B-tree insert less each.
      R"sql(
DROP INDEX events_site;
CREATE INDEX events_site ON events(site_id, captured_at, event_id) WHERE site_id IS NOT NULL;
DROP INDEX events_snapshot;
CREATE INDEX events_snapshot ON events(snapshot_id) WHERE snapshot_id IS NOT NULL;
DROP INDEX events_customer;
CREATE INDEX events_customer ON events(customer_id, captured_at, event_id) WHERE customer_id IS NOT NULL;
)sql",
      // 3: a person's latest visit at a site is found by its start, not its
      // end. A visit's end moves with every event that extends it, and an
      // index holding it had to move an entry each time (one more page
      // written per event); the start stays put. The two orders agree: a
      // person's visits at one site never overlap, since only the latest is
      // ever extended and an event within the merge window joins it.
      R"sql(
DROP INDEX visits_customer_site;
CREATE INDEX visits_customer_site ON visits(customer_id, site_id, started_at) WHERE customer_id IS NOT NULL;
DROP INDEX visits_staff_site;
CREATE INDEX visits_staff_site ON visits(staff_id, site_id, started_at) WHERE staff_id IS NOT NULL;
)sql",
  };
  return kMigrations;
}

}  // namespace vigil::storage
