// The storage interface of the API server: typed records, filters, cursor
// pagination, reports and transactions. The SQLite implementation lives in
// sqlite_repository.cc; PostgreSQL will implement the same interface. Nothing
// here includes sqlite3.h or libpq.
//
// Conventions:
//  * ids are strings; a create with an empty id gets a fresh UUID from the
//    repository, which is written back into the returned record.
//  * times are int64 unix milliseconds, UTC.
//  * embeddings are float32 vectors, stored as BLOBs, always with the id of
//    the model that made them.
//  * errors: NotFound for a missing row, AlreadyExists for a duplicate id or
//    unique key, InvalidArgument for a bad filter/cursor or a dangling
//    reference (foreign key), Unavailable when the database is locked/busy
//    past the busy timeout or cannot be opened (retry later), DataLoss for a
//    corrupt file, Internal for anything else.
//
// Thread-safety: every method of a Repository may be called from any thread.
// The SQLite implementation has one writer connection behind a recursive
// mutex and one reader connection behind another. InTransaction holds the
// writer for the whole function, so calls made from inside `fn` (on the
// Repository& it receives) run inside the transaction and other threads'
// writes wait until it commits or rolls back; other threads' reads go to the
// reader connection and see the last committed state without waiting. Do not
// hand the Repository& given to `fn` to another thread.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/status.h"

