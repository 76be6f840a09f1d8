#include "worker/worker.h"

#include <unistd.h>

#include "core/logging.h"
#include "protocol/codec.h"
#include "vision/mock_faces.h"
#include "worker/backoff.h"

namespace vigil::worker {
namespace {

// CONFIDENCE_THRESHOLD when set; otherwise the calibrated default of the
// detector actually created (for `auto`, the one it resolves to).
std::optional<float> DetectorThreshold(const WorkerConfig& c) {
  if (!c.confidence_threshold_set) return std::nullopt;
  return static_cast<float>(c.confidence_threshold);
}

constexpr int64_t kSendWindow = 128;                 // unacknowledged events on the wire
constexpr size_t kMaxQueuedBytes = 4 << 20;          // stop feeding the socket beyond this
constexpr size_t kMaxQueuedBytesForStream = 1 << 20; // live frames are dropped beyond this
constexpr auto kAckTimeout = std::chrono::seconds(20);
constexpr auto kTick = std::chrono::milliseconds(100);
// Before the first welcome the API's heartbeat interval is unknown; a short
// first idle timeout makes the interval-based one take effect early (Beast
// applies a changed timeout from its next timer round, half of this).
constexpr int64_t kInitialIdleTimeoutMs = 6000;
// The link is declared dead after this many heartbeat intervals without a
// byte from the API (keep-alive pings make a healthy, quiet link talk). More
// than the API's 3 missed heartbeats, so that usually the API has already
// ended the stale session when the worker comes back.
constexpr int kIdleHeartbeats = 6;
constexpr int64_t kMinIdleTimeoutMs = 1000;

std::string HostName() {
  char buf[256] = {0};
  if (gethostname(buf, sizeof buf - 1) != 0) return "unknown";
  return buf;
}

}  // namespace

Worker::Worker(WorkerSetup setup, Clock& clock) : setup_(std::move(setup)), clock_(clock) {}

Worker::~Worker() {
  StopAllCameras();
  client_.reset();  // joins the I/O thread before the inbox goes away
}

Result<std::unique_ptr<Worker>> Worker::Create(const WorkerSetup& setup, Clock& clock) {
  std::unique_ptr<Worker> w(new Worker(setup, clock));
  VIGIL_RETURN_IF_ERROR(w->Init());
  return w;
}

Status Worker::Init() {
  const WorkerConfig& c = setup_.config;
  detector_type_ = c.mock_mode ? "mock" : c.detector_type;
  embedder_type_ = c.mock_mode ? "mock" : c.embedder_type;
  if (!c.mock_mode) {
    auto reg = models::ModelRegistry::Open(c.models_dir);
    if (!reg.ok()) return reg.status().WithContext("VIGIL_MODELS_DIR");
    registry_ = std::move(*reg);
  } else {
    registry_ = models::ModelRegistry::Open("").value_or(models::ModelRegistry{});
  }
  // Probe once so a missing model stops the worker at startup with one line.
  auto det = vision::CreateFaceDetector(detector_type_, *registry_, DetectorThreshold(c), c.detect_input_size);
  if (!det.ok()) return det.status().WithContext("DETECTOR_TYPE=" + detector_type_);
  auto emb = vision::CreateFaceEmbedder(embedder_type_, *registry_);
  if (!emb.ok()) return emb.status().WithContext("EMBEDDER_TYPE=" + embedder_type_);
  detector_name_ = (*det)->name();
  embedder_model_ = (*emb)->model_id();

  SpoolOptions so;
  so.dir = setup_.worker_dir + "/spool";
  so.max_bytes = c.spool_max_bytes;
  VIGIL_ASSIGN_OR_RETURN(spool_, EventSpool::Open(so, DefaultEnv()));
  last_dropped_ = spool_->counters().dropped;  // cumulative: earlier runs' drops are not news

  ApiClientOptions co;
  co.api_url = c.api_url;
  co.api_key = c.worker_api_key;
  co.ca_cert = c.ca_cert;
  co.idle_timeout_ms = kInitialIdleTimeoutMs;
  ApiClient::Handlers h;
  h.on_open = [this] { Push(Opened{}); };
  h.on_text = [this](std::string t) { Push(Text{std::move(t)}); };
  h.on_binary = [](std::string) {};  // the API sends no binary frames in protocol 1
  h.on_close = [this](const CloseInfo& info) { Push(Closed{info}); };
  VIGIL_ASSIGN_OR_RETURN(client_, ApiClient::Create(co, std::move(h)));
  backoff_ = std::make_unique<Backoff>(std::chrono::milliseconds(500), std::chrono::milliseconds(15000));
  started_ms_ = clock_.NowUnixMs();
  return Status::Ok();
}

void Worker::Push(InboxItem item) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    inbox_.push_back(std::move(item));
  }
  cv_.notify_one();
}

