// WorkerHub: the API side of the worker protocol (docs/protocol.md), free of
// any transport. The WebSocket session (or a test's fake) opens a session,
// feeds it the frames it reads and reports when it closes; the hub answers
// through WorkerConnection.
//
// It owns: sessions and their worker ids (duplicate refusal), heartbeat
// tracking on the injected Clock, camera assignment (CameraAssigner) with the
// welcome/assign messages, staff gallery pushes per model, and the ingest
// pipeline: events and their snapshots are queued, a single ingest thread
// commits whatever has accumulated as one batch through the EventIngestor,
// and acks each event only after its batch committed.
//
// Back-pressure: when the ingest queue holds `pause_queue_high` events or
// more, ReadyForMore tells the transport to stop reading worker sockets (the
// worker's TCP send buffer fills and it spools) until the ingest thread has
// brought the queue down to `resume_queue_low`; then the transport's resume
// callbacks run. A worker whose socket the API stopped reading cannot be
// heard, so its heartbeat clock is frozen while it is paused: CheckHeartbeats
// skips it, and resuming counts as a sign of life.
//
// Thread-safety: every public method may be called from any thread. Calls for
// one session must come in the order its frames were read (the transport
// reads one frame at a time). WorkerConnection methods are called with no hub
// lock held.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "api/metrics.h"
#include "core/clock.h"
#include "core/json_util.h"
#include "core/status.h"
#include "protocol/messages.h"
#include "storage/event_ingestor.h"
#include "storage/repository.h"

namespace vigil::api {

// One worker's socket, as the hub sees it.
class WorkerConnection {
 public:
  virtual ~WorkerConnection() = default;
  // Queues one text frame. Never blocks; thread-safe.
  virtual void SendText(std::string text) = 0;
  // Sends a close frame after the queued frames, then ends the session.
  // Thread-safe; later calls are ignored.
  virtual void Close(uint16_t code, std::string reason) = 0;
};
using WorkerConnectionPtr = std::shared_ptr<WorkerConnection>;

// Close code for a session dropped by the API because it missed heartbeats
// (or was replaced by a new session of the same worker after missing them).
inline constexpr uint16_t kCloseHeartbeatTimeout = 4408;

struct HubOptions {
  std::chrono::milliseconds heartbeat_interval{5000};
  std::string data_dir;                 // snapshots go to data_dir/snapshots/
  size_t max_batch = 1000;              // events per ingest transaction
  size_t max_queue = 100000;            // queued events beyond this are not acked (the worker resends)
  // Back-pressure hysteresis on the ingest queue (events queued, not counting
  // the batch being committed). A few batches' worth bounds the ack latency
  // past saturation to about (high + max_batch) / ingest rate.
  size_t pause_queue_high = 2000;
  size_t resume_queue_low = 500;
  size_t max_pending_snapshots = 64;    // per session, awaiting their event
  double default_camera_fps = 5;
};

// A live-feed message for browsers ({"type":"event"|"visit"|"worker", ...}).
using LivePublisher = std::function<void(const Json&)>;
// Whether anyone listens to the live feed now; when it says no, the hub skips
// building the per-event live messages (they cost several µs per event).
using LiveWanted = std::function<bool()>;
// A live stream frame from a worker (issue #6): camera id, header, JPEG.
using FrameSink = std::function<void(const std::string& camera_id, const Json& header, std::string_view jpeg)>;
// A worker's live session ended (closed, timed out): its live streams are over.
using WorkerGoneSink = std::function<void(const std::string& worker_id)>;

class WorkerHub {
 public:
  using SessionId = uint64_t;

  WorkerHub(storage::Repository& repo, storage::EventIngestor& ingestor, Clock& clock, Metrics& metrics,
            HubOptions options);
  ~WorkerHub();
  WorkerHub(const WorkerHub&) = delete;
  WorkerHub& operator=(const WorkerHub&) = delete;

  // Before Start.
  void SetLivePublisher(LivePublisher p) { live_ = std::move(p); }
  void SetLiveWanted(LiveWanted w) { live_wanted_ = std::move(w); }
  void SetFrameSink(FrameSink s) { frame_sink_ = std::move(s); }
  void SetWorkerGoneSink(WorkerGoneSink s) { worker_gone_ = std::move(s); }

  // Marks every stored worker offline (no session survives a restart),
  // creates the snapshot directory and starts the ingest thread.
  Status Start();

  SessionId Open(WorkerConnectionPtr conn);
  void OnText(SessionId id, std::string_view text);
  void OnBinary(SessionId id, std::string_view frame);
  void OnClosed(SessionId id);

