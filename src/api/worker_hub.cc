#include "api/worker_hub.h"

#include <pthread.h>
#include <time.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <utility>

#include "api/camera_assigner.h"
#include "core/logging.h"
#include "core/uuid.h"
#include "protocol/codec.h"

namespace vigil::api {

namespace fs = std::filesystem;
namespace proto = vigil::protocol;

namespace {

std::shared_ptr<spdlog::logger> Log() {
  static auto log = GetLogger("hub");
  return log;
}

bool LooksLikeJpeg(std::string_view b) {
  return b.size() >= 3 && static_cast<unsigned char>(b[0]) == 0xFF && static_cast<unsigned char>(b[1]) == 0xD8 &&
         static_cast<unsigned char>(b[2]) == 0xFF;
}

// CPU time the calling thread has used, in seconds.
double ThreadCpuSeconds() {
  timespec ts{};
  if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) != 0) return 0;
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

bool IsPermanent(StatusCode c) {
  return c == StatusCode::kInvalidArgument || c == StatusCode::kNotFound || c == StatusCode::kAlreadyExists ||
         c == StatusCode::kFailedPrecondition;
}

}  // namespace

WorkerHub::WorkerHub(storage::Repository& repo, storage::EventIngestor& ingestor, Clock& clock, Metrics& metrics,
                     HubOptions options)
    : repo_(repo), ingestor_(ingestor), clock_(clock), metrics_(metrics), options_(std::move(options)) {
  metrics_.Describe("vigil_events_ingested_total", "Face events committed to the database.");
  metrics_.Describe("vigil_events_duplicate_total", "Face events received again and acked without storing.");
  metrics_.Describe("vigil_events_rejected_total", "Face events refused as invalid (acked, not stored).");
  metrics_.Describe("vigil_events_failed_total", "Face events not committed because of a database failure.");
  metrics_.Describe("vigil_events_dropped_total", "Face events refused because the ingest queue was full.");
  metrics_.Describe("vigil_event_ack_latency_seconds", "Time from reading an event to sending its ack.");
  metrics_.Describe("vigil_ingest_batch_seconds",
                    "Time the ingest thread spends on one batch: match, transaction, commit and acks.");
  metrics_.Describe("vigil_ingest_batch_cpu_seconds",
                    "CPU time the ingest thread uses for one batch; well below vigil_ingest_batch_seconds means it "
                    "waits (other threads on its cores, disk flushes).");
  metrics_.Describe("vigil_worker_read_pauses_total",
                    "Times a worker socket stopped being read because the ingest queue was over its high-water mark.");
}

WorkerHub::~WorkerHub() {
  {
    std::lock_guard lock(queue_mu_);
    stopping_ = true;
  }
  queue_cv_.notify_all();
  if (ingest_thread_.joinable()) ingest_thread_.join();
}

Status WorkerHub::Start() {
  VIGIL_RETURN_IF_ERROR(repo_.MarkAllWorkersOffline());
  std::error_code ec;
  fs::create_directories(fs::path(options_.data_dir) / "snapshots", ec);
  if (ec) return Unavailable("cannot create " + options_.data_dir + "/snapshots: " + ec.message());
  // Versions only grow, also across restarts: workers compare them.
  gallery_version_ = clock_.NowUnixMs();
  ingest_thread_ = std::thread([this] { IngestLoop(); });
  return Status::Ok();
}

WorkerHub::SessionId WorkerHub::Open(WorkerConnectionPtr conn) {
  std::lock_guard lock(mu_);
  SessionId id = next_id_++;
  Session s;
  s.conn = std::move(conn);
  s.last_seen = clock_.SteadyNow();
  sessions_.emplace(id, std::move(s));
  return id;
}

void WorkerHub::Send(SessionId id, std::string text) {
  WorkerConnectionPtr conn;
  {
    std::lock_guard lock(mu_);
    auto it = sessions_.find(id);
    if (it == sessions_.end()) return;
    conn = it->second.conn;
  }
  conn->SendText(std::move(text));
}

void WorkerHub::CloseSession(SessionId id, uint16_t code, const std::string& reason) {
  WorkerConnectionPtr conn;
  {
    std::lock_guard lock(mu_);
    auto it = sessions_.find(id);
    if (it == sessions_.end()) return;
    conn = it->second.conn;
  }
  conn->Close(code, reason);
}