void Worker::RequestShutdown() {
  shutdown_requested_ = true;
  // Notify while holding the lock: `vigil worker`'s signal thread calls this,
  // and Run() may return and the Worker be destroyed as soon as the waiter
  // can take mu_; a notify after the unlock could touch a destroyed cv_
  // (found by TSan).
  std::lock_guard<std::mutex> lock(mu_);
  wake_ = true;
  cv_.notify_one();
}

CameraSpec Worker::LocalCamera() const {
  const WorkerConfig& c = setup_.config;
  CameraSpec s;
  s.url = c.camera_url;
  if (s.url.empty() && c.mock_mode) s.url = "mock://" + setup_.worker_id;
  if (s.url.empty()) return s;
  s.id = setup_.worker_id + "-local";
  s.name = setup_.worker_id + " local camera";
  s.fps = c.fps;
  return s;
}

Result<std::unique_ptr<CameraPipeline>> Worker::MakePipeline(const CameraSpec& spec) {
  const WorkerConfig& c = setup_.config;
  VIGIL_ASSIGN_OR_RETURN(auto det,
                         vision::CreateFaceDetector(detector_type_, *registry_, DetectorThreshold(c),
                                                    c.detect_input_size));
  VIGIL_ASSIGN_OR_RETURN(auto emb, vision::CreateFaceEmbedder(embedder_type_, *registry_));
  PipelineOptions o;
  o.worker_id = setup_.worker_id;
  o.camera_id = spec.id;
  o.site_id = spec.site_id;
  o.tracker.max_age = c.track_max_age;
  // A face missed for a few frames (or a second) is the same person still.
  o.tracker.max_missed =
      std::max(std::chrono::milliseconds(1000), std::chrono::milliseconds(static_cast<int64_t>(3000 / spec.fps)));
  o.event_cooldown = c.event_cooldown;
  if (c.staff_match_threshold) o.staff_threshold = static_cast<float>(*c.staff_match_threshold);
  return std::make_unique<CameraPipeline>(o, std::move(det), std::move(emb), staff_);
}

void Worker::StartCamera(const CameraSpec& spec) {
  auto runner = std::make_unique<CameraRunner>(
      spec, clock_, [this](const CameraSpec& s) { return MakePipeline(s); },
      [this](ReadyEvent ev) { OnEvent(std::move(ev)); }, [this](std::string f) { OnStreamFrame(std::move(f)); });
  runner->Start();
  cameras_[spec.id] = std::move(runner);
}

void Worker::StopAllCameras() {
  for (auto& [id, cam] : cameras_) cam->Stop();
  cameras_.clear();
}