namespace vigil::storage {

// ---------------------------------------------------------------- records

struct Site {
  std::string id;
  std::string name;
  std::string timezone = "UTC";  // IANA name ("Europe/Berlin") or "UTC"
  int64_t created_at = 0;
};

struct Camera {
  std::string id;
  std::string name;
  std::string url;
  std::optional<std::string> site_id;
  bool enabled = true;
  double fps = 5.0;
  std::optional<std::string> worker_id;  // the assigned (or pinning) worker
  bool pinned = false;                   // brought by a worker itself (hello)
  std::string state = "unassigned";      // free text set by the hub / heartbeats
  int64_t created_at = 0;
};

struct Worker {
  std::string id;
  std::string host;
  std::string version;
  std::string capabilities = "{}";  // JSON object text, as sent in hello
  std::string status = "offline";   // "online" | "offline"
  int64_t last_heartbeat_at = 0;
  std::string stats = "{}";  // JSON object text from the last heartbeat
  int64_t connected_at = 0;
  int64_t created_at = 0;
};

struct Staff {
  std::string id;
  std::string name;
  std::optional<std::string> email;
  std::optional<std::string> notes;
  int64_t created_at = 0;
};

struct StaffFace {
  std::string id;
  std::string staff_id;
  std::string model;
  std::vector<float> embedding;
  std::string photo_path;  // enrollment photo kept for re-embedding
  double quality = 0;
  int64_t created_at = 0;
};

struct Customer {
  std::string id;
  std::optional<std::string> name;  // anonymous until someone names them
  int64_t first_seen_at = 0;
  int64_t last_seen_at = 0;
  int64_t visit_count = 0;
  int64_t created_at = 0;
};

struct CustomerEmbedding {
  std::string id;
  std::string customer_id;
  std::string model;
  std::vector<float> embedding;
  double quality = 0;
  int64_t created_at = 0;
};

struct FaceEvent {
  std::string event_id;  // chosen by the worker; the idempotency key
  std::string worker_id;
  std::string camera_id;
  std::optional<std::string> site_id;
  int64_t captured_at = 0;
  int64_t track_id = 0;
  std::array<double, 4> bbox{};  // x, y, w, h in pixels
  double det_score = 0;
  double quality = 0;
  std::string model;
  std::vector<float> embedding;
  std::optional<std::string> staff_id;
  std::optional<double> staff_similarity;
  std::optional<std::string> customer_id;
  std::optional<double> customer_similarity;
  std::optional<std::string> visit_id;
  std::optional<std::string> snapshot_id;
  int64_t created_at = 0;  // when the API stored it
};

// A customer's kept embeddings of one model: how many, and the lowest quality.
struct EmbeddingStats {
  int64_t count = 0;
  double min_quality = 0;
};

struct Visit {
  std::string id;
  std::optional<std::string> site_id;
  std::string person_kind;  // "staff" | "customer"
  std::optional<std::string> staff_id;
  std::optional<std::string> customer_id;
  int64_t started_at = 0;
  int64_t ended_at = 0;
  int64_t event_count = 0;
};

struct Snapshot {
  std::string id;
  std::string path;  // relative to the data directory; chosen by the server
  int64_t created_at = 0;
  int64_t size = 0;
};

// ---------------------------------------------------------------- lists

// A page of a list. `next_cursor` is opaque; pass it back as PageRequest::cursor
// to get the following page. nullopt means there are no more rows.
template <typename T>
struct Page {
  std::vector<T> items;
  std::optional<std::string> next_cursor;
};

struct PageRequest {
  int limit = 50;                     // clamped to [1, 1000]
  std::optional<std::string> cursor;  // from a previous Page; malformed -> InvalidArgument
};

// Events and visits are ordered by time descending (captured_at / started_at),
// then id descending, which is stable under concurrent inserts of older rows.
// `from` is inclusive, `to` exclusive (unix ms).
struct EventFilter {
  std::optional<std::string> site_id;
  std::optional<std::string> camera_id;
  std::optional<std::string> staff_id;
  std::optional<std::string> customer_id;
  std::optional<int64_t> from;
  std::optional<int64_t> to;
};

struct VisitFilter {
  std::optional<std::string> site_id;
  std::optional<std::string> camera_id;  // visits with at least one event from this camera
  std::optional<std::string> staff_id;
  std::optional<std::string> customer_id;
  std::optional<std::string> person_kind;  // "staff" | "customer"
  std::optional<int64_t> from;             // on started_at
  std::optional<int64_t> to;
};

// Customers are ordered by last_seen_at descending, then id descending.
struct CustomerFilter {
  std::optional<std::string> search;  // case-insensitive substring of the name
  bool named_only = false;
};

// ---------------------------------------------------------------- reports

enum class ReportBucket { kHour, kDay, kWeekday };

// Customer visits only (staff are excluded). A visit falls into the bucket of
// its started_at in the site's local time (see docs/storage.md for how the
// timezone is applied).
struct ReportQuery {
  ReportBucket bucket = ReportBucket::kDay;
  std::optional<std::string> site_id;  // nullopt: every site, one row per site and bucket
  int64_t from = 0;                    // inclusive, unix ms
  int64_t to = 0;                      // exclusive, unix ms
};

struct ReportRow {
  std::string site_id;  // "" for visits without a site
  // kHour: "YYYY-MM-DDTHH" local; kDay: "YYYY-MM-DD" local;
  // kWeekday: "0".."6" with 0 = Sunday.
  std::string bucket;
  int64_t visits = 0;              // customer visits started in the bucket
  int64_t visitors = 0;            // distinct customers among them
  int64_t new_visitors = 0;        // distinct customers whose first visit ever is in the bucket
  int64_t returning_visitors = 0;  // visitors - new_visitors
};

// ---------------------------------------------------------------- results

// What erasing a customer removed; the caller deletes the snapshot files and
// removes the embeddings from its in-memory index.
struct EraseResult {
  std::vector<std::string> snapshot_paths;
  std::vector<std::string> embedding_ids;
  int64_t events_deleted = 0;
  int64_t visits_deleted = 0;
};

// ---------------------------------------------------------------- interface

// One value a storage engine reports for /metrics.
struct EngineMetric {
  std::string name;  // a Prometheus metric name
  std::string help;
  bool counter = false;  // else a gauge
  double value = 0;
};

class Repository {
 public:
  virtual ~Repository() = default;

  // Runs `fn` in one transaction (BEGIN IMMEDIATE on SQLite): commits when it
  // returns OK, rolls back otherwise and returns its Status. Nested calls join
  // the outer transaction.
  virtual Status InTransaction(const std::function<Status(Repository& tx)>& fn) = 0;