void WorkerHub::BadMessage(SessionId id, const std::string& code, const std::string& message, bool counts) {
  bool close = false;
  {
    std::lock_guard lock(mu_);
    auto it = sessions_.find(id);
    if (it == sessions_.end()) return;
    if (counts) close = ++it->second.bad_in_row >= proto::kMaxConsecutiveBadMessages;
  }
  metrics_.Inc("vigil_worker_bad_messages_total");
  Send(id, proto::Encode(proto::Error{code, message}));
  if (close) CloseSession(id, proto::kCloseProtocolViolation, "too many malformed messages");
}

void WorkerHub::OnText(SessionId id, std::string_view text) {
  auto decoded = proto::DecodeText(text);
  if (!decoded.ok()) {
    bool unknown = proto::IsUnknownType(decoded.status());
    BadMessage(id, std::string(proto::ErrorCodeFor(decoded.status())), decoded.status().message(), !unknown);
    return;
  }
  bool hello_done;
  {
    std::lock_guard lock(mu_);
    auto it = sessions_.find(id);
    if (it == sessions_.end()) return;
    it->second.bad_in_row = 0;
    hello_done = !it->second.worker_id.empty();
  }
  proto::Message& m = *decoded;
  if (auto* hello = std::get_if<proto::Hello>(&m)) {
    if (hello_done) return BadMessage(id, std::string(proto::kErrorBadMessage), "hello was already sent", true);
    return HandleHello(id, std::move(*hello));
  }
  if (!hello_done) {
    Send(id, proto::Encode(proto::Error{std::string(proto::kErrorBadMessage), "the first message must be hello"}));
    return CloseSession(id, proto::kCloseProtocolViolation, "hello expected");
  }
  if (auto* hb = std::get_if<proto::Heartbeat>(&m)) return HandleHeartbeat(id, *hb);
  if (auto* ev = std::get_if<proto::Event>(&m)) return HandleEvent(id, std::move(*ev));
  if (auto* bye = std::get_if<proto::Goodbye>(&m)) return HandleGoodbye(id, *bye);
  BadMessage(id, std::string(proto::kErrorBadMessage),
             "message type '" + std::string(proto::TypeName(m)) + "' is not sent by workers", true);
}

void WorkerHub::HandleHello(SessionId id, proto::Hello hello) {
  if (hello.protocol != proto::kProtocolVersion) {
    Send(id, proto::Encode(proto::Error{std::string(proto::kErrorUnsupportedVersion),
                                        "this API speaks protocol version 1, got " + std::to_string(hello.protocol)}));
    return CloseSession(id, proto::kCloseUnsupportedVersion, "unsupported protocol version");
  }
  auto now = clock_.SteadyNow();
  auto timeout = options_.heartbeat_interval * proto::kMissedHeartbeatsForTimeout;
  WorkerConnectionPtr replaced;
  {
    std::lock_guard lock(mu_);
    auto self = sessions_.find(id);
    if (self == sessions_.end()) return;
    auto it = by_worker_.find(hello.worker_id);
    if (it != by_worker_.end() && it->second != id) {
      auto old = sessions_.find(it->second);
      if (old != sessions_.end() && now - old->second.last_seen < timeout) {
        Log()->warn("duplicate worker refused worker_id={}", LogValue(hello.worker_id));
        metrics_.Inc("vigil_worker_duplicates_refused_total");
        auto conn = self->second.conn;
        conn->SendText(proto::Encode(proto::Error{std::string(proto::kErrorDuplicateWorker),
                                                  "worker_id '" + hello.worker_id + "' already has a live session"}));
        conn->Close(proto::kCloseDuplicateWorker, "duplicate worker_id");
        return;
      }
      if (old != sessions_.end()) {
        old->second.live = false;
        replaced = old->second.conn;
      }
      by_worker_.erase(it);
    }
    Session& s = self->second;
    s.worker_id = hello.worker_id;
    s.live = true;
    s.last_seen = now;
    s.max_cameras = static_cast<int>(hello.capabilities.max_cameras);
    s.models = hello.capabilities.models;
    by_worker_[hello.worker_id] = id;
  }
  if (replaced) replaced->Close(kCloseHeartbeatTimeout, "replaced by a new session after missed heartbeats");

  Json hello_json = proto::ToJson(proto::Message(hello));
  storage::Worker w;
  w.id = hello.worker_id;
  w.host = hello.host;
  w.version = hello.version;
  w.capabilities = DumpJson(hello_json.value("capabilities", Json::object()));
  Status st = repo_.UpsertWorkerHello(w, clock_.NowUnixMs()).status();
  for (const auto& lc : hello.cameras) {
    if (!st.ok()) break;
    auto existing = repo_.GetCamera(lc.id);
    if (existing.ok()) {
      if (existing->worker_id != hello.worker_id) st = repo_.SetCameraAssignment(lc.id, hello.worker_id);
    } else if (existing.status().code() == StatusCode::kNotFound) {
      storage::Camera c;
      c.id = lc.id;
      c.name = lc.name.empty() ? lc.id : lc.name;
      c.url = lc.url;
      c.enabled = true;
      c.pinned = true;
      c.fps = options_.default_camera_fps;
      c.worker_id = hello.worker_id;
      c.state = "assigned";
      st = repo_.CreateCamera(c).status();
    } else {
      st = existing.status();
    }
  }
  if (!st.ok()) {
    Log()->error("hello failed worker_id={} error={}", LogValue(hello.worker_id), LogValue(st.ToString()));
    Send(id, proto::Encode(proto::Error{std::string(proto::kErrorInternal), "the API could not register the worker"}));
    CloseSession(id, 1011, "internal error");
    return;
  }
  Log()->info("worker online worker_id={} host={} cameras={}", LogValue(hello.worker_id), LogValue(hello.host),
              hello.cameras.size());
  metrics_.Inc("vigil_worker_sessions_total");
  Publish({{"type", "worker"}, {"worker", {{"id", hello.worker_id}, {"status", "online"}, {"host", hello.host}}}});
  std::lock_guard assign_lock(assign_mu_);
  Status rs = ReassignLocked(id);
  if (!rs.ok()) Log()->error("assignment failed error={}", LogValue(rs.ToString()));
}