void Worker::ApplyAssignment(const std::vector<protocol::CameraAssignment>& cameras) {
  std::map<std::string, CameraSpec> want;
  CameraSpec local = LocalCamera();
  if (!local.id.empty()) want[local.id] = local;
  for (const auto& a : cameras) {
    CameraSpec s;
    s.id = a.id;
    s.name = a.name;
    s.url = a.url;
    s.site_id = a.site_id;
    s.fps = a.fps > 0 ? std::min(a.fps, setup_.config.fps) : setup_.config.fps;
    // The API echoes the local camera with a masked URL; the worker keeps its own.
    if (a.id == local.id) s.url = local.url;
    want[a.id] = s;
  }
  for (auto it = cameras_.begin(); it != cameras_.end();) {
    auto w = want.find(it->first);
    if (w == want.end() || !(w->second == it->second->spec())) {
      it->second->Stop();
      it = cameras_.erase(it);
    } else {
      ++it;
    }
  }
  for (const auto& [id, spec] : want) {
    if (!cameras_.count(id)) StartCamera(spec);
  }
  GetLogger("worker")->info("cameras assigned count={} running={}", cameras.size(), cameras_.size());
}

void Worker::OnEvent(ReadyEvent ev) {
  SpooledEvent s{ev.event.event_id, protocol::Encode(ev.event), std::move(ev.jpeg)};
  Status st = spool_->Append(s);
  if (!st.ok()) {
    // Counted as dropped by the spool; log the first and then every 100th.
    int64_t n = ++spool_failures_;
    if (n == 1 || n % 100 == 0) {
      GetLogger("worker")->error("event dropped: spool write failed failures={} error={}", n, LogValue(st.message()));
    }
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    wake_ = true;
  }
  cv_.notify_one();
}

void Worker::OnStreamFrame(std::string frame) {
  // A slow link drops live frames; it never slows the pipeline or the events.
  if (!client_->connected() || client_->queued_bytes() > kMaxQueuedBytesForStream || !client_->SendBinary(std::move(frame))) {
    ++stream_dropped_;
  }
}

protocol::WorkerStats Worker::Stats() {
  auto c = spool_->counters();
  protocol::WorkerStats s;
  s.events_created = c.created;
  s.events_acked = c.acked;
  s.events_spooled = c.spooled;
  s.events_dropped = c.dropped;
  for (auto& [id, cam] : cameras_) s.faces_seen += cam->faces_seen();
  s.cpu = proc_.CpuSinceLast();
  s.rss_bytes = ProcStats::RssBytes();
  s.uptime_s = (clock_.NowUnixMs() - started_ms_) / 1000;
  return s;
}

void Worker::CheckSpoolFull() {
  // One line when the spool starts dropping events and one when it has room
  // again, not one per dropped event.
  auto c = spool_->counters();
  int64_t failures = spool_failures_.load();
  // Failed writes are counted as dropped too, but they are logged where they happen.
  bool bound_drops = c.dropped - last_dropped_ > failures - last_failures_;
  last_failures_ = failures;
  if (c.dropped > last_dropped_) {
    if (bound_drops && !spool_full_) {
      spool_full_ = true;
      GetLogger("worker")->warn(
          "spool full: dropping the oldest unsent events (raise SPOOL_MAX_BYTES or restore the API link) "
          "max_bytes={} dropped_total={}",
          setup_.config.spool_max_bytes, c.dropped);
    }
    last_dropped_ = c.dropped;
  } else if (spool_full_ && spool_->bytes() < setup_.config.spool_max_bytes / 2) {
    spool_full_ = false;
    GetLogger("worker")->info("spool has room again spooled={} dropped_total={}", c.spooled, c.dropped);
  }
}

void Worker::SendHeartbeat() {
  protocol::Heartbeat hb;
  hb.seq = ++heartbeat_seq_;
  hb.state = std::string(WorkerStateName(sm_.state()));
  hb.sent_at_ms = clock_.NowUnixMs();
  for (auto& [id, cam] : cameras_) hb.cameras.push_back(cam->status());
  hb.stats = Stats();
  client_->SendText(protocol::Encode(hb));
}

