// Worker: the pure worker process's core. Wires the identity, the event
// spool, the API connection (ApiClient), the staff directory and one
// CameraRunner per camera, and drives the lifecycle (worker_state.h):
//
//   * connect, `hello`, `welcome` → run the assigned cameras plus the camera
//     the worker brings itself (CAMERA_URL; mock://<worker_id> in MOCK_MODE);
//     `assign` changes the set without a restart;
//   * events go to the spool first and are sent from it (snapshot frame, then
//     the event), at most a window of unacknowledged ones at a time; `ack`
//     removes them; after a reconnect everything unacknowledged is re-sent;
//   * heartbeats at the interval the API gives, with camera states and stats;
//   * network failures → Reconnecting with exponential backoff and jitter
//     while the cameras keep running and spooling; an authentication failure
//     (HTTP 401), a refused duplicate id (4409) or an unsupported protocol
//     (4426) → Failed, one clear line, non-zero exit;
//   * RequestShutdown() → Draining: stop cameras (their last tracks become
//     events), send what the spool holds until it is empty or the shutdown
//     deadline passes, `goodbye`, close, Stopped.
//
// The worker never binds or listens on any port.
//
// Thread-safety: Run() on one thread; RequestShutdown() and state() from any
// thread (RequestShutdown is not async-signal-safe: call it from a signal
// handling thread, not a handler).
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <variant>

#include "core/clock.h"
#include "core/config.h"
#include "models/model_registry.h"
#include "worker/api_client.h"
#include "worker/camera_runner.h"
#include "worker/event_spool.h"
#include "worker/proc_stats.h"
#include "worker/staff_directory.h"
#include "worker/worker_state.h"

namespace vigil::worker {

// Exit codes of `vigil worker`.
inline constexpr int kExitOk = 0;
inline constexpr int kExitConfig = 2;   // bad configuration, missing model, unusable state dir
inline constexpr int kExitRefused = 3;  // the API refused the worker (key, duplicate id, version)

struct WorkerSetup {
  WorkerConfig config;
  std::string worker_id;
  std::string worker_dir;  // <VIGIL_STATE_DIR>/<worker_id>
  std::string version;
};

class Worker {
 public:
  // Opens the spool, probes the detector and embedder (a missing model fails
  // here, before anything connects) and creates the API client.
  static Result<std::unique_ptr<Worker>> Create(const WorkerSetup& setup, Clock& clock);
  ~Worker();

  // Runs until Stopped or Failed; returns the process exit code.
  int Run();
  void RequestShutdown();
  WorkerState state() const { return sm_.state(); }
  // Why the worker failed (empty unless state() is kFailed); one line.
  const std::string& failure() const { return failure_; }
  SpoolCounters counters() const { return spool_->counters(); }

 private:
  struct Opened {};
  struct Text {
    std::string text;
  };
  struct Closed {
    CloseInfo info;
  };
  using InboxItem = std::variant<Opened, Text, Closed>;

  Worker(WorkerSetup setup, Clock& clock);
  Status Init();
  void Push(InboxItem item);
  void Handle(const InboxItem& item);
  void HandleText(const std::string& text);
  void HandleClosed(const CloseInfo& info);
  void Fail(const std::string& message);
  void ApplyAssignment(const std::vector<protocol::CameraAssignment>& cameras);
  void StartCamera(const CameraSpec& spec);
  void StopAllCameras();
  void OnEvent(ReadyEvent ev);
  void OnStreamFrame(std::string frame);
  void SendPending();
  void SendHeartbeat();
  void CheckSpoolFull();
  void BeginDrain();
  protocol::WorkerStats Stats();
  CameraSpec LocalCamera() const;
  Result<std::unique_ptr<CameraPipeline>> MakePipeline(const CameraSpec& spec);

  WorkerSetup setup_;
  Clock& clock_;
  WorkerStateMachine sm_;
  std::unique_ptr<EventSpool> spool_;
  StaffDirectory staff_;
  std::unique_ptr<ApiClient> client_;
  std::optional<models::ModelRegistry> registry_;
  std::string detector_type_, embedder_type_, detector_name_, embedder_model_;
  ProcStats proc_;
  int64_t started_ms_ = 0;

  // Inbox from the I/O thread and the camera threads to Run().
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<InboxItem> inbox_;
  bool wake_ = false;
  std::atomic<bool> shutdown_requested_{false};

  // Owned by Run()'s thread.
  std::map<std::string, std::unique_ptr<CameraRunner>> cameras_;
  bool connecting_ = false;
  bool connected_ = false;
  bool welcomed_ = false;
  bool ever_welcomed_ = false;
  bool spool_full_ = false;
  int64_t last_dropped_ = 0;
  int64_t last_failures_ = 0;
  std::chrono::steady_clock::time_point lost_at_{};
  bool draining_ = false;
  int exit_code_ = kExitOk;
  std::string failure_;
  std::chrono::steady_clock::time_point reconnect_at_{};
  std::chrono::steady_clock::time_point next_heartbeat_{};
  std::chrono::steady_clock::time_point drain_deadline_{};
  std::chrono::steady_clock::time_point last_ack_{};
  std::chrono::milliseconds heartbeat_interval_{5000};
  int64_t heartbeat_seq_ = 0;
  uint64_t sent_upto_ = 0;
  int64_t in_flight_ = 0;
  std::unique_ptr<class Backoff> backoff_;
  std::vector<protocol::CameraAssignment> assigned_;
  std::atomic<int64_t> stream_dropped_{0};
  std::atomic<int64_t> spool_failures_{0};
};

}  // namespace vigil::worker