void WorkerHub::HandleHeartbeat(SessionId id, const proto::Heartbeat& hb) {
  std::string worker_id;
  std::vector<std::pair<std::string, std::string>> changed;
  {
    std::lock_guard lock(mu_);
    auto it = sessions_.find(id);
    if (it == sessions_.end() || !it->second.live) return;
    Session& s = it->second;
    s.last_seen = clock_.SteadyNow();
    worker_id = s.worker_id;
    for (const auto& c : hb.cameras) {
      auto& last = s.camera_states[c.id];
      if (last != c.state) {
        last = c.state;
        changed.emplace_back(c.id, c.state);
      }
    }
  }
  Json j = proto::ToJson(proto::Message(hb));
  j.erase("type");
  Status st = repo_.RecordHeartbeat(worker_id, DumpJson(j), clock_.NowUnixMs());
  if (!st.ok()) Log()->warn("heartbeat not stored worker_id={} error={}", LogValue(worker_id), LogValue(st.ToString()));
  for (const auto& [cam, state] : changed) {
    Status cs = repo_.SetCameraState(cam, state);
    if (!cs.ok() && cs.code() != StatusCode::kNotFound) {
      Log()->warn("camera state not stored camera_id={} error={}", LogValue(cam), LogValue(cs.ToString()));
    }
  }
  Publish({{"type", "worker"},
           {"worker",
            {{"id", worker_id},
             {"status", "online"},
             {"state", hb.state},
             {"cameras", j.value("cameras", Json::array())},
             {"stats", j.value("stats", Json::object())}}}});
}

void WorkerHub::HandleEvent(SessionId id, proto::Event ev) {
  Queued q;
  {
    std::lock_guard lock(mu_);
    auto it = sessions_.find(id);
    if (it == sessions_.end() || !it->second.live) return;
    Session& s = it->second;
    if (ev.worker_id != s.worker_id) {
      // Falls through to BadMessage below, outside the lock.
      q.session = 0;
    } else {
      q.session = id;
      auto snap = s.snapshots.find(ev.event_id);
      if (snap != s.snapshots.end()) {
        if (ev.has_snapshot) q.snapshot = std::move(snap->second);
        s.snapshots.erase(snap);
        s.snapshot_order.erase(std::find(s.snapshot_order.begin(), s.snapshot_order.end(), ev.event_id));
      }
    }
  }
  if (q.session == 0) {
    return BadMessage(id, std::string(proto::kErrorBadMessage), "event.worker_id does not match the hello", true);
  }
  q.event = std::move(ev);
  q.received = std::chrono::steady_clock::now();
  {
    std::lock_guard lock(queue_mu_);
    if (stopping_ || queue_.size() >= options_.max_queue) {
      metrics_.Inc("vigil_events_dropped_total");
      return;  // not acked: the worker keeps it spooled and sends it again
    }
    queue_.push_back(std::move(q));
  }
  queue_cv_.notify_one();
}