  // Asked by the transport before it reads the next frame of session `id`.
  // True: read on. False: the ingest queue is over its high-water mark; the
  // session is marked paused and `resume` will be called once (from the
  // ingest thread or from Shutdown, with no hub lock held) when the queue has
  // drained to its low-water mark; the transport then reads again. `resume`
  // must be cheap and must not call back into the hub synchronously.
  bool ReadyForMore(SessionId id, std::function<void()> resume);

  // Drops sessions whose last heartbeat is older than 3 × interval (by the
  // Clock) and reassigns their cameras. Called periodically by the server.
  void CheckHeartbeats();
  // Recomputes the camera assignment and tells workers whose set changed.
  // Called after camera changes through REST.
  Status Reassign();
  // A gallery delta for every live worker that announced `model`.
  void PublishGalleryDelta(const std::string& model, std::vector<protocol::GalleryEntry> upsert,
                           std::vector<std::string> remove);
  // Sends a command to a live worker; false when it is not connected.
  bool SendCommand(const std::string& worker_id, const protocol::Command& cmd);

  // Stops taking events, commits and acks what is queued, then closes every
  // session with 1001 "going away". Idempotent.
  void Shutdown();

  bool IsOnline(const std::string& worker_id) const;
  size_t OnlineWorkers() const;
  size_t IngestQueueDepth() const;
  // Sessions whose socket is not being read because of back-pressure.
  size_t PausedSessions() const;
  int64_t gallery_version() const;

 private:
  struct Session {
    WorkerConnectionPtr conn;
    std::string worker_id;  // empty until hello
    int bad_in_row = 0;
    bool live = false;      // the current session of worker_id
    bool paused = false;  // not read because of back-pressure (heartbeat clock frozen)
    std::chrono::steady_clock::time_point last_seen;
    int max_cameras = 0;
    std::vector<std::string> models;
    std::optional<std::vector<protocol::CameraAssignment>> assigned;  // last camera set sent
    std::map<std::string, std::string> snapshots;   // event_id -> JPEG, awaiting the event
    std::deque<std::string> snapshot_order;
    std::map<std::string, std::string> camera_states;  // last state stored per camera
  };
  struct Queued {
    SessionId session = 0;
    protocol::Event event;
    std::optional<std::string> snapshot;
    std::chrono::steady_clock::time_point received;
  };

  void HandleHello(SessionId id, protocol::Hello hello);
  void HandleHeartbeat(SessionId id, const protocol::Heartbeat& hb);
  void HandleEvent(SessionId id, protocol::Event ev);
  void HandleGoodbye(SessionId id, const protocol::Goodbye& bye);
  void BadMessage(SessionId id, const std::string& code, const std::string& message, bool counts);
  void Send(SessionId id, std::string text);
  void CloseSession(SessionId id, uint16_t code, const std::string& reason);
  void WorkerWentOffline(const std::string& worker_id);
  // `welcome_for`: a session that just said hello gets welcome + full galleries.
  Status ReassignLocked(std::optional<SessionId> welcome_for);
  std::vector<protocol::Gallery> FullGalleries(const std::vector<std::string>& models);
  void IngestLoop();
  void IngestBatch(std::vector<Queued> batch);
  void Publish(const Json& j);
  // Ends back-pressure (queue_mu_ held): unfreezes the paused sessions'
  // heartbeat clocks (resuming counts as a sign of life) and hands back their
  // resume callbacks, which the caller runs through ResumeReaders with no
  // lock held.
  std::vector<std::function<void()>> EndBackpressureLocked();
  static void ResumeReaders(std::vector<std::function<void()>> resumes);

  storage::Repository& repo_;
  storage::EventIngestor& ingestor_;
  Clock& clock_;
  Metrics& metrics_;
  HubOptions options_;
  LivePublisher live_;
  LiveWanted live_wanted_;
  FrameSink frame_sink_;
  WorkerGoneSink worker_gone_;

  mutable std::mutex mu_;  // sessions_, by_worker_, next_id_
  std::map<SessionId, Session> sessions_;
  std::map<std::string, SessionId> by_worker_;
  SessionId next_id_ = 1;

  std::mutex assign_mu_;  // serialises assignment runs (taken before mu_)
  std::atomic<int64_t> gallery_version_{0};

  mutable std::mutex queue_mu_;
  std::condition_variable queue_cv_;
  std::deque<Queued> queue_;
  bool stopping_ = false;
  bool shut_down_ = false;
  size_t in_flight_ = 0;
  bool backpressure_ = false;                  // set at high-water, cleared at low-water
  std::vector<std::function<void()>> resume_;  // paused readers, under queue_mu_
  std::condition_variable drained_cv_;
  std::thread ingest_thread_;
};

}  // namespace vigil::api
