// CameraPipeline: what happens to each frame of one camera.
//
//   detect → track (IouTracker) → keep each track's best-quality face →
//   embed when a track is new or its best face improved notably → match the
//   staff gallery → when the track ends (or reaches max age) emit ONE event
//   with the best face's crop (JPEG) and embedding.
//
// A per-camera, per-person cooldown suppresses repeat events: a staff member
// by staff id, anyone else by embedding similarity to the camera's recent
// events. Tracks seen in fewer than min_hits frames are treated as noise.
//
// Thread-safety: not thread-safe; one per camera thread. CurrentTracks() must
// be called on that thread too (the runner copies it for the live stream).
#pragma once

#include <chrono>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/status.h"
#include "protocol/messages.h"
#include "vision/face_detector.h"
#include "vision/face_embedder.h"
#include "vision/frame_source.h"
#include "worker/staff_directory.h"
#include "worker/tracker.h"

namespace vigil::worker {

struct PipelineOptions {
  std::string worker_id;
  std::string camera_id;
  std::optional<std::string> site_id;
  TrackerOptions tracker;
  std::chrono::milliseconds event_cooldown{30000};
  std::optional<float> staff_threshold;  // unset: the embedder's default
  // Re-embed when the best quality grows by this factor over the embedded one.
  float reembed_gain = 1.2f;
  int min_hits = 2;
  int jpeg_quality = 90;
};

// An event ready for the spool: the message and its face crop.
struct ReadyEvent {
  protocol::Event event;
  std::string jpeg;
};

struct FrameResult {
  int faces = 0;                  // detections in this frame
  std::vector<ReadyEvent> events; // tracks that ended with an event
  int suppressed = 0;             // tracks that ended inside their cooldown
};

class CameraPipeline {
 public:
  CameraPipeline(PipelineOptions options, vision::FaceDetectorPtr detector, vision::FaceEmbedderPtr embedder,
                 const StaffDirectory& staff);

  Result<FrameResult> Process(const vision::Frame& frame);
  // Ends every live track (camera stopped or worker shutting down).
  FrameResult Finish(int64_t now_ms);

  // The live tracks, for the live stream's overlay.
  std::vector<protocol::StreamTrack> CurrentTracks() const;
  const PipelineOptions& options() const { return options_; }
  void set_site_id(std::optional<std::string> site) { options_.site_id = std::move(site); }

 private:
  struct TrackFace {
    float best_quality = -1;
    vision::Detection best;
    cv::Mat best_crop;          // crop of the best face (with margin)
    int64_t best_captured_ms = 0;
    std::optional<vision::Embedding> embedding;
    float embedded_quality = -1;
    std::optional<StaffMatch> staff;
  };
  struct Recent {
    int64_t at_ms;
    std::optional<std::string> staff_id;
    std::vector<float> embedding;
  };

  void Observe(int64_t track_id, const vision::Detection& d, const vision::Frame& frame);
  void EndTracks(const std::vector<Track>& ended, int64_t now_ms, FrameResult* out);
  bool InCooldown(const TrackFace& f, int64_t now_ms) const;

  PipelineOptions options_;
  vision::FaceDetectorPtr detector_;
  vision::FaceEmbedderPtr embedder_;
  const StaffDirectory& staff_;
  float staff_threshold_;
  float same_person_threshold_;
  IouTracker tracker_;
  std::map<int64_t, TrackFace> faces_;
  std::deque<Recent> recent_;
};

}  // namespace vigil::worker