void WorkerHub::HandleGoodbye(SessionId id, const proto::Goodbye& bye) {
  std::string worker_id;
  {
    std::lock_guard lock(mu_);
    auto it = sessions_.find(id);
    if (it == sessions_.end() || !it->second.live) return;
    worker_id = it->second.worker_id;
  }
  Json stats = proto::ToJson(proto::Message(bye)).value("stats", Json::object());
  Json j = {{"state", "stopped"}, {"stats", stats}, {"reason", bye.reason}};
  Status st = repo_.RecordHeartbeat(worker_id, DumpJson(j), clock_.NowUnixMs());
  if (!st.ok()) Log()->warn("goodbye stats not stored worker_id={}", LogValue(worker_id));
  Log()->info("worker said goodbye worker_id={} reason={}", LogValue(worker_id), LogValue(bye.reason));
}

void WorkerHub::OnBinary(SessionId id, std::string_view frame) {
  auto decoded = proto::DecodeBinary(frame);
  if (!decoded.ok()) {
    return BadMessage(id, std::string(proto::kErrorBadMessage), decoded.status().message(), true);
  }
  if (decoded->type == proto::kBinaryTypeSnapshot) {
    auto header = proto::ParseSnapshotHeader(decoded->header);
    if (!header.ok()) return BadMessage(id, std::string(proto::kErrorBadMessage), header.status().message(), true);
    if (!LooksLikeJpeg(decoded->payload)) {
      return BadMessage(id, std::string(proto::kErrorBadMessage), "snapshot payload is not a JPEG", true);
    }
    std::lock_guard lock(mu_);
    auto it = sessions_.find(id);
    if (it == sessions_.end() || !it->second.live) return;
    Session& s = it->second;
    it->second.bad_in_row = 0;
    if (!s.snapshots.count(header->event_id)) s.snapshot_order.push_back(header->event_id);
    s.snapshots[header->event_id] = std::move(decoded->payload);
    // Bounded: a snapshot whose event never comes is dropped oldest first.
    while (s.snapshot_order.size() > options_.max_pending_snapshots) {
      s.snapshots.erase(s.snapshot_order.front());
      s.snapshot_order.pop_front();
    }
    return;
  }
  if (decoded->type == proto::kBinaryTypeFrame) {
    auto header = proto::ParseStreamFrameHeader(decoded->header);
    if (!header.ok()) return BadMessage(id, std::string(proto::kErrorBadMessage), header.status().message(), true);
    {
      std::lock_guard lock(mu_);
      auto it = sessions_.find(id);
      if (it == sessions_.end() || !it->second.live) return;
      it->second.bad_in_row = 0;
    }
    if (frame_sink_) frame_sink_(header->camera_id, decoded->header, decoded->payload);
    return;
  }
  BadMessage(id, std::string(proto::kErrorUnknownType), "unknown binary frame type '" + decoded->type + "'", false);
}

void WorkerHub::OnClosed(SessionId id) {
  std::string worker_id;
  {
    std::lock_guard lock(mu_);
    auto it = sessions_.find(id);
    if (it == sessions_.end()) return;
    if (it->second.live) {
      worker_id = it->second.worker_id;
      auto bw = by_worker_.find(worker_id);
      if (bw != by_worker_.end() && bw->second == id) by_worker_.erase(bw);
    }
    sessions_.erase(it);
  }
  if (worker_id.empty()) return;
  WorkerWentOffline(worker_id);
  Status st = Reassign();
  if (!st.ok()) Log()->error("reassignment failed error={}", LogValue(st.ToString()));
}

void WorkerHub::WorkerWentOffline(const std::string& worker_id) {
  Log()->info("worker offline worker_id={}", LogValue(worker_id));
  if (worker_gone_) worker_gone_(worker_id);
  Status st = repo_.MarkWorkerOffline(worker_id);
  if (!st.ok()) Log()->warn("cannot mark worker offline worker_id={}", LogValue(worker_id));
  Publish({{"type", "worker"}, {"worker", {{"id", worker_id}, {"status", "offline"}}}});
}

