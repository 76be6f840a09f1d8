// StreamHub: browsers watching a camera's live MJPEG stream (issue #6), free
// of any transport. The HTTP layer joins a viewer per open
// `GET /api/v1/cameras/{id}/stream.mjpeg` response and leaves when the
// response ends; the worker hub hands it every live frame a worker sends.
//
// Per camera it keeps the set of viewers and the worker asked to stream:
// the first viewer makes it send `start_stream` to that worker, the last one
// leaving sends `stop_stream`. Each frame becomes one multipart part (built
// once per frame, shared by every viewer); the face boxes and names of the
// current tracks travel in the part's `X-Vigil-Meta` header as JSON, for the
// dashboard to draw over the image (the API never decodes a JPEG).
//
// A viewer is a one-slot mailbox: Offer replaces a part it has not started
// writing yet, so a slow reader drops frames and never holds more than one
// part in flight plus one waiting, and never slows the worker or the others.
//
// Thread-safety: every public method may be called from any thread. Viewer
// callbacks (Offer, End) run without the hub's lock held, except that the
// worker commands are sent under it so start/stop reach a worker in the order
// the hub decided them (WorkerHub::SendCommand only queues).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/json_util.h"
#include "core/status.h"
#include "protocol/messages.h"

namespace vigil::api {

// One open MJPEG response, as the hub sees it.
class StreamViewer {
 public:
  virtual ~StreamViewer() = default;
  // A complete multipart part (delimiter, part headers, JPEG). Never blocks;
  // an earlier part not yet being written is dropped in its favour.
  virtual void Offer(std::shared_ptr<const std::string> part) = 0;
  // The stream is over (worker gone, camera moved, API stopping): finish the
  // response and close. The viewer still calls Leave when it is done.
  virtual void End() = 0;
};
using StreamViewerPtr = std::shared_ptr<StreamViewer>;

// What a viewer asks the worker for (validated by the caller).
struct StreamParams {
  double fps = 5;
  int64_t max_width = 640;
};

class StreamHub {
 public:
  using Token = uint64_t;
  // Sends a command to a live worker; false when it is not connected.
  using CommandSender = std::function<bool(const std::string& worker_id, const protocol::Command& cmd)>;

  // The multipart boundary of every stream.
  static constexpr std::string_view kBoundary = "vigil-frame";

  explicit StreamHub(CommandSender send);
  StreamHub(const StreamHub&) = delete;
  StreamHub& operator=(const StreamHub&) = delete;

  // Adds a viewer of `camera_id`, run by `worker_id`. Sends start_stream when
  // it is the camera's first viewer, or when it asks for a higher fps or
  // width than the stream has. Unavailable after CloseAll or when the worker
  // is no longer connected.
  Result<Token> Join(const std::string& camera_id, const std::string& worker_id, StreamParams params,
                     std::weak_ptr<StreamViewer> viewer);
  // Removes a viewer; the camera's last one sends stop_stream. Idempotent.
  void Leave(Token token);

  // A live frame from a worker: relayed to the camera's viewers, if any.
  void OnFrame(const std::string& camera_id, const Json& header, std::string_view jpeg);
  // Ends every stream served by `worker_id` (its session closed).
  void WorkerGone(const std::string& worker_id);
  // Ends the streams of `camera_id` (deleted, disabled or moved), telling its
  // worker to stop.
  void EndCamera(const std::string& camera_id);
  // Ends every stream and refuses new viewers (API shutdown).
  void CloseAll();

  // (camera id, worker id) of every camera with viewers.
  std::vector<std::pair<std::string, std::string>> ActiveStreams() const;
  size_t viewers() const;
  uint64_t frames_relayed() const { return frames_relayed_.load(); }

  // One multipart part for `jpeg` with `meta` as X-Vigil-Meta (exposed for tests).
  static std::string BuildPart(const Json& meta, std::string_view jpeg);

 private:
  struct CameraStream {
    std::string worker_id;
    StreamParams params;
    std::set<Token> viewers;
  };
  // Under mu_: sends the command, logging when the worker is gone.
  bool SendLocked(const std::string& worker_id, const std::string& command, const std::string& camera_id,
                  const StreamParams* params);
  // Removes `camera_id`'s stream and returns its viewers (under mu_).
  std::vector<StreamViewerPtr> TakeCameraLocked(const std::string& camera_id);

  CommandSender send_;
  mutable std::mutex mu_;
  std::map<std::string, CameraStream> cameras_;
  std::map<Token, std::pair<std::string, std::weak_ptr<StreamViewer>>> viewers_;  // token -> (camera, viewer)
  Token next_token_ = 1;
  bool closed_ = false;
  std::atomic<uint64_t> frames_relayed_{0};
};

}  // namespace vigil::api