void Worker::SendPending() {
  auto now = std::chrono::steady_clock::now();
  if (in_flight_ > 0 && now - last_ack_ > kAckTimeout) {
    // Acks stopped coming without the link dropping: send everything again
    // (the API stores each event_id once).
    GetLogger("worker")->warn("no ack for {}s, re-sending unacknowledged events in_flight={}",
                              std::chrono::duration_cast<std::chrono::seconds>(kAckTimeout).count(), in_flight_);
    sent_upto_ = 0;
    in_flight_ = 0;
    last_ack_ = now;
  }
  while (in_flight_ < kSendWindow && client_->queued_bytes() < kMaxQueuedBytes) {
    auto batch = spool_->PendingAfter(sent_upto_, 16);
    if (batch.empty()) return;
    for (const auto& [seq, id] : batch) {
      sent_upto_ = seq;
      auto ev = spool_->Read(id);
      if (!ev.ok()) continue;  // acked or dropped meanwhile
      if (!ev->snapshot.empty()) {
        protocol::SnapshotHeader h;
        h.event_id = id;
        if (!client_->SendBinary(protocol::EncodeSnapshot(h, ev->snapshot))) return;
      }
      if (!client_->SendText(ev->json)) return;
      if (in_flight_ == 0) last_ack_ = now;
      ++in_flight_;
    }
  }
}

void Worker::Fail(const std::string& message) {
  failure_ = message;
  exit_code_ = kExitRefused;
  (void)sm_.TransitionTo(WorkerState::kFailed, message);
}

void Worker::HandleClosed(const CloseInfo& info) {
  auto log = GetLogger("worker");
  bool was_welcomed = welcomed_;
  if (was_welcomed) lost_at_ = std::chrono::steady_clock::now();
  connecting_ = connected_ = welcomed_ = false;
  sent_upto_ = 0;
  in_flight_ = 0;
  if (info.auth_failed()) {
    return Fail("API refused the worker key (401): check WORKER_API_KEY");
  }
  if (info.tls_verify_failed) {  // a configuration error: retrying cannot fix a certificate
    Fail(info.reason);
    exit_code_ = kExitConfig;
    return;
  }
  if (info.close_code == protocol::kCloseDuplicateWorker && ever_welcomed_ &&
      std::chrono::steady_clock::now() - lost_at_ < heartbeat_interval_ * 4 + std::chrono::seconds(5)) {
    // After a silent link failure the API may still hold this worker's old
    // session until it misses 3 heartbeats: that session is ours, so retry
    // (bounded by the time the API needs to time it out) instead of failing.
    auto delay = backoff_->Next();
    reconnect_at_ = std::chrono::steady_clock::now() + delay;
    log->warn("API still holds this worker's previous session (4409); retrying in {} ms", delay.count());
    return;
  }
  if (info.close_code == protocol::kCloseDuplicateWorker) {
    return Fail("API refused worker id " + setup_.worker_id +
                " (4409): another worker with this id is connected; set a unique WORKER_ID");
  }
  if (info.close_code == protocol::kCloseUnsupportedVersion) {
    return Fail("API does not support protocol version " + std::to_string(protocol::kProtocolVersion) +
                " (4426): upgrade the worker or the API");
  }
  auto delay = backoff_->Next();
  reconnect_at_ = std::chrono::steady_clock::now() + delay;
  std::string why = info.close_code ? "closed " + std::to_string(info.close_code) + " " + info.reason : info.reason;
  if (draining_) return;
  (void)sm_.TransitionTo(WorkerState::kReconnecting, why);
  if (was_welcomed || backoff_->attempts() == 1) {
    log->warn("API connection lost: {} (retrying in {} ms, events are spooled meanwhile)", LogValue(why),
              delay.count());
  } else {
    log->debug("reconnect failed: {} (next try in {} ms)", LogValue(why), delay.count());
  }
}