void WorkerHub::CheckHeartbeats() {
  auto now = clock_.SteadyNow();
  auto timeout = options_.heartbeat_interval * proto::kMissedHeartbeatsForTimeout;
  std::vector<std::pair<WorkerConnectionPtr, std::string>> dropped;
  {
    std::lock_guard lock(mu_);
    for (auto& [id, s] : sessions_) {
      // A paused session is silent because the API stopped reading it.
      if (!s.live || s.paused || now - s.last_seen <= timeout) continue;
      s.live = false;
      by_worker_.erase(s.worker_id);
      dropped.emplace_back(s.conn, s.worker_id);
    }
  }
  if (dropped.empty()) return;
  for (auto& [conn, worker_id] : dropped) {
    Log()->warn("worker missed heartbeats worker_id={}", LogValue(worker_id));
    metrics_.Inc("vigil_worker_heartbeat_timeouts_total");
    conn->Close(kCloseHeartbeatTimeout, "heartbeat timeout");
    WorkerWentOffline(worker_id);
  }
  Status st = Reassign();
  if (!st.ok()) Log()->error("reassignment failed error={}", LogValue(st.ToString()));
}

Status WorkerHub::Reassign() {
  std::lock_guard assign_lock(assign_mu_);
  return ReassignLocked(std::nullopt);
}

Status WorkerHub::ReassignLocked(std::optional<SessionId> welcome_for) {
  VIGIL_ASSIGN_OR_RETURN(auto cameras, repo_.ListCameras());
  std::vector<AssignableWorker> online;
  {
    std::lock_guard lock(mu_);
    for (const auto& [wid, sid] : by_worker_) online.push_back({wid, sessions_.at(sid).max_cameras});
  }
  std::vector<AssignableCamera> input;
  for (const auto& c : cameras) input.push_back({c.id, c.enabled, c.pinned, c.worker_id});
  auto result = AssignCameras(input, online);

  std::map<std::string, std::vector<proto::CameraAssignment>> per_worker;
  for (const auto& c : cameras) {
    const auto& target = result[c.id];
    if (c.pinned) {
      // The pinning worker stays recorded while it is away; only the state says so.
      std::string state = target ? (c.state == "unassigned" || c.state == "worker_offline" ? "assigned" : c.state)
                                 : "worker_offline";
      if (state != c.state) VIGIL_RETURN_IF_ERROR(repo_.SetCameraState(c.id, state));
    } else if (target != c.worker_id) {
      VIGIL_RETURN_IF_ERROR(repo_.SetCameraAssignment(c.id, target));
      VIGIL_RETURN_IF_ERROR(repo_.SetCameraState(c.id, target ? "assigned" : "unassigned"));
    } else if (!target && c.state != "unassigned") {
      VIGIL_RETURN_IF_ERROR(repo_.SetCameraState(c.id, "unassigned"));
    }
    if (target) {
      per_worker[*target].push_back(proto::CameraAssignment{c.id, c.name, c.url, c.site_id,
                                                            c.fps > 0 ? c.fps : options_.default_camera_fps});
    }
  }

  std::vector<std::pair<WorkerConnectionPtr, std::string>> out;
  std::vector<std::string> welcome_models;
  WorkerConnectionPtr welcome_conn;
  {
    std::lock_guard lock(mu_);
    for (auto& [wid, sid] : by_worker_) {
      Session& s = sessions_.at(sid);
      auto& list = per_worker[wid];
      if (welcome_for && sid == *welcome_for) {
        proto::Welcome w;
        w.session_id = NewUuid();
        w.heartbeat_interval_ms = options_.heartbeat_interval.count();
        w.cameras = list;
        w.gallery_version = gallery_version_.load();
        out.emplace_back(s.conn, proto::Encode(w));
        welcome_conn = s.conn;
        welcome_models = s.models;
        s.assigned = list;
      } else if (!s.assigned || *s.assigned != list) {
        // Any change (a camera added, removed, or its URL/fps edited) resends the full set.
        out.emplace_back(s.conn, proto::Encode(proto::Assign{list}));
        s.assigned = list;
      }
    }
  }
  for (auto& [conn, text] : out) conn->SendText(std::move(text));
  if (welcome_conn) {
    for (auto& g : FullGalleries(welcome_models)) welcome_conn->SendText(proto::Encode(g));
  }
  return Status::Ok();
}

