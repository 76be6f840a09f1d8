#include "worker/camera_pipeline.h"

#include <algorithm>
#include <opencv2/imgcodecs.hpp>

#include "core/logging.h"
#include "core/uuid.h"
#include "vision/face_quality.h"

namespace vigil::worker {
namespace {

// The face box grown by 25 % on each side (the API shows and re-embeds the
// crop; a little context helps both), clipped to the frame.
cv::Rect CropRect(const cv::Rect2f& box, cv::Size size) {
  float mx = box.width * 0.25f, my = box.height * 0.25f;
  cv::Rect r(cv::Point(static_cast<int>(box.x - mx), static_cast<int>(box.y - my)),
             cv::Point(static_cast<int>(box.x + box.width + mx), static_cast<int>(box.y + box.height + my)));
  return r & cv::Rect(0, 0, size.width, size.height);
}

float Dot(const std::vector<float>& a, const std::vector<float>& b) {
  if (a.size() != b.size()) return 0;
  float s = 0;
  for (size_t i = 0; i < a.size(); ++i) s += a[i] * b[i];
  return s;
}

}  // namespace

CameraPipeline::CameraPipeline(PipelineOptions options, vision::FaceDetectorPtr detector,
                               vision::FaceEmbedderPtr embedder, const StaffDirectory& staff)
    : options_(std::move(options)),
      detector_(std::move(detector)),
      embedder_(std::move(embedder)),
      staff_(staff),
      staff_threshold_(options_.staff_threshold.value_or(embedder_->default_threshold())),
      same_person_threshold_(embedder_->default_threshold()),
      tracker_(options_.tracker) {}

Result<FrameResult> CameraPipeline::Process(const vision::Frame& frame) {
  VIGIL_ASSIGN_OR_RETURN(auto detections, detector_->Detect(frame.bgr));
  FrameResult out;
  out.faces = static_cast<int>(detections.size());
  TrackUpdate update = tracker_.Update(detections, frame.captured_unix_ms);
  // Tracks that ended are done before this frame's faces are looked at.
  EndTracks(update.ended, frame.captured_unix_ms, &out);
  for (size_t i = 0; i < detections.size(); ++i) Observe(update.track_of[i], detections[i], frame);
  return out;
}

FrameResult CameraPipeline::Finish(int64_t now_ms) {
  FrameResult out;
  EndTracks(tracker_.EndAll(), now_ms, &out);
  return out;
}

void CameraPipeline::Observe(int64_t track_id, const vision::Detection& d, const vision::Frame& frame) {
  TrackFace& f = faces_[track_id];
  float q = vision::FaceQuality(frame.bgr, d);
  if (q > f.best_quality) {
    f.best_quality = q;
    f.best = d;
    f.best_captured_ms = frame.captured_unix_ms;
    cv::Rect r = CropRect(d.box, frame.bgr.size());
    if (r.area() > 0) f.best_crop = frame.bgr(r).clone();
  }
  bool need = !f.embedding || f.best_quality > f.embedded_quality * options_.reembed_gain;
  if (!need || f.best_captured_ms != frame.captured_unix_ms) return;  // only the current frame can be embedded
  auto emb = embedder_->Embed(frame.bgr, d);
  if (!emb.ok()) {
    GetLogger("pipeline")->debug("embed failed camera={} track={}: {}", options_.camera_id, track_id,
                                 emb.status().message());
    return;
  }
  f.embedding = std::move(*emb);
  f.embedded_quality = f.best_quality;
  f.staff = staff_.Match(f.embedding->model, f.embedding->values, staff_threshold_);
}

bool CameraPipeline::InCooldown(const TrackFace& f, int64_t now_ms) const {
  for (const auto& r : recent_) {
    if (now_ms - r.at_ms >= options_.event_cooldown.count()) continue;
    if (f.staff && r.staff_id && *r.staff_id == f.staff->staff_id) return true;
    if (Dot(r.embedding, f.embedding->values) >= same_person_threshold_) return true;
  }
  return false;
}

void CameraPipeline::EndTracks(const std::vector<Track>& ended, int64_t now_ms, FrameResult* out) {
  while (!recent_.empty() && now_ms - recent_.front().at_ms >= options_.event_cooldown.count()) recent_.pop_front();
  for (const Track& t : ended) {
    auto it = faces_.find(t.id);
    if (it == faces_.end()) continue;
    TrackFace f = std::move(it->second);
    faces_.erase(it);
    if (t.hits < options_.min_hits || !f.embedding) continue;
    if (InCooldown(f, now_ms)) {
      ++out->suppressed;
      continue;
    }
    ReadyEvent ev;
    protocol::Event& e = ev.event;
    e.event_id = NewTimeOrderedUuid(f.best_captured_ms);
    e.worker_id = options_.worker_id;
    e.camera_id = options_.camera_id;
    e.site_id = options_.site_id;
    e.captured_at_ms = f.best_captured_ms;
    e.track_id = t.id;
    e.bbox = {f.best.box.x, f.best.box.y, f.best.box.width, f.best.box.height};
    e.det_score = std::clamp<double>(f.best.score, 0, 1);
    e.quality = std::clamp<double>(f.best_quality, 0, 1);
    e.model = f.embedding->model;
    e.embedding = f.embedding->values;
    if (f.staff) {
      e.staff_id = f.staff->staff_id;
      e.staff_similarity = f.staff->similarity;
    }
    if (!f.best_crop.empty()) {
      std::vector<uchar> buf;
      if (cv::imencode(".jpg", f.best_crop, buf, {cv::IMWRITE_JPEG_QUALITY, options_.jpeg_quality})) {
        ev.jpeg.assign(buf.begin(), buf.end());
      }
    }
    e.has_snapshot = !ev.jpeg.empty();
    recent_.push_back(Recent{now_ms, e.staff_id, e.embedding});
    out->events.push_back(std::move(ev));
  }
}

std::vector<protocol::StreamTrack> CameraPipeline::CurrentTracks() const {
  std::vector<protocol::StreamTrack> out;
  for (const auto& [id, t] : tracker_.live()) {
    protocol::StreamTrack st;
    st.track_id = id;
    st.bbox = {t.last.box.x, t.last.box.y, t.last.box.width, t.last.box.height};
    auto it = faces_.find(id);
    if (it != faces_.end() && it->second.staff) {
      st.staff_id = it->second.staff->staff_id;
      if (!it->second.staff->name.empty()) st.name = it->second.staff->name;
    }
    out.push_back(std::move(st));
  }
  return out;
}

}  // namespace vigil::worker
