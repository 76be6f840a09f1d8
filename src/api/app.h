// ApiApp: everything the API server does, minus the sockets. It owns the
// repository, the ingestor and indexes, the worker hub, the live hub, the
// face pipeline, the router with every REST handler, auth and metrics.
// server.h puts it on the network; tests can also call Handle directly.
//
// Request flow (Handle): route lookup (404/405) → auth for /api/v1/* (401
// before any work) → handler → JSON error mapping → metrics.
//
// Thread-safety: Handle, the upgrade checks and the maintenance calls may run
// concurrently on any thread once Start returned.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <ostream>
#include <string>

#include "api/face_index.h"
#include "api/face_service.h"
#include "api/http_types.h"
#include "api/live_hub.h"
#include "api/rate_limit.h"
#include "api/metrics.h"
#include "api/router.h"
#include "api/static_files.h"
#include "api/stream_hub.h"
#include "api/auth.h"
#include "api/worker_hub.h"
#include "core/clock.h"
#include "core/config.h"
#include "storage/event_ingestor.h"
#include "storage/repository.h"

namespace vigil::api {

class ApiApp {
 public:
  // Opens the database (applying migrations), loads or creates the admin
  // token and worker key (printing generated ones once on `announce`),
  // rebuilds the in-memory indexes. `clock` must outlive the app.
  static Result<std::unique_ptr<ApiApp>> Create(const ApiConfig& config, Clock& clock, std::ostream* announce);
  ~ApiApp();

  // Starts the hub's ingest thread.
  Status Start();
  // Drains ingestion, closes worker and live sockets (1001). Idempotent.
  void Shutdown();

  Response Handle(Request req);
  // For the WebSocket upgrade paths: nullopt to accept, else the refusal.
  std::optional<Response> CheckWorkerUpgrade(const Request& req) const;
  std::optional<Response> CheckLiveUpgrade(const Request& req) const;

  // Live MJPEG (`GET /api/v1/cameras/{id}/stream.mjpeg`), which the server
  // serves itself because the response stays open. IsMjpegRequest: whether
  // `req` is one. OpenMjpeg: authenticates and validates it, then joins
  // `viewer` to the camera's stream; nullopt with `*token` set when joined
  // (the caller writes the multipart header and must Leave the token when
  // the response ends), else the refusal to send (401, 404, 400, 409, 503).
  bool IsMjpegRequest(const Request& req) const;
  std::optional<Response> OpenMjpeg(Request req, std::weak_ptr<StreamViewer> viewer, StreamHub::Token* token);

  // Periodic work: heartbeat timeouts (every call), retention (hourly).
  void Tick();
  // Deletes snapshots older than the retention period; returns how many.
  Result<int64_t> RunRetention();

  WorkerHub& hub() { return *hub_; }
  LiveHub& live() { return live_; }
  StreamHub& streams() { return *streams_; }
  Metrics& metrics() { return metrics_; }
  storage::Repository& repo() { return *repo_; }
  const ApiConfig& config() const { return config_; }
  const std::string& admin_token() const { return admin_token_; }
  const std::string& worker_key() const { return worker_key_; }

 private:
  ApiApp(const ApiConfig& config, Clock& clock);
  void AddRoutes();
  Response Dispatch(Request& req, std::string* route);

  // Handlers (app_handlers.cc, app_faces.cc).
  Response Healthz(const Request& req);
  Response Readyz(const Request& req);
  Response MetricsText(const Request& req);
  Response OpenApi(const Request& req);
  Response SessionCreate(const Request& req);
  Response SessionDelete(const Request& req);
  Response SessionGet(const Request& req);
  Response SitesList(const Request& req);
  Response SitesCreate(const Request& req);
  Response SitesGet(const Request& req);
  Response SitesUpdate(const Request& req);
  Response SitesDelete(const Request& req);
  Response CamerasList(const Request& req);
  Response CamerasCreate(const Request& req);
  Response CamerasGet(const Request& req);
  Response CamerasUpdate(const Request& req);
  Response CamerasDelete(const Request& req);
  Response CamerasStream(const Request& req);
  Response CamerasStreamMjpeg(const Request& req);
  Response WorkersList(const Request& req);
  Response WorkersGet(const Request& req);
  Response StaffList(const Request& req);
  Response StaffCreate(const Request& req);
  Response StaffGet(const Request& req);
  Response StaffUpdate(const Request& req);
  Response StaffDelete(const Request& req);
  Response StaffFacesList(const Request& req);
  Response StaffFacesEnroll(const Request& req);
  Response StaffFacesDelete(const Request& req);
  Response StaffFaceImage(const Request& req);
  Response CustomersList(const Request& req);
  Response CustomersGet(const Request& req);
  Response CustomersUpdate(const Request& req);
  Response CustomersDelete(const Request& req);
  Response VisitsList(const Request& req);
  Response VisitsGet(const Request& req);
  Response EventsList(const Request& req);
  Response EventsGet(const Request& req);
  Response ReportVisitors(const Request& req);
  Response Recognize(const Request& req);
  Response SnapshotGet(const Request& req);

  Json WorkerJson(const storage::Worker& w, const std::vector<storage::Camera>& cameras) const;
  void GalleryChangedForStaff(const std::string& staff_id);
  double CustomerThreshold() const;
  // Checks for a live view of req.Param("id"): an error response, or nullopt
  // with the camera's worker and the viewer's stream parameters.
  std::optional<Response> StreamPreflight(const Request& req, std::string* worker_id, StreamParams* params);
  // Ends live views whose camera was deleted, disabled or moved (Tick).
  void SweepStreams();
  void RemoveDataFile(const std::string& relative_path) const;

  ApiConfig config_;
  Clock& clock_;
  Metrics metrics_;
  std::string admin_token_;
  std::string worker_key_;
  std::unique_ptr<Authenticator> auth_;
  // Per-client-IP limits on sign-in and /recognize (rate_limit.h).
  std::unique_ptr<RateLimiter> signin_limiter_;
  std::unique_ptr<RateLimiter> recognize_limiter_;
  storage::RepositoryPtr repo_;
  CustomerIndex customers_;
  StaffIndex staff_index_;
  std::unique_ptr<storage::EventIngestor> ingestor_;
  std::unique_ptr<WorkerHub> hub_;
  LiveHub live_;
  std::unique_ptr<StreamHub> streams_;
  FaceServicePtr faces_;
  Router router_;
  std::unique_ptr<StaticFiles> static_files_;
  std::chrono::steady_clock::time_point last_retention_{};
  bool retention_ran_ = false;
  std::mutex tick_mu_;
};

}  // namespace vigil::api