std::vector<proto::Gallery> WorkerHub::FullGalleries(const std::vector<std::string>& models) {
  std::vector<proto::Gallery> out;
  auto staff = repo_.ListStaff();
  std::map<std::string, std::string> names;
  if (staff.ok()) {
    for (const auto& s : *staff) names[s.id] = s.name;
  }
  for (const auto& model : models) {
    proto::Gallery g;
    g.version = gallery_version_.load();
    g.full = true;
    g.model = model;
    auto faces = repo_.ListAllStaffFaces(model);
    if (!faces.ok()) {
      Log()->error("cannot read staff gallery model={} error={}", LogValue(model), LogValue(faces.status().ToString()));
      continue;  // no full snapshot rather than an empty one that would wipe the worker's copy
    }
    for (auto& f : *faces) g.upsert.push_back({f.staff_id, names[f.staff_id], f.id, std::move(f.embedding)});
    out.push_back(std::move(g));
  }
  return out;
}

void WorkerHub::PublishGalleryDelta(const std::string& model, std::vector<proto::GalleryEntry> upsert,
                                    std::vector<std::string> remove) {
  std::lock_guard assign_lock(assign_mu_);  // ordered with welcome + full snapshots
  proto::Gallery g;
  g.version = ++gallery_version_;
  g.full = false;
  g.model = model;
  g.upsert = std::move(upsert);
  g.remove = std::move(remove);
  std::string text = proto::Encode(g);
  std::vector<WorkerConnectionPtr> targets;
  {
    std::lock_guard lock(mu_);
    for (const auto& [wid, sid] : by_worker_) {
      const Session& s = sessions_.at(sid);
      if (std::find(s.models.begin(), s.models.end(), model) != s.models.end()) targets.push_back(s.conn);
    }
  }
  for (auto& c : targets) c->SendText(text);
}

bool WorkerHub::SendCommand(const std::string& worker_id, const proto::Command& cmd) {
  WorkerConnectionPtr conn;
  {
    std::lock_guard lock(mu_);
    auto it = by_worker_.find(worker_id);
    if (it == by_worker_.end()) return false;
    conn = sessions_.at(it->second).conn;
  }
  conn->SendText(proto::Encode(cmd));
  return true;
}

void WorkerHub::Shutdown() {
  std::vector<std::function<void()>> resumes;
  {
    std::unique_lock lock(queue_mu_);
    if (shut_down_) return;
    shut_down_ = true;
    stopping_ = true;
    resumes = EndBackpressureLocked();
    queue_cv_.notify_all();
  }
  ResumeReaders(std::move(resumes));
  if (ingest_thread_.joinable()) ingest_thread_.join();  // drains the queue first
  std::vector<WorkerConnectionPtr> conns;
  {
    std::lock_guard lock(mu_);
    for (auto& [id, s] : sessions_) conns.push_back(s.conn);
  }
  for (auto& c : conns) c->Close(proto::kCloseGoingAway, "going away");
}

bool WorkerHub::ReadyForMore(SessionId id, std::function<void()> resume) {
  std::lock_guard qlock(queue_mu_);
  if (stopping_) return true;  // nothing is queued any more; let closes be read
  if (!backpressure_ && queue_.size() >= options_.pause_queue_high) backpressure_ = true;
  if (!backpressure_) return true;
  {
    // Nested (queue_mu_ then mu_, never the other way round) so that a resume
    // cannot slip between registering the callback and marking the session.
    std::lock_guard lock(mu_);
    auto it = sessions_.find(id);
    if (it == sessions_.end()) return true;  // closing: reading finds out
    it->second.paused = true;
  }
  resume_.push_back(std::move(resume));
  metrics_.Inc("vigil_worker_read_pauses_total");
  return false;
}

std::vector<std::function<void()>> WorkerHub::EndBackpressureLocked() {
  backpressure_ = false;
  if (resume_.empty()) return {};
  auto now = clock_.SteadyNow();
  {
    std::lock_guard lock(mu_);
    for (auto& [id, s] : sessions_) {
      if (!s.paused) continue;
      s.paused = false;
      s.last_seen = now;
    }
  }
  return std::exchange(resume_, {});
}

void WorkerHub::ResumeReaders(std::vector<std::function<void()>> resumes) {
  for (auto& r : resumes) r();
}

size_t WorkerHub::PausedSessions() const {
  std::lock_guard lock(mu_);
  size_t n = 0;
  for (const auto& [id, s] : sessions_) n += s.paused ? 1 : 0;
  return n;
}

