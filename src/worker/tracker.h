// IoU tracker: links the detections of consecutive frames of one camera into
// tracks with stable ids, so one person walking past yields one event.
//
// Each Update() matches detections to live tracks greedily by descending box
// IoU (at least options.iou_threshold); unmatched detections start new
// tracks. A track ends when it has not been matched for options.max_missed,
// or when it reaches options.max_age (a person standing in view for a long
// time still produces events, one per max_age; the event cooldown keeps
// those rare). Times come from the caller (frame capture times), so tests
// drive it without a clock.
//
// Thread-safety: not thread-safe; one tracker per camera.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <vector>

#include "vision/detection.h"

namespace vigil::worker {

struct TrackerOptions {
  float iou_threshold = 0.3f;
  std::chrono::milliseconds max_missed{1500};
  std::chrono::milliseconds max_age{10000};
};

struct Track {
  int64_t id = 0;
  vision::Detection last;       // latest matched detection
  int64_t first_seen_ms = 0;
  int64_t last_seen_ms = 0;
  int hits = 0;                 // frames in which it was matched
  bool reached_max_age = false; // ended by age rather than by leaving
};

struct TrackUpdate {
  std::vector<int64_t> track_of;  // per input detection: the track id it belongs to
  std::vector<Track> ended;       // tracks that ended at this update
};

class IouTracker {
 public:
  explicit IouTracker(TrackerOptions options = {});
  // Feeds the detections of one frame captured at `now_ms`.
  TrackUpdate Update(const std::vector<vision::Detection>& detections, int64_t now_ms);
  // Ends every live track (camera stopped, shutdown).
  std::vector<Track> EndAll();
  const std::map<int64_t, Track>& live() const { return live_; }

 private:
  TrackerOptions options_;
  std::map<int64_t, Track> live_;
  int64_t next_id_ = 1;
};

}  // namespace vigil::worker