  // The applied schema version (the highest migration).
  virtual Result<int> SchemaVersion() = 0;

  // Sites.
  virtual Result<Site> CreateSite(Site site) = 0;
  virtual Result<Site> GetSite(const std::string& id) = 0;
  virtual Result<std::vector<Site>> ListSites() = 0;
  virtual Status UpdateSite(const Site& site) = 0;  // name, timezone
  // Cameras of the site keep existing with site_id = null.
  virtual Status DeleteSite(const std::string& id) = 0;

  // Cameras.
  virtual Result<Camera> CreateCamera(Camera camera) = 0;
  virtual Result<Camera> GetCamera(const std::string& id) = 0;
  virtual Result<std::vector<Camera>> ListCameras() = 0;
  // Updates name, url, site_id, enabled, fps (not assignment or state).
  virtual Status UpdateCamera(const Camera& camera) = 0;
  virtual Status DeleteCamera(const std::string& id) = 0;
  // worker_id nullopt = unassigned.
  virtual Status SetCameraAssignment(const std::string& camera_id, const std::optional<std::string>& worker_id) = 0;
  virtual Status SetCameraState(const std::string& camera_id, const std::string& state) = 0;

  // Workers.
  // On hello: inserts or updates host, version, capabilities; status online,
  // connected_at and last_heartbeat_at = now_ms.
  virtual Result<Worker> UpsertWorkerHello(const Worker& worker, int64_t now_ms) = 0;
  virtual Status RecordHeartbeat(const std::string& worker_id, const std::string& stats_json, int64_t now_ms) = 0;
  virtual Status MarkWorkerOffline(const std::string& worker_id) = 0;
  // At start-up: every worker offline (no session survives a restart).
  virtual Status MarkAllWorkersOffline() = 0;
  virtual Result<Worker> GetWorker(const std::string& id) = 0;
  virtual Result<std::vector<Worker>> ListWorkers() = 0;

  // Staff and their faces. Deleting a staff member deletes their faces and
  // unlinks their events (staff_id set null); their visits are deleted.
  virtual Result<Staff> CreateStaff(Staff staff) = 0;
  virtual Result<Staff> GetStaff(const std::string& id) = 0;
  virtual Result<std::vector<Staff>> ListStaff() = 0;
  virtual Status UpdateStaff(const Staff& staff) = 0;  // name, email, notes
  // Returns the photo paths of the deleted faces (for the caller to remove).
  virtual Result<std::vector<std::string>> DeleteStaff(const std::string& id) = 0;
  virtual Result<StaffFace> AddStaffFace(StaffFace face) = 0;
  virtual Result<std::vector<StaffFace>> ListStaffFaces(const std::string& staff_id) = 0;
  // Every staff face made by `model` (empty: every model), for the gallery.
  virtual Result<std::vector<StaffFace>> ListAllStaffFaces(const std::string& model) = 0;
  virtual Status DeleteStaffFace(const std::string& face_id) = 0;

  // Customers.
  virtual Result<Customer> CreateCustomer(Customer customer) = 0;
  virtual Result<Customer> GetCustomer(const std::string& id) = 0;
  virtual Result<Page<Customer>> ListCustomers(const CustomerFilter& filter, const PageRequest& page) = 0;
  // name nullopt = anonymous again.
  virtual Status RenameCustomer(const std::string& id, const std::optional<std::string>& name) = 0;
  // Deletes the customer, their embeddings, visits and events; returns what
  // the caller must clean up outside the database.
  virtual Result<EraseResult> EraseCustomer(const std::string& id) = 0;