bool WorkerHub::IsOnline(const std::string& worker_id) const {
  std::lock_guard lock(mu_);
  return by_worker_.count(worker_id) > 0;
}

size_t WorkerHub::OnlineWorkers() const {
  std::lock_guard lock(mu_);
  return by_worker_.size();
}

size_t WorkerHub::IngestQueueDepth() const {
  std::lock_guard lock(queue_mu_);
  return queue_.size() + in_flight_;
}

int64_t WorkerHub::gallery_version() const { return gallery_version_.load(); }

void WorkerHub::Publish(const Json& j) {
  if (live_) live_(j);
}

void WorkerHub::IngestLoop() {
  // Named so that `top -H` and perf show the ingest thread's share apart
  // from the I/O threads (its CPU per event bounds the ingest rate).
  pthread_setname_np(pthread_self(), "vigil-ingest");
  for (;;) {
    std::vector<Queued> batch;
    std::vector<std::function<void()>> resumes;
    {
      std::unique_lock lock(queue_mu_);
      queue_cv_.wait(lock, [&] { return !queue_.empty() || stopping_; });
      if (queue_.empty()) return;  // stopping, and everything was committed
      size_t n = std::min(queue_.size(), options_.max_batch);
      batch.reserve(n);
      for (size_t i = 0; i < n; ++i) {
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
      in_flight_ = n;
      if (backpressure_ && queue_.size() <= options_.resume_queue_low) resumes = EndBackpressureLocked();
    }
    // Readers resume while this batch commits, so the next one is building up.
    ResumeReaders(std::move(resumes));
    IngestBatch(std::move(batch));
    std::lock_guard lock(queue_mu_);
    in_flight_ = 0;
  }
}

void WorkerHub::IngestBatch(std::vector<Queued> batch) {
  const auto started = std::chrono::steady_clock::now();
  const double cpu_started = ThreadCpuSeconds();
  const fs::path data_dir(options_.data_dir);
  std::vector<storage::IngestEvent> events;
  std::vector<std::optional<fs::path>> files;
  events.reserve(batch.size());
  for (auto& q : batch) {
    const proto::Event& e = q.event;
    storage::IngestEvent ie;
    ie.event_id = e.event_id;
    ie.worker_id = e.worker_id;
    ie.camera_id = e.camera_id;
    ie.site_id = e.site_id;
    ie.captured_at = e.captured_at_ms;
    ie.track_id = e.track_id;
    ie.bbox = {e.bbox[0], e.bbox[1], e.bbox[2], e.bbox[3]};
    ie.det_score = e.det_score;
    ie.quality = e.quality;
    ie.model = e.model;
    ie.embedding = e.embedding;
    ie.staff_id = e.staff_id;
    ie.staff_similarity = e.staff_similarity;
    std::optional<fs::path> file;
    if (q.snapshot) {
      // Server-chosen name; the worker's event id never becomes a path.
      std::string rel = "snapshots/" + NewUuid() + ".jpg";
      fs::path full = data_dir / rel;
      std::ofstream out(full, std::ios::binary | std::ios::trunc);
      out.write(q.snapshot->data(), static_cast<std::streamsize>(q.snapshot->size()));
      out.close();
      if (out) {
        ie.snapshot_path = rel;
        ie.snapshot_size = static_cast<int64_t>(q.snapshot->size());
        file = full;
      } else {
        std::error_code ec;
        fs::remove(full, ec);
        Log()->warn("cannot write snapshot event_id={}", LogValue(e.event_id));
      }
    }
    files.push_back(std::move(file));
    events.push_back(std::move(ie));
  }
  auto remove_file = [&](size_t i) {
    if (files[i]) {
      std::error_code ec;
      fs::remove(*files[i], ec);
    }
  };

  Result<storage::BatchOutcome> res = Status(StatusCode::kInternal, "not run");
  for (int attempt = 0; attempt < 4; ++attempt) {
    res = ingestor_.IngestBatch(events);
    if (res.ok() || res.status().code() != StatusCode::kUnavailable) break;
    // The database is busy (another writer); back off briefly and retry.
    std::this_thread::sleep_for(std::chrono::milliseconds(50 << attempt));
  }
  if (!res.ok()) {
    Log()->error("event batch not committed events={} error={}", events.size(), LogValue(res.status().ToString()));
    metrics_.Inc("vigil_events_failed_total", static_cast<int64_t>(events.size()));
    for (size_t i = 0; i < events.size(); ++i) remove_file(i);
    return;  // not acked: workers resend after reconnecting
  }
  metrics_.Inc("vigil_ingest_batches_total");

  std::map<SessionId, std::vector<std::string>> acks;
  std::map<SessionId, std::vector<std::string>> errors;
  int64_t stored = 0, duplicates = 0, rejected = 0, failed = 0;
  std::vector<Json> live;
  const bool want_live = live_ && (!live_wanted_ || live_wanted_());
  for (size_t i = 0; i < batch.size(); ++i) {
    const auto& o = res->events[i];
    SessionId sid = batch[i].session;
    if (o.status.ok()) {
      acks[sid].push_back(o.event_id);
      if (o.duplicate) {
        ++duplicates;
        remove_file(i);
        continue;
      }
      ++stored;
      if (want_live) {
        const auto& e = events[i];
        Json ev = {{"id", e.event_id},
                   {"event_id", e.event_id},
                   {"worker_id", e.worker_id},
                   {"camera_id", e.camera_id},
                   {"site_id", e.site_id ? Json(*e.site_id) : Json(nullptr)},
                   {"captured_at", FormatIso8601Ms(e.captured_at)},
                   {"bbox", Json::array({e.bbox[0], e.bbox[1], e.bbox[2], e.bbox[3]})},
                   {"quality", e.quality},
                   {"person_kind", o.person_kind},
                   {"staff_id", o.staff_id ? Json(*o.staff_id) : Json(nullptr)},
                   {"customer_id", o.customer_id ? Json(*o.customer_id) : Json(nullptr)},
                   {"new_customer", o.new_customer},
                   {"visit_id", o.visit_id ? Json(*o.visit_id) : Json(nullptr)},
                   {"snapshot_id", o.snapshot_id ? Json(*o.snapshot_id) : Json(nullptr)}};
        live.push_back({{"type", "event"}, {"event", ev}});
        if (o.new_visit && o.visit_id) {
          live.push_back({{"type", "visit"},
                          {"visit",
                           {{"id", *o.visit_id},
                            {"person_kind", o.person_kind},
                            {"staff_id", ev["staff_id"]},
                            {"customer_id", ev["customer_id"]},
                            {"site_id", ev["site_id"]},
                            {"started_at", ev["captured_at"]}}}});
        }
      }
    } else if (IsPermanent(o.status.code())) {
      // Acked so the worker does not resend it forever; it is not stored.
      ++rejected;
      remove_file(i);
      acks[sid].push_back(o.event_id);
      errors[sid].push_back("event " + o.event_id + " rejected: " + o.status.message());
    } else {
      ++failed;
      remove_file(i);
    }
  }
  metrics_.Inc("vigil_events_ingested_total", stored);
  if (duplicates) metrics_.Inc("vigil_events_duplicate_total", duplicates);
  if (rejected) metrics_.Inc("vigil_events_rejected_total", rejected);
  if (failed) metrics_.Inc("vigil_events_failed_total", failed);

  std::vector<std::pair<WorkerConnectionPtr, std::string>> out;
  {
    std::lock_guard lock(mu_);
    for (auto& [sid, msgs] : errors) {
      auto it = sessions_.find(sid);
      if (it == sessions_.end()) continue;
      for (auto& m : msgs) out.emplace_back(it->second.conn, proto::Encode(proto::Error{"rejected_event", m}));
    }
    for (auto& [sid, ids] : acks) {
      auto it = sessions_.find(sid);
      if (it == sessions_.end()) continue;  // gone: the worker resends, and the duplicate is acked then
      out.emplace_back(it->second.conn, proto::Encode(proto::Ack{std::move(ids)}));
    }
  }
  for (auto& [conn, text] : out) conn->SendText(std::move(text));
  auto now = std::chrono::steady_clock::now();
  std::vector<double> latencies;
  latencies.reserve(batch.size());
  for (const auto& q : batch) latencies.push_back(std::chrono::duration<double>(now - q.received).count());
  metrics_.ObserveAll("vigil_event_ack_latency_seconds", latencies);
  metrics_.Observe("vigil_ingest_batch_seconds", std::chrono::duration<double>(now - started).count());
  metrics_.Observe("vigil_ingest_batch_cpu_seconds", std::max(0.0, ThreadCpuSeconds() - cpu_started));
  for (const auto& j : live) Publish(j);
}

}  // namespace vigil::api