void Worker::HandleText(const std::string& text) {
  auto log = GetLogger("worker");
  auto msg = protocol::DecodeText(text);
  if (!msg.ok()) {
    log->warn("bad message from the API: {}", msg.status().message());
    protocol::Error e{std::string(protocol::ErrorCodeFor(msg.status())), msg.status().message()};
    client_->SendText(protocol::Encode(e));
    return;
  }
  if (auto* w = std::get_if<protocol::Welcome>(&*msg)) {
    welcomed_ = true;
    ever_welcomed_ = true;
    heartbeat_interval_ = std::chrono::milliseconds(std::max<int64_t>(100, w->heartbeat_interval_ms));
    client_->SetIdleTimeout(std::max<int64_t>(kMinIdleTimeoutMs, heartbeat_interval_.count() * kIdleHeartbeats));
    next_heartbeat_ = std::chrono::steady_clock::now();
    backoff_->Reset();
    last_ack_ = std::chrono::steady_clock::now();
    assigned_ = w->cameras;
    if (!draining_) {
      (void)sm_.TransitionTo(WorkerState::kRunning, "welcome session=" + w->session_id);
      ApplyAssignment(w->cameras);
    }
    log->info("registered session={} heartbeat_ms={} pending_events={}", w->session_id,
              heartbeat_interval_.count(), spool_->counters().spooled);
  } else if (auto* a = std::get_if<protocol::Assign>(&*msg)) {
    assigned_ = a->cameras;
    if (!draining_) ApplyAssignment(a->cameras);
  } else if (auto* g = std::get_if<protocol::Gallery>(&*msg)) {
    Status st = staff_.Apply(*g);
    log->info("staff gallery model={} version={} full={} upsert={} remove={} size={}", g->model, g->version, g->full,
              g->upsert.size(), g->remove.size(), staff_.size());
    if (!st.ok()) log->warn("staff gallery entries skipped: {}", st.message());
  } else if (auto* ack = std::get_if<protocol::Ack>(&*msg)) {
    int64_t n = spool_->Ack(ack->event_ids);
    in_flight_ = std::max<int64_t>(0, in_flight_ - static_cast<int64_t>(ack->event_ids.size()));
    last_ack_ = std::chrono::steady_clock::now();
    (void)n;
  } else if (auto* cmd = std::get_if<protocol::Command>(&*msg)) {
    if (cmd->command == protocol::kCommandStartStream || cmd->command == protocol::kCommandStopStream) {
      auto it = cmd->camera_id ? cameras_.find(*cmd->camera_id) : cameras_.end();
      if (it == cameras_.end()) {
        client_->SendText(protocol::Encode(protocol::Error{"unknown_camera", "camera not running on this worker"}));
      } else if (cmd->command == protocol::kCommandStartStream) {
        it->second->StartStream(cmd->fps.value_or(5), cmd->max_width.value_or(640));
        log->info("live stream started camera={}", it->first);
      } else {
        it->second->StopStream();
        log->info("live stream stopped camera={}", it->first);
      }
    } else if (cmd->command == protocol::kCommandShutdown) {
      log->info("shutdown requested by the API");
      RequestShutdown();
    } else if (cmd->command == protocol::kCommandReload) {
      log->info("reload requested: re-applying the camera assignment");
      if (!draining_) {
        StopAllCameras();
        ApplyAssignment(assigned_);
      }
    } else {
      client_->SendText(protocol::Encode(
          protocol::Error{std::string(protocol::kErrorUnknownCommand), "unknown command " + cmd->command}));
    }
  } else if (auto* err = std::get_if<protocol::Error>(&*msg)) {
    log->warn("API error code={} message={}", err->code, LogValue(err->message));
  }
}

void Worker::Handle(const InboxItem& item) {
  if (std::holds_alternative<Opened>(item)) {
    connecting_ = false;
    connected_ = true;
    if (sm_.state() == WorkerState::kConnecting) (void)sm_.TransitionTo(WorkerState::kRegistering, "connected");
    protocol::Hello h;
    h.worker_id = setup_.worker_id;
    h.host = HostName();
    h.pid = getpid();
    h.version = setup_.version;
    h.capabilities.detector = detector_name_;
    h.capabilities.embedder = embedder_type_;
    h.capabilities.models = {embedder_model_};
    h.capabilities.max_cameras = setup_.config.max_cameras;
    CameraSpec local = LocalCamera();
    if (!local.id.empty()) h.cameras.push_back({local.id, local.name, vision::MaskUrlCredentials(local.url)});
    h.state = std::string(WorkerStateName(sm_.state()));
    client_->SendText(protocol::Encode(h));
  } else if (auto* t = std::get_if<Text>(&item)) {
    HandleText(t->text);
  } else if (auto* c = std::get_if<Closed>(&item)) {
    HandleClosed(c->info);
  }
}