  // Customer embeddings (the customer gallery). AddCustomerEmbedding keeps at
  // most `keep` per customer and model: when over, the lowest-quality ones are
  // deleted and their ids returned in `evicted_ids` (the new one may be among
  // them). `after`, when given, receives how many that customer keeps of
  // that model afterwards and the lowest quality among them, so a caller can
  // tell that a later embedding of no better quality would not be kept.
  virtual Result<CustomerEmbedding> AddCustomerEmbedding(CustomerEmbedding embedding, int keep,
                                                         std::vector<std::string>* evicted_ids,
                                                         EmbeddingStats* after = nullptr) = 0;
  virtual Result<std::vector<CustomerEmbedding>> ListCustomerEmbeddings(const std::string& customer_id) = 0;
  // Every customer embedding made by `model` (empty: every model), for
  // rebuilding the in-memory index at start.
  virtual Result<std::vector<CustomerEmbedding>> ListAllCustomerEmbeddings(const std::string& model) = 0;

  // Events. InsertEvent returns AlreadyExists when event_id is already stored.
  virtual Status InsertEvent(const FaceEvent& event) = 0;
  virtual Result<bool> EventExists(const std::string& event_id) = 0;
  virtual Result<FaceEvent> GetEvent(const std::string& event_id) = 0;
  virtual Result<Page<FaceEvent>> ListEvents(const EventFilter& filter, const PageRequest& page) = 0;

  // Visits.
  virtual Result<Visit> CreateVisit(Visit visit) = 0;
  virtual Result<Visit> GetVisit(const std::string& id) = 0;
  // The person's visit at `site_id` with the latest ended_at, if any.
  // Exactly one of staff_id / customer_id is set.
  virtual Result<std::optional<Visit>> LatestVisit(const std::optional<std::string>& site_id,
                                                   const std::optional<std::string>& staff_id,
                                                   const std::optional<std::string>& customer_id) = 0;
  // Widens [started_at, ended_at] to include `at` and adds `events` to event_count.
  virtual Status ExtendVisit(const std::string& visit_id, int64_t at, int64_t events) = 0;
  virtual Result<Page<Visit>> ListVisits(const VisitFilter& filter, const PageRequest& page) = 0;
  // Customer bookkeeping after a sighting: first/last seen widened to `at`,
  // visit_count += new_visits.
  virtual Status TouchCustomer(const std::string& customer_id, int64_t at, int64_t new_visits) = 0;

  // Reports.
  virtual Result<std::vector<ReportRow>> VisitorReport(const ReportQuery& query) = 0;

  // Snapshots (metadata only; files are the caller's).
  virtual Result<Snapshot> CreateSnapshot(Snapshot snapshot) = 0;
  virtual Result<Snapshot> GetSnapshot(const std::string& id) = 0;
  // Deletes snapshot rows created before `before_ms` (at most `limit`),
  // unlinking events from them, and returns the deleted rows so the caller
  // removes the files.
  virtual Result<std::vector<Snapshot>> DeleteSnapshotsBefore(int64_t before_ms, int limit) = 0;

  // Row counts for /metrics and tests: "sites", "cameras", "workers", "staff",
  // "staff_faces", "customers", "customer_embeddings", "events", "visits", "snapshots".
  virtual Result<int64_t> CountRows(const std::string& table) = 0;

  // The storage engine's own counters and gauges for /metrics (SQLite: the
  // WAL and its checkpoints); none by default. Safe to call from any thread.
  virtual std::vector<EngineMetric> EngineMetrics() const { return {}; }
};

using RepositoryPtr = std::unique_ptr<Repository>;

struct RepositoryOptions {
  int busy_timeout_ms = 5000;  // how long a writer waits for a lock before Unavailable
  // synchronous=FULL: a commit survives power loss, not only a process crash
  // (NORMAL, the default, is durable against crashes of vigil in WAL mode).
  bool synchronous_full = false;
  // Source of created_at defaults; null = the system clock. Must outlive the repository.
  Clock* clock = nullptr;
};

// Opens (creating if needed) the database at `database_url` and applies any
// pending migrations:
//   sqlite:///abs/path.db   sqlite://rel/path.db   sqlite::memory: (tests)
//   postgresql://...        Unimplemented for now
Result<RepositoryPtr> OpenRepository(const std::string& database_url, const RepositoryOptions& options = {});

}  // namespace vigil::storage
