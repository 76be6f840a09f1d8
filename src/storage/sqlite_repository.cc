// SQLite implementation of Repository: one connection, serialised by a
// recursive mutex (so calls made inside InTransaction's function re-enter on
// the same thread), statements prepared once and cached, migrations applied
// at open.
#include <algorithm>
#include <atomic>
#include <cctype>
#include <filesystem>
#include <mutex>
#include <set>
#include <thread>
#include <variant>

#include "core/clock.h"
#include "core/json_util.h"
#include "core/logging.h"
#include "core/uuid.h"
#include "storage/repository.h"
#include "storage/sqlite_db.h"
#include "storage/sqlite_migrations.h"
#include "storage/timezone.h"
#include "storage/wal_checkpointer.h"

namespace vigil::storage {
namespace {

constexpr int kMaxPageLimit = 1000;

int ClampLimit(int limit) { return std::clamp(limit, 1, kMaxPageLimit); }

std::string EncodeCursor(int64_t t, const std::string& id) {
  const std::string raw = "v1:" + std::to_string(t) + ":" + id;
  return Base64Encode(raw.data(), raw.size());
}

Status DecodeCursor(const std::string& cursor, int64_t* t, std::string* id) {
  auto bytes = Base64Decode(cursor);
  auto bad = [] { return InvalidArgument("malformed cursor"); };
  if (!bytes.ok()) return bad();
  const std::string raw(bytes->begin(), bytes->end());
  if (raw.rfind("v1:", 0) != 0) return bad();
  const size_t colon = raw.find(':', 3);
  if (colon == std::string::npos || colon == 3) return bad();
  const std::string num = raw.substr(3, colon - 3);
  size_t start = num[0] == '-' ? 1 : 0;
  if (start == num.size() || num.size() > 20) return bad();
  for (size_t i = start; i < num.size(); ++i) {
    if (!std::isdigit(static_cast<unsigned char>(num[i]))) return bad();
  }
  try {
    *t = std::stoll(num);
  } catch (const std::exception&) {
    return bad();
  }
  *id = raw.substr(colon + 1);
  return Status::Ok();
}

// Escapes LIKE wildcards so a search for "50%" finds "50%" literally.
std::string LikePattern(const std::string& s) {
  std::string out = "%";
  for (char c : s) {
    if (c == '%' || c == '_' || c == '\\') out += '\\';
    out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  out += '%';
  return out;
}

constexpr const char* kSiteCols = "id, name, timezone, created_at";
constexpr const char* kCameraCols = "id, name, url, site_id, enabled, fps, worker_id, pinned, state, created_at";
constexpr const char* kWorkerCols =
    "id, host, version, capabilities, status, last_heartbeat_at, stats, connected_at, created_at";
constexpr const char* kStaffCols = "id, name, email, notes, created_at";
constexpr const char* kStaffFaceCols = "id, staff_id, model, embedding, photo_path, quality, created_at";
constexpr const char* kCustomerCols = "id, name, first_seen_at, last_seen_at, visit_count, created_at";
constexpr const char* kEmbeddingCols = "id, customer_id, model, embedding, quality, created_at";
constexpr const char* kEventCols =
    "event_id, worker_id, camera_id, site_id, captured_at, track_id, bbox_x, bbox_y, bbox_w, bbox_h, det_score, "
    "quality, model, embedding, staff_id, staff_similarity, customer_id, customer_similarity, visit_id, "
    "snapshot_id, created_at";
constexpr const char* kVisitCols = "id, site_id, person_kind, staff_id, customer_id, started_at, ended_at, event_count";
constexpr const char* kSnapshotCols = "id, path, created_at, size";

Site ReadSite(const SqliteQuery& q) { return Site{q.Text(0), q.Text(1), q.Text(2), q.Int(3)}; }

Camera ReadCamera(const SqliteQuery& q) {
  Camera c;
  c.id = q.Text(0);
  c.name = q.Text(1);
  c.url = q.Text(2);
  c.site_id = q.OptText(3);
  c.enabled = q.Int(4) != 0;
  c.fps = q.Double(5);
  c.worker_id = q.OptText(6);
  c.pinned = q.Int(7) != 0;
  c.state = q.Text(8);
  c.created_at = q.Int(9);
  return c;
}

Worker ReadWorker(const SqliteQuery& q) {
  Worker w;
  w.id = q.Text(0);
  w.host = q.Text(1);
  w.version = q.Text(2);
  w.capabilities = q.Text(3);
  w.status = q.Text(4);
  w.last_heartbeat_at = q.Int(5);
  w.stats = q.Text(6);
  w.connected_at = q.Int(7);
  w.created_at = q.Int(8);
  return w;
}

Staff ReadStaff(const SqliteQuery& q) { return Staff{q.Text(0), q.Text(1), q.OptText(2), q.OptText(3), q.Int(4)}; }

StaffFace ReadStaffFace(const SqliteQuery& q) {
  return StaffFace{q.Text(0), q.Text(1), q.Text(2), q.Floats(3), q.Text(4), q.Double(5), q.Int(6)};
}

Customer ReadCustomer(const SqliteQuery& q) {
  return Customer{q.Text(0), q.OptText(1), q.Int(2), q.Int(3), q.Int(4), q.Int(5)};
}

CustomerEmbedding ReadEmbedding(const SqliteQuery& q) {
  return CustomerEmbedding{q.Text(0), q.Text(1), q.Text(2), q.Floats(3), q.Double(4), q.Int(5)};
}

FaceEvent ReadEvent(const SqliteQuery& q) {
  FaceEvent e;
  e.event_id = q.Text(0);
  e.worker_id = q.Text(1);
  e.camera_id = q.Text(2);
  e.site_id = q.OptText(3);
  e.captured_at = q.Int(4);
  e.track_id = q.Int(5);
  e.bbox = {q.Double(6), q.Double(7), q.Double(8), q.Double(9)};
  e.det_score = q.Double(10);
  e.quality = q.Double(11);
  e.model = q.Text(12);
  e.embedding = q.Floats(13);
  e.staff_id = q.OptText(14);
  e.staff_similarity = q.OptDouble(15);
  e.customer_id = q.OptText(16);
  e.customer_similarity = q.OptDouble(17);
  e.visit_id = q.OptText(18);
  e.snapshot_id = q.OptText(19);
  e.created_at = q.Int(20);
  return e;
}

Visit ReadVisit(const SqliteQuery& q) {
  return Visit{q.Text(0), q.OptText(1), q.Text(2), q.OptText(3), q.OptText(4), q.Int(5), q.Int(6), q.Int(7)};
}

Snapshot ReadSnapshot(const SqliteQuery& q) { return Snapshot{q.Text(0), q.Text(1), q.Int(2), q.Int(3)}; }

// SQL function vigil_tz_offset_s(zone TEXT, utc_ms INTEGER) -> seconds east of UTC.
void TzOffsetFunction(sqlite3_context* ctx, int argc, sqlite3_value** argv) {
  auto* cache = static_cast<TimeZoneCache*>(sqlite3_user_data(ctx));
  if (argc != 2 || sqlite3_value_type(argv[1]) == SQLITE_NULL) {
    sqlite3_result_int64(ctx, 0);
    return;
  }
  const auto* zone = reinterpret_cast<const char*>(sqlite3_value_text(argv[0]));
  const TimeZone& tz = cache->Get(zone != nullptr ? zone : "UTC");
  sqlite3_result_int64(ctx, tz.OffsetSeconds(sqlite3_value_int64(argv[1])));
}

class SqliteRepository final : public Repository {
 public:
  SqliteRepository(std::unique_ptr<SqliteDb> db, Clock& clock) : db_(std::move(db)), clock_(clock) {}

  // Registers SQL functions and migrates on the writer; then adopts `reader`
  // (may be null) as the connection for reads outside transactions.
  Status Init(std::function<Result<std::unique_ptr<SqliteDb>>()> open_reader) {
    std::lock_guard<std::recursive_mutex> lock(mu_);
    VIGIL_RETURN_IF_ERROR(RegisterFunctions(*db_));
    VIGIL_RETURN_IF_ERROR(Migrate());
    if (open_reader) {
      VIGIL_ASSIGN_OR_RETURN(auto reader, open_reader());
      VIGIL_RETURN_IF_ERROR(RegisterFunctions(*reader));
      {
        std::lock_guard<std::recursive_mutex> rlock(reader_mu_);
        reader_ = std::move(reader);
      }
      // A file database: checkpoints run on their own connection and thread,
      // so no commit waits for the WAL to be copied into the database.
      VIGIL_ASSIGN_OR_RETURN(auto ckpt_db, open_reader());
      VIGIL_ASSIGN_OR_RETURN(checkpointer_, WalCheckpointer::Start(*db_, std::move(ckpt_db)));
    }
    return Status::Ok();
  }

  Status RegisterFunctions(SqliteDb& db) {
    int rc = sqlite3_create_function_v2(db.raw(), "vigil_tz_offset_s", 2, SQLITE_UTF8 | SQLITE_DETERMINISTIC,
                                        &tz_cache_, &TzOffsetFunction, nullptr, nullptr, nullptr);
    if (rc != SQLITE_OK) return SqliteStatus(rc, db.raw(), "register function");
    return Status::Ok();
  }

  Status InTransaction(const std::function<Status(Repository& tx)>& fn) override {
    std::lock_guard<std::recursive_mutex> lock(mu_);
    if (tx_depth_ > 0) {
      // Joins the outer transaction; its failure propagates and rolls back the whole.
      ++tx_depth_;
      Status st = fn(*this);
      --tx_depth_;
      return st;
    }
    VIGIL_RETURN_IF_ERROR(db_->Exec("BEGIN IMMEDIATE").WithContext("begin transaction"));
    ++tx_depth_;
    tx_owner_.store(std::this_thread::get_id());
    Status st;
    try {
      st = fn(*this);
    } catch (const std::exception& e) {
      st = Internal(std::string("exception in transaction: ") + e.what());
    }
    --tx_depth_;
    tx_owner_.store(std::thread::id());
    if (st.ok()) {
      st = db_->Exec("COMMIT").WithContext("commit");
      if (st.ok()) return st;
    }
    Status rb = db_->Exec("ROLLBACK");
    if (!rb.ok() && sqlite3_get_autocommit(db_->raw()) == 0) {
      log_->error("msg=\"rollback failed\" error={}", LogValue(rb.ToString()));
    }
    return st;
  }

  Result<int> SchemaVersion() override {
    ReadConn conn = ReadConnection();
    VIGIL_ASSIGN_OR_RETURN(auto q, conn.db->Prepare("SELECT COALESCE(MAX(version), 0) FROM schema_version"));
    VIGIL_ASSIGN_OR_RETURN(bool row, q->Step());
    return row ? static_cast<int>(q->Int(0)) : 0;
  }

  // ------------------------------------------------------------ sites

  Result<Site> CreateSite(Site site) override {
    if (site.name.empty()) return InvalidArgument("site name must not be empty");
    if (site.id.empty()) site.id = NewId();
    if (site.timezone.empty()) site.timezone = "UTC";
    if (site.created_at == 0) site.created_at = clock_.NowUnixMs();
    std::lock_guard<std::recursive_mutex> lock(mu_);
    VIGIL_ASSIGN_OR_RETURN(auto q,
                           db_->Prepare("INSERT INTO sites (id, name, timezone, created_at) VALUES (?, ?, ?, ?)"));
    q->Bind(site.id).Bind(site.name).Bind(site.timezone).Bind(site.created_at);
    VIGIL_RETURN_IF_ERROR(q->Run());
    return site;
  }

  Result<Site> GetSite(const std::string& id) override {
    return GetOne<Site>(std::string("SELECT ") + kSiteCols + " FROM sites WHERE id = ?", id, ReadSite, "site");
  }

  Result<std::vector<Site>> ListSites() override {
    return ListAll<Site>(std::string("SELECT ") + kSiteCols + " FROM sites ORDER BY name, id", ReadSite);
  }

  Status UpdateSite(const Site& site) override {
    if (site.name.empty()) return InvalidArgument("site name must not be empty");
    std::lock_guard<std::recursive_mutex> lock(mu_);
    VIGIL_ASSIGN_OR_RETURN(auto q, db_->Prepare("UPDATE sites SET name = ?, timezone = ? WHERE id = ?"));
    q->Bind(site.name).Bind(site.timezone.empty() ? std::string("UTC") : site.timezone).Bind(site.id);
    return RunExpectingRow(*q, "site " + site.id);
  }

  Status DeleteSite(const std::string& id) override { return DeleteById("DELETE FROM sites WHERE id = ?", id, "site"); }

  // ------------------------------------------------------------ cameras

  Result<Camera> CreateCamera(Camera c) override {
    if (c.url.empty()) return InvalidArgument("camera url must not be empty");
    if (c.fps <= 0) return InvalidArgument("camera fps must be positive");
    if (c.id.empty()) c.id = NewId();
    if (c.name.empty()) c.name = c.id;
    if (c.created_at == 0) c.created_at = clock_.NowUnixMs();
    std::lock_guard<std::recursive_mutex> lock(mu_);
    VIGIL_ASSIGN_OR_RETURN(auto q, db_->Prepare(std::string("INSERT INTO cameras (") + kCameraCols +
                                                ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"));
    q->Bind(c.id)
        .Bind(c.name)
        .Bind(c.url)
        .Bind(c.site_id)
        .Bind(c.enabled)
        .Bind(c.fps)
        .Bind(c.worker_id)
        .Bind(c.pinned)
        .Bind(c.state)
        .Bind(c.created_at);
    VIGIL_RETURN_IF_ERROR(q->Run());
    return c;
  }

  Result<Camera> GetCamera(const std::string& id) override {
    return GetOne<Camera>(std::string("SELECT ") + kCameraCols + " FROM cameras WHERE id = ?", id, ReadCamera,
                          "camera");
  }

  Result<std::vector<Camera>> ListCameras() override {
    return ListAll<Camera>(std::string("SELECT ") + kCameraCols + " FROM cameras ORDER BY created_at, id", ReadCamera);
  }

  Status UpdateCamera(const Camera& c) override {
    if (c.url.empty()) return InvalidArgument("camera url must not be empty");
    if (c.fps <= 0) return InvalidArgument("camera fps must be positive");
    std::lock_guard<std::recursive_mutex> lock(mu_);
    VIGIL_ASSIGN_OR_RETURN(
        auto q, db_->Prepare("UPDATE cameras SET name = ?, url = ?, site_id = ?, enabled = ?, fps = ? WHERE id = ?"));
    q->Bind(c.name.empty() ? c.id : c.name).Bind(c.url).Bind(c.site_id).Bind(c.enabled).Bind(c.fps).Bind(c.id);
    return RunExpectingRow(*q, "camera " + c.id);
  }

  Status DeleteCamera(const std::string& id) override {
    return DeleteById("DELETE FROM cameras WHERE id = ?", id, "camera");
  }

  Status SetCameraAssignment(const std::string& camera_id, const std::optional<std::string>& worker_id) override {
    std::lock_guard<std::recursive_mutex> lock(mu_);
    VIGIL_ASSIGN_OR_RETURN(auto q, db_->Prepare("UPDATE cameras SET worker_id = ? WHERE id = ?"));
    q->Bind(worker_id).Bind(camera_id);
    return RunExpectingRow(*q, "camera " + camera_id);
  }

  Status SetCameraState(const std::string& camera_id, const std::string& state) override {
    std::lock_guard<std::recursive_mutex> lock(mu_);
    VIGIL_ASSIGN_OR_RETURN(auto q, db_->Prepare("UPDATE cameras SET state = ? WHERE id = ?"));
    q->Bind(state).Bind(camera_id);
    return RunExpectingRow(*q, "camera " + camera_id);
  }

  // ------------------------------------------------------------ workers

  Result<Worker> UpsertWorkerHello(const Worker& w, int64_t now_ms) override {
    if (w.id.empty()) return InvalidArgument("worker id must not be empty");
    std::lock_guard<std::recursive_mutex> lock(mu_);
    VIGIL_ASSIGN_OR_RETURN(
        auto q, db_->Prepare("INSERT INTO workers (id, host, version, capabilities, status, last_heartbeat_at, stats, "
                             "connected_at, created_at) VALUES (?, ?, ?, ?, 'online', ?, ?, ?, ?) "
                             "ON CONFLICT (id) DO UPDATE SET host = excluded.host, version = excluded.version, "
                             "capabilities = excluded.capabilities, status = 'online', "
                             "last_heartbeat_at = excluded.last_heartbeat_at, connected_at = excluded.connected_at"));
    q->Bind(w.id)
        .Bind(w.host)
        .Bind(w.version)
        .Bind(w.capabilities.empty() ? std::string("{}") : w.capabilities)
        .Bind(now_ms)
        .Bind(w.stats.empty() ? std::string("{}") : w.stats)
        .Bind(now_ms)
        .Bind(now_ms);
    VIGIL_RETURN_IF_ERROR(q->Run());
    return GetWorker(w.id);
  }

  Status RecordHeartbeat(const std::string& worker_id, const std::string& stats_json, int64_t now_ms) override {
    std::lock_guard<std::recursive_mutex> lock(mu_);
    VIGIL_ASSIGN_OR_RETURN(
        auto q, db_->Prepare("UPDATE workers SET stats = ?, last_heartbeat_at = ?, status = 'online' WHERE id = ?"));
    q->Bind(stats_json.empty() ? std::string("{}") : stats_json).Bind(now_ms).Bind(worker_id);
    return RunExpectingRow(*q, "worker " + worker_id);
  }

  Status MarkWorkerOffline(const std::string& worker_id) override {
    std::lock_guard<std::recursive_mutex> lock(mu_);
    VIGIL_ASSIGN_OR_RETURN(auto q, db_->Prepare("UPDATE workers SET status = 'offline' WHERE id = ?"));
    q->Bind(worker_id);
    return RunExpectingRow(*q, "worker " + worker_id);
  }

  Status MarkAllWorkersOffline() override {
    std::lock_guard<std::recursive_mutex> lock(mu_);
    VIGIL_ASSIGN_OR_RETURN(auto q, db_->Prepare("UPDATE workers SET status = 'offline' WHERE status <> 'offline'"));
    return q->Run();
  }

  Result<Worker> GetWorker(const std::string& id) override {
    return GetOne<Worker>(std::string("SELECT ") + kWorkerCols + " FROM workers WHERE id = ?", id, ReadWorker,
                          "worker");
  }

  Result<std::vector<Worker>> ListWorkers() override {
    return ListAll<Worker>(std::string("SELECT ") + kWorkerCols + " FROM workers ORDER BY id", ReadWorker);
  }

  // ------------------------------------------------------------ staff

  Result<Staff> CreateStaff(Staff s) override {
    if (s.name.empty()) return InvalidArgument("staff name must not be empty");
    if (s.id.empty()) s.id = NewId();
    if (s.created_at == 0) s.created_at = clock_.NowUnixMs();
    std::lock_guard<std::recursive_mutex> lock(mu_);
    VIGIL_ASSIGN_OR_RETURN(
        auto q, db_->Prepare("INSERT INTO staff (id, name, email, notes, created_at) VALUES (?, ?, ?, ?, ?)"));
    q->Bind(s.id).Bind(s.name).Bind(s.email).Bind(s.notes).Bind(s.created_at);
    VIGIL_RETURN_IF_ERROR(q->Run());
    return s;
  }

  Result<Staff> GetStaff(const std::string& id) override {
    return GetOne<Staff>(std::string("SELECT ") + kStaffCols + " FROM staff WHERE id = ?", id, ReadStaff,
                         "staff member");
  }

  Result<std::vector<Staff>> ListStaff() override {
    return ListAll<Staff>(std::string("SELECT ") + kStaffCols + " FROM staff ORDER BY name, id", ReadStaff);
  }

  Status UpdateStaff(const Staff& s) override {
    if (s.name.empty()) return InvalidArgument("staff name must not be empty");
    std::lock_guard<std::recursive_mutex> lock(mu_);
    VIGIL_ASSIGN_OR_RETURN(auto q, db_->Prepare("UPDATE staff SET name = ?, email = ?, notes = ? WHERE id = ?"));
    q->Bind(s.name).Bind(s.email).Bind(s.notes).Bind(s.id);
    return RunExpectingRow(*q, "staff member " + s.id);
  }

  Result<std::vector<std::string>> DeleteStaff(const std::string& id) override {
    std::vector<std::string> paths;
    Status st = InTransaction([&](Repository&) -> Status {
      VIGIL_ASSIGN_OR_RETURN(auto q, db_->Prepare("SELECT photo_path FROM staff_faces WHERE staff_id = ?"));
      q->Bind(id);
      for (;;) {
        VIGIL_ASSIGN_OR_RETURN(bool row, q->Step());
        if (!row) break;
        paths.push_back(q->Text(0));
      }
      return DeleteById("DELETE FROM staff WHERE id = ?", id, "staff member");
    });
    if (!st.ok()) return st;
    return paths;
  }

  Result<StaffFace> AddStaffFace(StaffFace f) override {
    if (f.embedding.empty()) return InvalidArgument("staff face embedding must not be empty");
    if (f.model.empty()) return InvalidArgument("staff face model must not be empty");
    if (f.id.empty()) f.id = NewId();
    if (f.created_at == 0) f.created_at = clock_.NowUnixMs();
    std::lock_guard<std::recursive_mutex> lock(mu_);
    VIGIL_ASSIGN_OR_RETURN(auto q,
                           db_->Prepare("INSERT INTO staff_faces (id, staff_id, model, dim, embedding, photo_path, "
                                        "quality, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"));
    q->Bind(f.id)
        .Bind(f.staff_id)
        .Bind(f.model)
        .Bind(static_cast<int64_t>(f.embedding.size()))
        .BindFloats(f.embedding)
        .Bind(f.photo_path)
        .Bind(f.quality)
        .Bind(f.created_at);
    Status st = q->Run();
    if (st.code() == StatusCode::kInvalidArgument) return NotFound("staff member " + f.staff_id + " does not exist");
    VIGIL_RETURN_IF_ERROR(st);
    return f;
  }

  Result<std::vector<StaffFace>> ListStaffFaces(const std::string& staff_id) override {
    return ListAll<StaffFace>(
        std::string("SELECT ") + kStaffFaceCols + " FROM staff_faces WHERE staff_id = ? ORDER BY created_at, id",
        ReadStaffFace, staff_id);
  }

  Result<std::vector<StaffFace>> ListAllStaffFaces(const std::string& model) override {
    if (model.empty()) {
      return ListAll<StaffFace>(std::string("SELECT ") + kStaffFaceCols + " FROM staff_faces ORDER BY staff_id, id",
                                ReadStaffFace);
    }
    return ListAll<StaffFace>(
        std::string("SELECT ") + kStaffFaceCols + " FROM staff_faces WHERE model = ? ORDER BY staff_id, id",
        ReadStaffFace, model);
  }

  Status DeleteStaffFace(const std::string& face_id) override {
    return DeleteById("DELETE FROM staff_faces WHERE id = ?", face_id, "staff face");
  }

  // ------------------------------------------------------------ customers

  Result<Customer> CreateCustomer(Customer c) override {
    if (c.id.empty()) c.id = NewId();
    if (c.created_at == 0) c.created_at = clock_.NowUnixMs();
    if (c.first_seen_at == 0) c.first_seen_at = c.created_at;
    if (c.last_seen_at == 0) c.last_seen_at = c.first_seen_at;
    std::lock_guard<std::recursive_mutex> lock(mu_);
    VIGIL_ASSIGN_OR_RETURN(
        auto q, db_->Prepare(std::string("INSERT INTO customers (") + kCustomerCols + ") VALUES (?, ?, ?, ?, ?, ?)"));
    q->Bind(c.id).Bind(c.name).Bind(c.first_seen_at).Bind(c.last_seen_at).Bind(c.visit_count).Bind(c.created_at);
    VIGIL_RETURN_IF_ERROR(q->Run());
    return c;
  }

  Result<Customer> GetCustomer(const std::string& id) override {
    return GetOne<Customer>(std::string("SELECT ") + kCustomerCols + " FROM customers WHERE id = ?", id, ReadCustomer,
                            "customer");
  }

  Result<Page<Customer>> ListCustomers(const CustomerFilter& filter, const PageRequest& page) override {
    std::string sql = std::string("SELECT ") + kCustomerCols + " FROM customers WHERE 1 = 1";
    std::vector<std::string> text_args;
    if (filter.named_only) sql += " AND name IS NOT NULL";
    if (filter.search && !filter.search->empty()) {
      sql += " AND LOWER(name) LIKE ? ESCAPE '\\'";
      text_args.push_back(LikePattern(*filter.search));
    }
    return ListPage<Customer>(sql, text_args, "last_seen_at", "id", page, ReadCustomer,
                              [](const Customer& c) { return EncodeCursor(c.last_seen_at, c.id); });
  }

  Status RenameCustomer(const std::string& id, const std::optional<std::string>& name) override {
    std::optional<std::string> n = name;
    if (n && n->empty()) n.reset();
    std::lock_guard<std::recursive_mutex> lock(mu_);
    VIGIL_ASSIGN_OR_RETURN(auto q, db_->Prepare("UPDATE customers SET name = ? WHERE id = ?"));
    q->Bind(n).Bind(id);
    return RunExpectingRow(*q, "customer " + id);
  }

  Result<EraseResult> EraseCustomer(const std::string& id) override {
    EraseResult out;
    Status st = InTransaction([&](Repository&) -> Status {
      VIGIL_RETURN_IF_ERROR(GetCustomer(id).status());
      std::vector<std::string> snapshot_ids;
      {
        VIGIL_ASSIGN_OR_RETURN(
            auto q, db_->Prepare("SELECT s.id, s.path FROM events e JOIN snapshots s ON s.id = e.snapshot_id "
                                 "WHERE e.customer_id = ?"));
        q->Bind(id);
        for (;;) {
          VIGIL_ASSIGN_OR_RETURN(bool row, q->Step());
          if (!row) break;
          snapshot_ids.push_back(q->Text(0));
          out.snapshot_paths.push_back(q->Text(1));
        }
      }
      {
        VIGIL_ASSIGN_OR_RETURN(auto q, db_->Prepare("SELECT id FROM customer_embeddings WHERE customer_id = ?"));
        q->Bind(id);
        for (;;) {
          VIGIL_ASSIGN_OR_RETURN(bool row, q->Step());
          if (!row) break;
          out.embedding_ids.push_back(q->Text(0));
        }
      }
      {
        VIGIL_ASSIGN_OR_RETURN(auto q, db_->Prepare("DELETE FROM events WHERE customer_id = ?"));
        q->Bind(id);
        VIGIL_RETURN_IF_ERROR(q->Run());
        out.events_deleted = db_->Changes();
      }
      for (const auto& sid : snapshot_ids) {
        VIGIL_ASSIGN_OR_RETURN(auto q, db_->Prepare("DELETE FROM snapshots WHERE id = ?"));
        q->Bind(sid);
        VIGIL_RETURN_IF_ERROR(q->Run());
      }
      {
        VIGIL_ASSIGN_OR_RETURN(auto q, db_->Prepare("DELETE FROM visits WHERE customer_id = ?"));
        q->Bind(id);
        VIGIL_RETURN_IF_ERROR(q->Run());
        out.visits_deleted = db_->Changes();
      }
      // Embeddings go with the customer (ON DELETE CASCADE).
      return DeleteById("DELETE FROM customers WHERE id = ?", id, "customer");
    });
    if (!st.ok()) return st;
    return out;
  }

  Result<CustomerEmbedding> AddCustomerEmbedding(CustomerEmbedding e, int keep, std::vector<std::string>* evicted_ids,
                                                 EmbeddingStats* after = nullptr) override {
    if (e.embedding.empty()) return InvalidArgument("customer embedding must not be empty");
    if (e.model.empty()) return InvalidArgument("customer embedding model must not be empty");
    if (keep < 1) keep = 1;
    if (e.id.empty()) e.id = NewId();
    if (e.created_at == 0) e.created_at = clock_.NowUnixMs();
    std::lock_guard<std::recursive_mutex> lock(mu_);
    {
      // Already `keep` better ones: the new one would be evicted at once, so
      // skip the write (the common case for a regular customer).
      VIGIL_ASSIGN_OR_RETURN(auto q, db_->Prepare("SELECT COUNT(*), MIN(quality) FROM customer_embeddings "
                                                  "WHERE customer_id = ? AND model = ?"));
      q->Bind(e.customer_id).Bind(e.model);
      VIGIL_ASSIGN_OR_RETURN(bool row, q->Step());
      if (row && q->Int(0) >= keep && e.quality <= q->Double(1)) {
        if (evicted_ids) *evicted_ids = {e.id};
        if (after) *after = EmbeddingStats{q->Int(0), q->Double(1)};
        return e;
      }
    }
    {
      VIGIL_ASSIGN_OR_RETURN(auto q,
                             db_->Prepare("INSERT INTO customer_embeddings (id, customer_id, model, dim, embedding, "
                                          "quality, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)"));
      q->Bind(e.id)
          .Bind(e.customer_id)
          .Bind(e.model)
          .Bind(static_cast<int64_t>(e.embedding.size()))
          .BindFloats(e.embedding)
          .Bind(e.quality)
          .Bind(e.created_at);
      Status st = q->Run();
      if (st.code() == StatusCode::kInvalidArgument) return NotFound("customer " + e.customer_id + " does not exist");
      VIGIL_RETURN_IF_ERROR(st);
    }
    // Keep the `keep` best: highest quality first, newer first among equals.
    std::vector<std::string> evict;
    EmbeddingStats kept;
    {
      VIGIL_ASSIGN_OR_RETURN(auto q,
                             db_->Prepare("SELECT id, quality FROM customer_embeddings WHERE customer_id = ? AND "
                                          "model = ? ORDER BY quality DESC, created_at DESC, id DESC"));
      q->Bind(e.customer_id).Bind(e.model);
      for (;;) {
        VIGIL_ASSIGN_OR_RETURN(bool row, q->Step());
        if (!row) break;
        if (kept.count < keep) {
          ++kept.count;
          kept.min_quality = q->Double(1);
        } else {
          evict.push_back(q->Text(0));
        }
      }
    }
    if (after) *after = kept;
    for (const auto& id : evict) {
      VIGIL_ASSIGN_OR_RETURN(auto q, db_->Prepare("DELETE FROM customer_embeddings WHERE id = ?"));
      q->Bind(id);
      VIGIL_RETURN_IF_ERROR(q->Run());
    }
    if (evicted_ids) *evicted_ids = std::move(evict);
    return e;
  }

  Result<std::vector<CustomerEmbedding>> ListCustomerEmbeddings(const std::string& customer_id) override {
    return ListAll<CustomerEmbedding>(std::string("SELECT ") + kEmbeddingCols +
                                          " FROM customer_embeddings WHERE customer_id = ? ORDER BY quality DESC, id",
                                      ReadEmbedding, customer_id);
  }

  Result<std::vector<CustomerEmbedding>> ListAllCustomerEmbeddings(const std::string& model) override {
    if (model.empty()) {
      return ListAll<CustomerEmbedding>(
          std::string("SELECT ") + kEmbeddingCols + " FROM customer_embeddings ORDER BY customer_id, id",
          ReadEmbedding);
    }
    return ListAll<CustomerEmbedding>(
        std::string("SELECT ") + kEmbeddingCols + " FROM customer_embeddings WHERE model = ? ORDER BY customer_id, id",
        ReadEmbedding, model);
  }

  // ------------------------------------------------------------ events

  Status InsertEvent(const FaceEvent& e) override {
    if (e.event_id.empty()) return InvalidArgument("event_id must not be empty");
    std::lock_guard<std::recursive_mutex> lock(mu_);
    VIGIL_ASSIGN_OR_RETURN(auto q, db_->Prepare(std::string("INSERT INTO events (") + kEventCols +
                                                ", dim) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
                                                "?, ?, ?, ?, ?)"));
    q->Bind(e.event_id)
        .Bind(e.worker_id)
        .Bind(e.camera_id)
        .Bind(e.site_id)
        .Bind(e.captured_at)
        .Bind(e.track_id)
        .Bind(e.bbox[0])
        .Bind(e.bbox[1])
        .Bind(e.bbox[2])
        .Bind(e.bbox[3])
        .Bind(e.det_score)
        .Bind(e.quality)
        .Bind(e.model)
        .BindFloats(e.embedding)
        .Bind(e.staff_id)
        .Bind(e.staff_similarity)
        .Bind(e.customer_id)
        .Bind(e.customer_similarity)
        .Bind(e.visit_id)
        .Bind(e.snapshot_id)
        .Bind(e.created_at != 0 ? e.created_at : clock_.NowUnixMs())
        .Bind(static_cast<int64_t>(e.embedding.size()));
    Status st = q->Run();
    if (st.code() == StatusCode::kAlreadyExists) return AlreadyExists("event " + e.event_id + " is already stored");
    return st;
  }

  Result<bool> EventExists(const std::string& event_id) override {
    ReadConn conn = ReadConnection();
    VIGIL_ASSIGN_OR_RETURN(auto q, conn.db->Prepare("SELECT 1 FROM events WHERE event_id = ?"));
    q->Bind(event_id);
    return q->Step();
  }

  Result<FaceEvent> GetEvent(const std::string& event_id) override {
    return GetOne<FaceEvent>(std::string("SELECT ") + kEventCols + " FROM events WHERE event_id = ?", event_id,
                             ReadEvent, "event");
  }

  Result<Page<FaceEvent>> ListEvents(const EventFilter& f, const PageRequest& page) override {
    std::string sql = std::string("SELECT ") + kEventCols + " FROM events WHERE 1 = 1";
    std::vector<Arg> args;
    AddEq(sql, args, "site_id", f.site_id);
    AddEq(sql, args, "camera_id", f.camera_id);
    AddEq(sql, args, "staff_id", f.staff_id);
    AddEq(sql, args, "customer_id", f.customer_id);
    AddRange(sql, args, "captured_at", f.from, f.to);
    return ListPage<FaceEvent>(sql, args, "captured_at", "event_id", page, ReadEvent,
                               [](const FaceEvent& e) { return EncodeCursor(e.captured_at, e.event_id); });
  }

  // ------------------------------------------------------------ visits

  Result<Visit> CreateVisit(Visit v) override {
    if (v.person_kind != "staff" && v.person_kind != "customer") {
      return InvalidArgument("visit person_kind must be 'staff' or 'customer'");
    }
    if (v.id.empty()) v.id = NewId();
    if (v.ended_at < v.started_at) v.ended_at = v.started_at;
    std::lock_guard<std::recursive_mutex> lock(mu_);
    VIGIL_ASSIGN_OR_RETURN(
        auto q, db_->Prepare(std::string("INSERT INTO visits (") + kVisitCols + ") VALUES (?, ?, ?, ?, ?, ?, ?, ?)"));
    q->Bind(v.id)
        .Bind(v.site_id)
        .Bind(v.person_kind)
        .Bind(v.staff_id)
        .Bind(v.customer_id)
        .Bind(v.started_at)
        .Bind(v.ended_at)
        .Bind(v.event_count);
    VIGIL_RETURN_IF_ERROR(q->Run());
    return v;
  }

  Result<Visit> GetVisit(const std::string& id) override {
    return GetOne<Visit>(std::string("SELECT ") + kVisitCols + " FROM visits WHERE id = ?", id, ReadVisit, "visit");
  }

  Result<std::optional<Visit>> LatestVisit(const std::optional<std::string>& site_id,
                                           const std::optional<std::string>& staff_id,
                                           const std::optional<std::string>& customer_id) override {
    if (staff_id.has_value() == customer_id.has_value()) {
      return InvalidArgument("LatestVisit needs exactly one of staff_id and customer_id");
    }
    const char* person_col = staff_id ? "staff_id" : "customer_id";
    ReadConn conn = ReadConnection();
    // "IS ?" compares NULL site ids as equal (IS NOT DISTINCT FROM in PostgreSQL).
    VIGIL_ASSIGN_OR_RETURN(auto q,
                           conn.db->Prepare(std::string("SELECT ") + kVisitCols + " FROM visits WHERE " + person_col +
                                            " = ? AND site_id IS ? ORDER BY started_at DESC LIMIT 1"));
    q->Bind(staff_id ? *staff_id : *customer_id).Bind(site_id);
    VIGIL_ASSIGN_OR_RETURN(bool row, q->Step());
    if (!row) return std::optional<Visit>();
    return std::optional<Visit>(ReadVisit(*q));
  }

  Status ExtendVisit(const std::string& visit_id, int64_t at, int64_t events) override {
    std::lock_guard<std::recursive_mutex> lock(mu_);
    int64_t started_at = 0;
    {
      // RETURNING (SQLite >= 3.35, PostgreSQL) saves a second statement per
      // event in the usual case below.
      VIGIL_ASSIGN_OR_RETURN(
          auto q, db_->Prepare("UPDATE visits SET ended_at = MAX(ended_at, ?), event_count = event_count + ? "
                               "WHERE id = ? RETURNING started_at"));
      q->Bind(at).Bind(events).Bind(visit_id);
      VIGIL_ASSIGN_OR_RETURN(bool row, q->Step());
      if (!row) return NotFound("visit " + visit_id + " does not exist");
      started_at = q->Int(0);
    }
    // started_at moves only for a late event; a separate statement keeps the
    // three started_at indexes untouched in the usual case.
    if (started_at <= at) return Status::Ok();
    VIGIL_ASSIGN_OR_RETURN(auto q, db_->Prepare("UPDATE visits SET started_at = ? WHERE id = ? AND started_at > ?"));
    q->Bind(at).Bind(visit_id).Bind(at);
    return q->Run();
  }

  Result<Page<Visit>> ListVisits(const VisitFilter& f, const PageRequest& page) override {
    std::string sql = std::string("SELECT ") + kVisitCols + " FROM visits WHERE 1 = 1";
    std::vector<Arg> args;
    AddEq(sql, args, "site_id", f.site_id);
    AddEq(sql, args, "staff_id", f.staff_id);
    AddEq(sql, args, "customer_id", f.customer_id);
    AddEq(sql, args, "person_kind", f.person_kind);
    if (f.camera_id) {
      sql += " AND EXISTS (SELECT 1 FROM events e WHERE e.visit_id = visits.id AND e.camera_id = ?)";
      args.emplace_back(*f.camera_id);
    }
    AddRange(sql, args, "started_at", f.from, f.to);
    return ListPage<Visit>(sql, args, "started_at", "id", page, ReadVisit,
                           [](const Visit& v) { return EncodeCursor(v.started_at, v.id); });
  }

  Status TouchCustomer(const std::string& customer_id, int64_t at, int64_t new_visits) override {
    std::lock_guard<std::recursive_mutex> lock(mu_);
    VIGIL_ASSIGN_OR_RETURN(
        auto q, db_->Prepare("UPDATE customers SET first_seen_at = MIN(first_seen_at, ?), "
                             "last_seen_at = MAX(last_seen_at, ?), visit_count = visit_count + ? WHERE id = ?"));
    q->Bind(at).Bind(at).Bind(new_visits).Bind(customer_id);
    return RunExpectingRow(*q, "customer " + customer_id);
  }

  // ------------------------------------------------------------ reports

  Result<std::vector<ReportRow>> VisitorReport(const ReportQuery& query) override {
    if (query.to <= query.from) return InvalidArgument("report range is empty: 'to' must be after 'from'");
    const char* fmt = query.bucket == ReportBucket::kHour  ? "%Y-%m-%dT%H"
                      : query.bucket == ReportBucket::kDay ? "%Y-%m-%d"
                                                           : "%w";
    // Each visit is placed by its start in the local time of its site
    // (vigil_tz_offset_s reads the zone's transitions, so DST is honoured).
    // A visit is "new" when it is the customer's first visit anywhere.
    std::string sql =
        "WITH cv AS ("
        " SELECT COALESCE(v.site_id, '') AS site_id, v.customer_id AS customer_id,"
        "  (v.started_at / 1000) + vigil_tz_offset_s(COALESCE(s.timezone, 'UTC'), v.started_at) AS local_s,"
        "  CASE WHEN NOT EXISTS (SELECT 1 FROM visits p WHERE p.customer_id = v.customer_id AND"
        "   (p.started_at < v.started_at OR (p.started_at = v.started_at AND p.id < v.id))) THEN 1 ELSE 0 END"
        "   AS is_first"
        " FROM visits v LEFT JOIN sites s ON s.id = v.site_id"
        " WHERE v.person_kind = 'customer' AND v.started_at >= ? AND v.started_at < ?";
    if (query.site_id) sql += " AND v.site_id = ?";
    sql += std::string(") SELECT site_id, strftime('") + fmt +
           "', local_s, 'unixepoch') AS bucket, COUNT(*), COUNT(DISTINCT customer_id),"
           " COUNT(DISTINCT CASE WHEN is_first = 1 THEN customer_id END)"
           " FROM cv GROUP BY site_id, bucket ORDER BY site_id, bucket";
    ReadConn conn = ReadConnection();
    VIGIL_ASSIGN_OR_RETURN(auto q, conn.db->Prepare(sql));
    q->Bind(query.from).Bind(query.to);
    if (query.site_id) q->Bind(*query.site_id);
    std::vector<ReportRow> rows;
    for (;;) {
      VIGIL_ASSIGN_OR_RETURN(bool row, q->Step());
      if (!row) break;
      ReportRow r;
      r.site_id = q->Text(0);
      r.bucket = q->Text(1);
      r.visits = q->Int(2);
      r.visitors = q->Int(3);
      r.new_visitors = q->Int(4);
      r.returning_visitors = r.visitors - r.new_visitors;
      rows.push_back(std::move(r));
    }
    return rows;
  }

  // ------------------------------------------------------------ snapshots

  Result<Snapshot> CreateSnapshot(Snapshot s) override {
    if (s.path.empty()) return InvalidArgument("snapshot path must not be empty");
    if (s.id.empty()) s.id = NewId();
    if (s.created_at == 0) s.created_at = clock_.NowUnixMs();
    std::lock_guard<std::recursive_mutex> lock(mu_);
    VIGIL_ASSIGN_OR_RETURN(auto q,
                           db_->Prepare("INSERT INTO snapshots (id, path, created_at, size) VALUES (?, ?, ?, ?)"));
    q->Bind(s.id).Bind(s.path).Bind(s.created_at).Bind(s.size);
    VIGIL_RETURN_IF_ERROR(q->Run());
    return s;
  }

  Result<Snapshot> GetSnapshot(const std::string& id) override {
    return GetOne<Snapshot>(std::string("SELECT ") + kSnapshotCols + " FROM snapshots WHERE id = ?", id, ReadSnapshot,
                            "snapshot");
  }

  Result<std::vector<Snapshot>> DeleteSnapshotsBefore(int64_t before_ms, int limit) override {
    std::vector<Snapshot> out;
    Status st = InTransaction([&](Repository&) -> Status {
      {
        VIGIL_ASSIGN_OR_RETURN(auto q,
                               db_->Prepare(std::string("SELECT ") + kSnapshotCols +
                                            " FROM snapshots WHERE created_at < ? ORDER BY created_at, id LIMIT ?"));
        q->Bind(before_ms).Bind(static_cast<int64_t>(std::max(limit, 1)));
        for (;;) {
          VIGIL_ASSIGN_OR_RETURN(bool row, q->Step());
          if (!row) break;
          out.push_back(ReadSnapshot(*q));
        }
      }
      for (const auto& s : out) {
        // events.snapshot_id is set null by the foreign key.
        VIGIL_ASSIGN_OR_RETURN(auto q, db_->Prepare("DELETE FROM snapshots WHERE id = ?"));
        q->Bind(s.id);
        VIGIL_RETURN_IF_ERROR(q->Run());
      }
      return Status::Ok();
    });
    if (!st.ok()) return st;
    return out;
  }

  std::vector<EngineMetric> EngineMetrics() const override {
    if (!checkpointer_) return {};  // :memory: has no WAL
    const WalCheckpointStats s = checkpointer_->Stats();
    auto d = [](int64_t v) { return static_cast<double>(v); };
    return {
        {"vigil_sqlite_wal_frames", "WAL frames (pages) after the latest commit.", false, d(s.last_wal_frames)},
        {"vigil_sqlite_wal_restarts_total", "Times the WAL started over from its beginning.", true, d(s.wal_restarts)},
        {"vigil_sqlite_checkpoints_total", "PASSIVE checkpoints run by the checkpoint thread.", true,
         d(s.background_runs)},
        {"vigil_sqlite_checkpoint_frames_total", "WAL frames the checkpoint thread copied into the database.", true,
         d(s.background_frames)},
        {"vigil_sqlite_checkpoint_errors_total",
         "Checkpoints (or the database syncs after them) by the checkpoint thread that failed.", true,
         d(s.background_errors)},
        {"vigil_sqlite_checkpoint_syncs_total", "Database-file syncs the checkpoint thread ran after copying frames.",
         true, d(s.background_db_syncs)},
        {"vigil_sqlite_writer_tail_checkpoints_total",
         "Short WAL tails the writer copied after a commit so the WAL could start over.", true, d(s.writer_tail_runs)},
        {"vigil_sqlite_writer_checkpoints_total",
         "Checkpoints the writer ran itself because the WAL reached its limit.", true, d(s.writer_runs)},
        {"vigil_sqlite_writer_checkpoint_max_seconds", "The longest checkpoint run on the writer's thread.", false,
         d(s.writer_max_us) / 1e6},
    };
  }

  Result<int64_t> CountRows(const std::string& table) override {
    static const std::set<std::string> kTables = {
        "sites",  "cameras", "workers",  "staff", "staff_faces", "customers", "customer_embeddings",
        "events", "visits",  "snapshots"};
    if (kTables.count(table) == 0) return InvalidArgument("unknown table " + table);
    ReadConn conn = ReadConnection();
    // The name comes from the fixed set above, never from the caller's text.
    VIGIL_ASSIGN_OR_RETURN(auto q, conn.db->Prepare("SELECT COUNT(*) FROM " + *kTables.find(table)));
    VIGIL_ASSIGN_OR_RETURN(bool row, q->Step());
    return row ? q->Int(0) : 0;
  }

 private:
  // A bound argument for dynamically built filters.
  using Arg = std::variant<std::string, int64_t>;

  static void AddEq(std::string& sql, std::vector<Arg>& args, const char* col, const std::optional<std::string>& v) {
    if (!v) return;
    sql += std::string(" AND ") + col + " = ?";
    args.emplace_back(*v);
  }

  static void AddRange(std::string& sql, std::vector<Arg>& args, const char* col, const std::optional<int64_t>& from,
                       const std::optional<int64_t>& to) {
    if (from) {
      sql += std::string(" AND ") + col + " >= ?";
      args.emplace_back(*from);
    }
    if (to) {
      sql += std::string(" AND ") + col + " < ?";
      args.emplace_back(*to);
    }
  }

  template <typename T, typename Reader, typename CursorOf>
  Result<Page<T>> ListPage(std::string sql, const std::vector<Arg>& args, const char* time_col, const char* id_col,
                           const PageRequest& page, Reader read, CursorOf cursor_of) {
    const int limit = ClampLimit(page.limit);
    int64_t ct = 0;
    std::string cid;
    if (page.cursor) {
      VIGIL_RETURN_IF_ERROR(DecodeCursor(*page.cursor, &ct, &cid));
      sql += std::string(" AND (") + time_col + " < ? OR (" + time_col + " = ? AND " + id_col + " < ?))";
    }
    sql += std::string(" ORDER BY ") + time_col + " DESC, " + id_col + " DESC LIMIT ?";
    ReadConn conn = ReadConnection();
    VIGIL_ASSIGN_OR_RETURN(auto q, conn.db->Prepare(sql));
    for (const auto& a : args) {
      if (std::holds_alternative<std::string>(a)) {
        q->Bind(std::get<std::string>(a));
      } else {
        q->Bind(std::get<int64_t>(a));
      }
    }
    if (page.cursor) q->Bind(ct).Bind(ct).Bind(cid);
    q->Bind(static_cast<int64_t>(limit) + 1);  // one extra row tells whether a next page exists
    Page<T> out;
    for (;;) {
      VIGIL_ASSIGN_OR_RETURN(bool row, q->Step());
      if (!row) break;
      out.items.push_back(read(*q));
    }
    if (static_cast<int>(out.items.size()) > limit) {
      out.items.resize(static_cast<size_t>(limit));
      out.next_cursor = cursor_of(out.items.back());
    }
    return out;
  }

  template <typename T, typename Reader, typename CursorOf>
  Result<Page<T>> ListPage(std::string sql, const std::vector<std::string>& text_args, const char* time_col,
                           const char* id_col, const PageRequest& page, Reader read, CursorOf cursor_of) {
    std::vector<Arg> args(text_args.begin(), text_args.end());
    return ListPage<T>(std::move(sql), args, time_col, id_col, page, read, cursor_of);
  }

  template <typename T, typename Reader>
  Result<T> GetOne(const std::string& sql, const std::string& id, Reader read, const char* what) {
    ReadConn conn = ReadConnection();
    VIGIL_ASSIGN_OR_RETURN(auto q, conn.db->Prepare(sql));
    q->Bind(id);
    VIGIL_ASSIGN_OR_RETURN(bool row, q->Step());
    if (!row) return NotFound(std::string(what) + " " + id + " does not exist");
    return read(*q);
  }

  template <typename T, typename Reader, typename... Args>
  Result<std::vector<T>> ListAll(const std::string& sql, Reader read, const Args&... args) {
    ReadConn conn = ReadConnection();
    VIGIL_ASSIGN_OR_RETURN(auto q, conn.db->Prepare(sql));
    (q->Bind(args), ...);
    std::vector<T> out;
    for (;;) {
      VIGIL_ASSIGN_OR_RETURN(bool row, q->Step());
      if (!row) break;
      out.push_back(read(*q));
    }
    return out;
  }

  Status RunExpectingRow(SqliteQuery& q, const std::string& what) {
    VIGIL_RETURN_IF_ERROR(q.Run());
    if (db_->Changes() == 0) return NotFound(what + " does not exist");
    return Status::Ok();
  }

  Status DeleteById(const std::string& sql, const std::string& id, const char* what) {
    std::lock_guard<std::recursive_mutex> lock(mu_);
    VIGIL_ASSIGN_OR_RETURN(auto q, db_->Prepare(sql));
    q->Bind(id);
    return RunExpectingRow(*q, std::string(what) + " " + id);
  }

  Status Migrate() {
    VIGIL_RETURN_IF_ERROR(db_->Exec(
        "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)"));
    VIGIL_ASSIGN_OR_RETURN(int current, SchemaVersion());
    const auto& migrations = SqliteMigrations();
    const int latest = static_cast<int>(migrations.size());
    if (current > latest) {
      return FailedPrecondition("database schema version " + std::to_string(current) +
                                " is newer than this build understands (" + std::to_string(latest) +
                                "); upgrade vigil");
    }
    for (int v = current + 1; v <= latest; ++v) {
      Status st = InTransaction([&](Repository&) -> Status {
        // Re-check under the write lock: another process may have migrated meanwhile.
        VIGIL_ASSIGN_OR_RETURN(int now, SchemaVersion());
        if (now >= v) return Status::Ok();
        VIGIL_RETURN_IF_ERROR(db_->Exec(migrations[static_cast<size_t>(v - 1)]));
        VIGIL_ASSIGN_OR_RETURN(auto q, db_->Prepare("INSERT INTO schema_version (version, applied_at) VALUES (?, ?)"));
        q->Bind(static_cast<int64_t>(v)).Bind(clock_.NowUnixMs());
        return q->Run();
      });
      if (!st.ok()) return st.WithContext("migration " + std::to_string(v));
      log_->info("msg=\"schema migrated\" version={}", v);
    }
    return Status::Ok();
  }

  std::string NewId() { return NewTimeOrderedUuid(clock_.NowUnixMs()); }

  // A connection for a read, held (locked) for the lifetime of the value.
  struct ReadConn {
    std::unique_lock<std::recursive_mutex> lock;
    SqliteDb* db;
  };

  // Reads use the separate reader connection so they run concurrently with a
  // write transaction (WAL), except on the thread inside a transaction, which
  // must see its own uncommitted rows through the writer connection.
  ReadConn ReadConnection() {
    if (!reader_ || tx_owner_.load() == std::this_thread::get_id()) {
      return ReadConn{std::unique_lock<std::recursive_mutex>(mu_), db_.get()};
    }
    return ReadConn{std::unique_lock<std::recursive_mutex>(reader_mu_), reader_.get()};
  }

  std::recursive_mutex mu_;
  std::unique_ptr<SqliteDb> db_;             // the writer; guarded by mu_
  std::atomic<std::thread::id> tx_owner_{};  // the thread inside a transaction, if any
  std::recursive_mutex reader_mu_;
  std::unique_ptr<SqliteDb> reader_;  // null for :memory: databases; guarded by reader_mu_
  Clock& clock_;
  int tx_depth_ = 0;  // guarded by mu_
  TimeZoneCache tz_cache_;
  std::shared_ptr<spdlog::logger> log_ = GetLogger("storage");
  // Last, so it stops before the connections close; null for :memory:.
  std::unique_ptr<WalCheckpointer> checkpointer_;
};

// "sqlite:///abs", "sqlite://rel", "sqlite::memory:" -> a path for sqlite3_open.
Result<std::string> SqlitePath(const std::string& url) {
  if (url == "sqlite::memory:" || url == "sqlite://:memory:") return std::string(":memory:");
  const std::string prefix = "sqlite://";
  if (url.rfind(prefix, 0) != 0) return InvalidArgument("not a sqlite URL: " + url);
  std::string path = url.substr(prefix.size());
  if (path.empty()) return InvalidArgument("DATABASE_URL has no path: " + url);
  // Query strings are not supported; a '?' would otherwise become part of the file name.
  if (path.find('?') != std::string::npos) return InvalidArgument("DATABASE_URL options are not supported: " + url);
  return path;
}

}  // namespace

Result<RepositoryPtr> OpenRepository(const std::string& database_url, const RepositoryOptions& options) {
  if (database_url.rfind("postgresql://", 0) == 0 || database_url.rfind("postgres://", 0) == 0) {
    return Unimplemented("PostgreSQL storage is not implemented yet; use DATABASE_URL=sqlite:///path/vigil.db");
  }
  if (database_url.rfind("sqlite:", 0) != 0) {
    return InvalidArgument("DATABASE_URL must start with sqlite:// or postgresql://, got '" + database_url + "'");
  }
  VIGIL_ASSIGN_OR_RETURN(std::string path, SqlitePath(database_url));
  if (path != ":memory:") {
    std::error_code ec;
    const auto parent = std::filesystem::path(path).parent_path();
    if (!parent.empty()) std::filesystem::create_directories(parent, ec);
    if (ec) return Unavailable("cannot create directory " + parent.string() + ": " + ec.message());
  }
  VIGIL_ASSIGN_OR_RETURN(auto db, SqliteDb::Open(path, options.busy_timeout_ms, options.synchronous_full));
  auto repo =
      std::make_unique<SqliteRepository>(std::move(db), options.clock ? *options.clock : SystemClock::Instance());
  std::function<Result<std::unique_ptr<SqliteDb>>()> open_reader;
  if (path != ":memory:") {
    open_reader = [&] { return SqliteDb::Open(path, options.busy_timeout_ms, options.synchronous_full); };
  }
  VIGIL_RETURN_IF_ERROR(repo->Init(open_reader));
  return RepositoryPtr(std::move(repo));
}

}  // namespace vigil::storage