void Worker::BeginDrain() {
  draining_ = true;
  (void)sm_.TransitionTo(WorkerState::kDraining, "shutdown requested");
  drain_deadline_ = std::chrono::steady_clock::now() + setup_.config.shutdown_deadline;
  // Stopping a camera finishes its in-flight frame and turns its live tracks
  // into events, which land in the spool before the flush below.
  StopAllCameras();
  GetLogger("worker")->info("draining: flushing the spool for up to {} ms pending_events={}",
                            setup_.config.shutdown_deadline.count(), spool_->counters().spooled);
}

int Worker::Run() {
  auto log = GetLogger("worker");
  log->info("worker starting id={} api={} detector={} embedder={} model={} spool_pending={}", setup_.worker_id,
            LogValue(client_->target_url()), detector_name_, embedder_type_, embedder_model_,
            spool_->counters().spooled);
  (void)sm_.TransitionTo(WorkerState::kConnecting, "startup");
  // The local camera runs from the start: with the API unreachable the worker
  // still processes and spools.
  ApplyAssignment({});
  client_->Connect();
  connecting_ = true;
  std::chrono::steady_clock::time_point goodbye_sent{};
  while (!sm_.terminal()) {
    std::deque<InboxItem> items;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait_for(lock, kTick, [this] { return !inbox_.empty() || wake_; });
      items.swap(inbox_);
      wake_ = false;
    }
    for (const auto& item : items) {
      Handle(item);
      if (sm_.terminal()) break;
    }
    if (sm_.terminal()) break;
    auto now = std::chrono::steady_clock::now();
    if (shutdown_requested_ && !draining_) BeginDrain();
    CheckSpoolFull();

    if (goodbye_sent != std::chrono::steady_clock::time_point{}) {
      // Waiting for the close handshake to finish (bounded).
      if (!connected_ || now - goodbye_sent > std::chrono::seconds(2)) {
        (void)sm_.TransitionTo(WorkerState::kStopped, "drained");
      }
      continue;
    }
    if (!connected_ && !connecting_ && now >= reconnect_at_ && !(draining_ && now >= drain_deadline_)) {
      if (!draining_ || spool_->counters().spooled > 0) {
        client_->Connect();
        connecting_ = true;
      }
    }
    if (welcomed_) {
      if (now >= next_heartbeat_) {
        SendHeartbeat();
        next_heartbeat_ = now + heartbeat_interval_;
      }
      SendPending();
    }
    if (draining_) {
      bool empty = spool_->counters().spooled == 0;
      bool late = now >= drain_deadline_;
      if ((empty || late) && welcomed_) {
        if (!empty) log->warn("shutdown deadline reached; {} events stay in the spool", spool_->counters().spooled);
        protocol::Goodbye g;
        g.reason = "shutdown";
        g.stats = Stats();
        client_->SendText(protocol::Encode(g));
        client_->Close(1000, "shutdown");
        goodbye_sent = now;
      } else if ((empty || late) && !connected_) {
        if (!empty) log->warn("API unreachable at shutdown; {} events stay in the spool", spool_->counters().spooled);
        (void)sm_.TransitionTo(WorkerState::kStopped, "drained without a connection");
      }
    }
  }
  StopAllCameras();
  (void)spool_->Flush();
  auto c = spool_->counters();
  if (sm_.state() == WorkerState::kFailed) {
    log->error("worker failed: {}", failure_);
  } else {
    log->info("worker stopped events_created={} events_acked={} events_spooled={} events_dropped={}", c.created,
              c.acked, c.spooled, c.dropped);
  }
  return exit_code_;
}

}  // namespace vigil::worker
