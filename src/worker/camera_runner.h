// CameraRunner: one camera's thread. Opens the source (retrying with backoff
// while it fails), paces frames at the camera's fps, runs the CameraPipeline
// and hands finished events to the sink. Live network and device sources get
// a grabber thread that keeps only the newest frame, so when processing
// falls behind, stale frames are dropped, never queued; synthetic, file and
// image sources are read on demand.
//
// State changes (starting, running, retrying, failed, stopped) are logged
// once per change, never per frame.
//
// Thread-safety: Start/Stop from one controlling thread; status(),
// SetStream() and StopStream() from any thread.
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "core/clock.h"
#include "protocol/messages.h"
#include "worker/camera_pipeline.h"

namespace vigil::worker {

struct CameraSpec {
  std::string id;
  std::string name;
  std::string url;
  std::optional<std::string> site_id;
  double fps = 5;
  friend bool operator==(const CameraSpec&, const CameraSpec&) = default;
};

// Builds the camera's pipeline (detector and embedder are per thread).
using PipelineFactory = std::function<Result<std::unique_ptr<CameraPipeline>>(const CameraSpec&)>;
// Receives each finished event on the camera thread.
using EventSink = std::function<void(ReadyEvent)>;
// Receives live-stream frames (an encoded binary `frame` message).
using StreamSink = std::function<void(std::string frame)>;

class CameraRunner {
 public:
  CameraRunner(CameraSpec spec, Clock& clock, PipelineFactory factory, EventSink events, StreamSink stream);
  ~CameraRunner();  // stops

  void Start();
  // Stops capture, finishes the in-flight frame, ends the live tracks (their
  // events go to the sink) and joins the thread.
  void Stop();

  const CameraSpec& spec() const { return spec_; }
  protocol::CameraStatus status();
  int64_t faces_seen() const { return faces_seen_; }

  // Live stream between start_stream and stop_stream.
  void StartStream(double fps, int64_t max_width);
  void StopStream();
  bool streaming() const { return stream_on_; }

 private:
  void Run();
  void SetState(const std::string& state, const std::string& error);
  bool WaitFor(std::chrono::steady_clock::duration d);  // false when stopping
  void MaybeStream(const vision::Frame& frame, CameraPipeline& pipeline);

  CameraSpec spec_;
  Clock& clock_;
  PipelineFactory factory_;
  EventSink events_;
  StreamSink stream_;

  std::thread thread_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::string state_ = "starting";
  std::string error_;
  // fps measurement: frames processed in the current window
  int64_t window_start_ms_ = 0;
  int64_t window_frames_ = 0;
  double fps_ = 0;
  int faces_now_ = 0;
  std::atomic<int64_t> faces_seen_{0};

  std::atomic<bool> stream_on_{false};
  std::atomic<double> stream_fps_{5};
  std::atomic<int64_t> stream_max_width_{640};
  int64_t stream_seq_ = 0;
  std::chrono::steady_clock::time_point next_stream_{};
};

}  // namespace vigil::worker
