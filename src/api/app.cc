#include "api/app.h"

#include <filesystem>
#include <iostream>

#include "api/staff_reembed.h"
#include "core/logging.h"
#include "core/uuid.h"

namespace vigil::api {

namespace fs = std::filesystem;

namespace {
std::shared_ptr<spdlog::logger> Log() {
  static auto log = GetLogger("api");
  return log;
}

bool StartsWith(const std::string& s, std::string_view p) { return s.compare(0, p.size(), p) == 0; }

constexpr std::string_view kMjpegRoute = "/api/v1/cameras/{id}/stream.mjpeg";
}  // namespace

ApiApp::ApiApp(const ApiConfig& config, Clock& clock) : config_(config), clock_(clock) {}

ApiApp::~ApiApp() { Shutdown(); }

Result<std::unique_ptr<ApiApp>> ApiApp::Create(const ApiConfig& config, Clock& clock, std::ostream* announce) {
  std::unique_ptr<ApiApp> app(new ApiApp(config, clock));
  std::error_code ec;
  fs::create_directories(config.data_dir, ec);
  if (ec) return Unavailable("VIGIL_DATA_DIR: cannot create " + config.data_dir + ": " + ec.message());
  fs::create_directories(fs::path(config.data_dir) / "photos", ec);

  bool created = false;
  VIGIL_ASSIGN_OR_RETURN(app->admin_token_,
                         LoadOrCreateSecret((fs::path(config.data_dir) / "admin_token").string(), config.admin_token,
                                            &created));
  if (created && announce) {
    *announce << "Generated admin token (kept in " << config.data_dir << "/admin_token): " << app->admin_token_
              << std::endl;
  }
  VIGIL_ASSIGN_OR_RETURN(app->worker_key_,
                         LoadOrCreateSecret((fs::path(config.data_dir) / "worker_api_key").string(),
                                            config.worker_api_key, &created));
  if (created && announce) {
    *announce << "Generated worker key (kept in " << config.data_dir << "/worker_api_key): " << app->worker_key_
              << std::endl;
  }
  app->auth_ = std::make_unique<Authenticator>(app->admin_token_, app->worker_key_);
  app->signin_limiter_ = std::make_unique<RateLimiter>(RateLimitOptions{config.signin_rate}, clock);
  app->recognize_limiter_ = std::make_unique<RateLimiter>(RateLimitOptions{config.recognize_rate}, clock);

  auto repo = storage::OpenRepository(config.database_url);
  if (!repo.ok()) return repo.status().WithContext("DATABASE_URL");
  app->repo_ = std::move(*repo);

  app->faces_ = CreateFaceService(config);
  // A changed embedding model: give every kept enrolment photo a record for it.
  VIGIL_RETURN_IF_ERROR(ReembedStaffPhotos(*app->repo_, *app->faces_, config.data_dir).status());
  VIGIL_RETURN_IF_ERROR(app->customers_.Rebuild(*app->repo_));
  VIGIL_RETURN_IF_ERROR(app->staff_index_.Rebuild(*app->repo_));

  storage::IngestOptions io;
  io.customer_match_threshold = app->CustomerThreshold();
  io.visit_merge_window_ms = config.visit_merge_window.count();
  app->ingestor_ = std::make_unique<storage::EventIngestor>(*app->repo_, &app->customers_, clock, io);

  HubOptions ho;
  ho.heartbeat_interval = config.heartbeat_interval;
  ho.data_dir = config.data_dir;
  ho.pause_queue_high = config.ingest_pause_queue;
  ho.resume_queue_low = config.ingest_resume_queue;
  app->hub_ = std::make_unique<WorkerHub>(*app->repo_, *app->ingestor_, clock, app->metrics_, ho);
  ApiApp* self = app.get();
  app->hub_->SetLivePublisher([self](const Json& j) { self->live_.Publish(j); });
  app->hub_->SetLiveWanted([self] { return self->live_.size() > 0; });
  app->streams_ = std::make_unique<StreamHub>(
      [self](const std::string& worker_id, const protocol::Command& cmd) { return self->hub_->SendCommand(worker_id, cmd); });
  app->hub_->SetFrameSink([self](const std::string& camera_id, const Json& header, std::string_view jpeg) {
    self->streams_->OnFrame(camera_id, header, jpeg);
  });
  app->hub_->SetWorkerGoneSink([self](const std::string& worker_id) { self->streams_->WorkerGone(worker_id); });

  std::string web = FindWebDir();
  app->static_files_ = std::make_unique<StaticFiles>(web);
  if (web.empty()) Log()->warn("dashboard files not found; set VIGIL_WEB_DIR");

  app->metrics_.AddGauge("vigil_workers_connected", "Workers with a live session.",
                         [self] { return static_cast<double>(self->hub_->OnlineWorkers()); });
  app->metrics_.AddGauge("vigil_ingest_queue_depth", "Face events read but not yet committed.",
                         [self] { return static_cast<double>(self->hub_->IngestQueueDepth()); });
  app->metrics_.AddGauge("vigil_worker_reads_paused", "Worker sockets not being read because of ingest back-pressure.",
                         [self] { return static_cast<double>(self->hub_->PausedSessions()); });
  app->metrics_.AddGauge("vigil_live_subscribers", "Browsers connected to /ws/live.",
                         [self] { return static_cast<double>(self->live_.size()); });
  app->metrics_.AddGauge("vigil_stream_viewers", "Open live views (MJPEG responses).",
                         [self] { return static_cast<double>(self->streams_->viewers()); });
  app->metrics_.AddGauge("vigil_stream_frames_relayed", "Live frames relayed to viewers since start.",
                         [self] { return static_cast<double>(self->streams_->frames_relayed()); });
  app->metrics_.Describe("vigil_stream_frames_dropped_total", "Live frames a slow viewer skipped.");
  app->metrics_.AddGauge("vigil_customer_index_size", "Customer embeddings in the in-memory index.",
                         [self] { return static_cast<double>(self->customers_.size()); });
  app->metrics_.AddCollector([self] {
    std::vector<Metrics::Sample> out;
    for (auto& m : self->repo_->EngineMetrics()) out.push_back({std::move(m.name), std::move(m.help), m.counter, m.value});
    return out;
  });
  app->AddRoutes();
  return app;
}

double ApiApp::CustomerThreshold() const {
  if (config_.customer_match_threshold_override >= 0) return config_.customer_match_threshold_override;
  if (faces_ && faces_->available()) return faces_->default_threshold();
  return 0.5;
}

Status ApiApp::Start() { return hub_->Start(); }

void ApiApp::Shutdown() {
  // Streams first, so the stop_stream commands still reach the workers.
  if (streams_) streams_->CloseAll();
  if (hub_) hub_->Shutdown();
  live_.CloseAll();
}

std::optional<Response> ApiApp::CheckWorkerUpgrade(const Request& req) const {
  if (!auth_->IsWorker(req)) {
    Response r = ErrorResponse(401, "unauthorized", "missing or wrong worker key (Authorization: Bearer <WORKER_API_KEY>)");
    r.headers.emplace_back("WWW-Authenticate", "Bearer");
    return r;
  }
  return std::nullopt;
}

std::optional<Response> ApiApp::CheckLiveUpgrade(const Request& req) const {
  if (!auth_->IsAdmin(req, clock_.NowUnixMs())) {
    Response r = ErrorResponse(401, "unauthorized", "missing or wrong admin token");
    r.headers.emplace_back("WWW-Authenticate", "Bearer");
    return r;
  }
  return std::nullopt;
}

bool ApiApp::IsMjpegRequest(const Request& req) const {
  if (req.method != "GET") return false;
  Router::Match m = router_.Find(req.method, req.path);
  return m.status == 200 && m.pattern == kMjpegRoute;
}

std::optional<Response> ApiApp::OpenMjpeg(Request req, std::weak_ptr<StreamViewer> viewer, StreamHub::Token* token) {
  auto start = std::chrono::steady_clock::now();
  std::optional<Response> refusal;
  if (!auth_->IsAdmin(req, clock_.NowUnixMs())) {
    refusal = ErrorResponse(401, "unauthorized", "missing or wrong admin token (Authorization: Bearer <token>)");
    refusal->headers.emplace_back("WWW-Authenticate", "Bearer");
  } else {
    req.params = router_.Find(req.method, req.path).params;
    std::string worker_id;
    StreamParams params;
    try {
      refusal = StreamPreflight(req, &worker_id, &params);
    } catch (const std::exception& e) {
      Log()->error("stream preflight threw error={}", LogValue(e.what()));
      refusal = ErrorResponse(500, "internal", "internal error");
    }
    if (!refusal) {
      auto joined = streams_->Join(req.Param("id"), worker_id, params, std::move(viewer));
      if (joined.ok()) {
        *token = *joined;
      } else if (joined.status().code() == StatusCode::kUnavailable && !hub_->IsOnline(worker_id)) {
        refusal = ErrorResponse(409, "camera_not_running", "the worker running this camera went offline");
      } else {
        refusal = ErrorResponse(503, "unavailable", joined.status().message());
      }
    }
  }
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  metrics_.ObserveRequest(refusal && refusal->status == 401 ? "auth" : std::string(kMjpegRoute), req.method,
                          refusal ? refusal->status : 200, secs);
  return refusal;
}

void ApiApp::SweepStreams() {
  auto active = streams_->ActiveStreams();
  for (const auto& [camera_id, worker_id] : active) {
    auto cam = repo_->GetCamera(camera_id);
    if (!cam.ok() && cam.status().code() != StatusCode::kNotFound) continue;  // a database hiccup ends nothing
    if (!cam.ok() || !cam->enabled || cam->worker_id != worker_id) {
      Log()->info("ending live view of a camera that stopped or moved camera={}", LogValue(camera_id));
      streams_->EndCamera(camera_id);
    }
  }
}

Response ApiApp::Handle(Request req) {
  auto start = std::chrono::steady_clock::now();
  std::string route;
  Response res;
  try {
    res = Dispatch(req, &route);
  } catch (const std::exception& e) {
    Log()->error("handler threw method={} path={} error={}", req.method, LogValue(req.path), LogValue(e.what()));
    res = ErrorResponse(500, "internal", "internal error");
  }
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  metrics_.ObserveRequest(route.empty() ? "unmatched" : route, req.method, res.status, secs);
  if (res.status >= 500) Log()->warn("request failed method={} route={} status={}", req.method, route, res.status);
  return res;
}

Response ApiApp::Dispatch(Request& req, std::string* route) {
  bool api = StartsWith(req.path, "/api/");
  bool public_route = req.path == "/api/v1/session" && (req.method == "POST" || req.method == "DELETE");
  if (api && !public_route && !auth_->IsAdmin(req, clock_.NowUnixMs())) {
    *route = "auth";
    Response r = ErrorResponse(401, "unauthorized", "missing or wrong admin token (Authorization: Bearer <token>)");
    r.headers.emplace_back("WWW-Authenticate", "Bearer");
    return r;
  }
  Router::Match m = router_.Find(req.method, req.path);
  if (m.status == 404) {
    if (!api && !StartsWith(req.path, "/ws/") && (req.method == "GET" || req.method == "HEAD")) {
      *route = "static";
      return static_files_->Serve(req);
    }
    return ErrorResponse(404, "not_found", "no route for " + req.path);
  }
  *route = m.pattern;
  if (m.status == 405) {
    Response r = ErrorResponse(405, "method_not_allowed", req.method + " is not allowed on " + req.path);
    r.headers.emplace_back("Allow", m.allow);
    return r;
  }
  if (req.malformed_query) {
    // Acting on the rest of the query would silently widen a filter.
    return ErrorResponse(400, "bad_request", "malformed percent-escape in the query string");
  }
  req.params = std::move(m.params);
  return (*m.handler)(req);
}

void ApiApp::Tick() {
  hub_->CheckHeartbeats();
  SweepStreams();
  std::lock_guard lock(tick_mu_);
  auto now = clock_.SteadyNow();
  if (!retention_ran_ || now - last_retention_ >= std::chrono::hours(1)) {
    retention_ran_ = true;
    last_retention_ = now;
    auto n = RunRetention();
    if (!n.ok()) Log()->warn("retention failed error={}", LogValue(n.status().ToString()));
  }
}

Result<int64_t> ApiApp::RunRetention() {
  if (config_.snapshot_retention_days <= 0) return int64_t{0};
  int64_t cutoff = clock_.NowUnixMs() - int64_t{config_.snapshot_retention_days} * 24 * 3600 * 1000;
  int64_t total = 0;
  for (;;) {
    VIGIL_ASSIGN_OR_RETURN(auto rows, repo_->DeleteSnapshotsBefore(cutoff, 1000));
    for (const auto& s : rows) RemoveDataFile(s.path);
    total += static_cast<int64_t>(rows.size());
    if (rows.size() < 1000) break;
  }
  if (total > 0) Log()->info("retention deleted snapshots={}", total);
  metrics_.Inc("vigil_snapshots_expired_total", total);
  return total;
}

void ApiApp::RemoveDataFile(const std::string& relative_path) const {
  if (relative_path.empty() || relative_path.find("..") != std::string::npos || relative_path[0] == '/') return;
  std::error_code ec;
  fs::remove(fs::path(config_.data_dir) / relative_path, ec);
}

// ---------------------------------------------------------------- small handlers

Response ApiApp::Healthz(const Request&) { return JsonResponse(200, {{"status", "ok"}}); }

Response ApiApp::Readyz(const Request&) {
  auto v = repo_->SchemaVersion();
  if (!v.ok()) return ErrorResponse(503, "unavailable", "database not reachable");
  return JsonResponse(200, {{"status", "ready"}, {"schema_version", *v}, {"face_pipeline", faces_->available()}});
}

Response ApiApp::MetricsText(const Request&) {
  Response r;
  r.content_type = "text/plain; version=0.0.4; charset=utf-8";
  r.body = metrics_.Render();
  return r;
}

Response ApiApp::SessionCreate(const Request& req) {
  // Before looking at the token, so a guesser learns nothing while limited.
  if (auto limited = CheckRateLimit(signin_limiter_.get(), req, "sign-in")) {
    metrics_.Inc("vigil_rate_limited_total");
    return *limited;
  }
  VIGIL_ASSIGN_OR_RETURN_RESPONSE(Json body, ParseJsonBody(req));
  auto token = GetString(body, "token");
  if (!token.ok()) return StatusResponse(token.status());
  if (!auth_->CheckAdminToken(*token)) return ErrorResponse(401, "unauthorized", "wrong admin token");
  Response r = JsonResponse(200, {{"authenticated", true}});
  r.headers.emplace_back("Set-Cookie", Authenticator::SessionCookieHeader(auth_->IssueSession(clock_.NowUnixMs()),
                                                                          !config_.tls_cert.empty()));
  return r;
}

Response ApiApp::SessionDelete(const Request&) {
  Response r;
  r.status = 204;
  r.body.clear();
  r.headers.emplace_back("Set-Cookie", Authenticator::ClearSessionCookieHeader(!config_.tls_cert.empty()));
  return r;
}

Response ApiApp::SessionGet(const Request&) { return JsonResponse(200, {{"authenticated", true}}); }

}  // namespace vigil::api
