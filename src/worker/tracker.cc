#include "worker/tracker.h"

#include <algorithm>
#include <tuple>

namespace vigil::worker {

IouTracker::IouTracker(TrackerOptions options) : options_(options) {}

TrackUpdate IouTracker::Update(const std::vector<vision::Detection>& detections, int64_t now_ms) {
  TrackUpdate out;
  out.track_of.assign(detections.size(), 0);

  // Age out first, so a track that is too old is not extended by this frame.
  for (auto it = live_.begin(); it != live_.end();) {
    const Track& t = it->second;
    bool missed = now_ms - t.last_seen_ms > options_.max_missed.count();
    bool aged = now_ms - t.first_seen_ms >= options_.max_age.count();
    if (missed || aged) {
      out.ended.push_back(t);
      out.ended.back().reached_max_age = aged && !missed;
      it = live_.erase(it);
    } else {
      ++it;
    }
  }

  std::vector<std::tuple<float, int64_t, size_t>> pairs;  // (iou, track, detection)
  for (const auto& [id, t] : live_) {
    for (size_t d = 0; d < detections.size(); ++d) {
      float iou = vision::BoxIoU(t.last.box, detections[d].box);
      if (iou >= options_.iou_threshold) pairs.emplace_back(iou, id, d);
    }
  }
  std::sort(pairs.begin(), pairs.end(), [](const auto& a, const auto& b) { return std::get<0>(a) > std::get<0>(b); });
  std::vector<bool> det_used(detections.size(), false);
  std::map<int64_t, bool> track_used;
  for (const auto& [iou, id, d] : pairs) {
    if (det_used[d] || track_used[id]) continue;
    det_used[d] = true;
    track_used[id] = true;
    Track& t = live_[id];
    t.last = detections[d];
    t.last_seen_ms = now_ms;
    ++t.hits;
    out.track_of[d] = id;
  }
  for (size_t d = 0; d < detections.size(); ++d) {
    if (det_used[d]) continue;
    Track t;
    t.id = next_id_++;
    t.last = detections[d];
    t.first_seen_ms = t.last_seen_ms = now_ms;
    t.hits = 1;
    live_[t.id] = t;
    out.track_of[d] = t.id;
  }
  return out;
}

std::vector<Track> IouTracker::EndAll() {
  std::vector<Track> out;
  for (auto& [id, t] : live_) out.push_back(t);
  live_.clear();
  return out;
}

}  // namespace vigil::worker
