#include "worker/camera_runner.h"

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "core/logging.h"
#include "protocol/codec.h"
#include "worker/backoff.h"

namespace vigil::worker {
namespace {

// A live network or device source: worth a grabber thread that drains it.
bool NeedsGrabber(const vision::FrameSource& src) {
  return src.is_live() && src.url().rfind("mock://", 0) != 0;
}

// Keeps only the newest frame of a live source.
class LatestFrameGrabber {
 public:
  explicit LatestFrameGrabber(vision::FrameSource& src) : src_(src), thread_([this] { Loop(); }) {}
  ~LatestFrameGrabber() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    thread_.join();
  }
  // The newest frame not taken yet; Unavailable when the source failed,
  // an empty optional when nothing new arrived.
  Result<std::optional<vision::Frame>> Take(int64_t* stale_dropped) {
    std::lock_guard<std::mutex> lock(mu_);
    if (!failure_.ok() && !latest_) return failure_;
    std::optional<vision::Frame> f;
    f.swap(latest_);
    *stale_dropped += skipped_;
    skipped_ = 0;
    return f;
  }

 private:
  void Loop() {
    for (;;) {
      {
        std::lock_guard<std::mutex> lock(mu_);
        if (stop_ || !failure_.ok()) return;
      }
      auto f = src_.Read();
      std::lock_guard<std::mutex> lock(mu_);
      if (!f.ok()) {
        failure_ = f.status();
        return;
      }
      if (latest_) ++skipped_;
      latest_ = std::move(*f);
    }
  }
  vision::FrameSource& src_;
  std::mutex mu_;
  bool stop_ = false;
  Status failure_;
  std::optional<vision::Frame> latest_;
  int64_t skipped_ = 0;
  std::thread thread_;
};

}  // namespace

CameraRunner::CameraRunner(CameraSpec spec, Clock& clock, PipelineFactory factory, EventSink events,
                           StreamSink stream)
    : spec_(std::move(spec)),
      clock_(clock),
      factory_(std::move(factory)),
      events_(std::move(events)),
      stream_(std::move(stream)) {}

CameraRunner::~CameraRunner() { Stop(); }

void CameraRunner::Start() {
  if (thread_.joinable()) return;
  thread_ = std::thread([this] { Run(); });
}

void CameraRunner::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

bool CameraRunner::WaitFor(std::chrono::steady_clock::duration d) {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait_for(lock, d, [this] { return stop_; });
  return !stop_;
}

void CameraRunner::SetState(const std::string& state, const std::string& error) {
  bool changed;
  {
    std::lock_guard<std::mutex> lock(mu_);
    changed = state != state_;
    state_ = state;
    error_ = error;
    if (state != "running") fps_ = 0;
  }
  if (!changed) return;
  auto log = GetLogger("camera");
  std::string url = vision::MaskUrlCredentials(spec_.url);
  if (error.empty()) {
    log->info("camera={} state={} url={}", spec_.id, state, LogValue(url));
  } else {
    log->warn("camera={} state={} url={} error={}", spec_.id, state, LogValue(url), LogValue(error));
  }
}

protocol::CameraStatus CameraRunner::status() {
  std::lock_guard<std::mutex> lock(mu_);
  protocol::CameraStatus s;
  s.id = spec_.id;
  s.state = state_;
  s.fps = fps_;
  s.faces = faces_now_;
  if (!error_.empty()) s.error = error_;
  return s;
}

void CameraRunner::StartStream(double fps, int64_t max_width) {
  stream_fps_ = fps > 0 ? std::min(fps, 30.0) : 5.0;
  stream_max_width_ = max_width > 0 ? max_width : 640;
  stream_on_ = true;
}

void CameraRunner::StopStream() { stream_on_ = false; }

void CameraRunner::MaybeStream(const vision::Frame& frame, CameraPipeline& pipeline) {
  if (!stream_on_ || !stream_) return;
  auto now = std::chrono::steady_clock::now();
  // Deadline pacing: slots follow the previous slot, not the last frame, and
  // a frame up to half a period early counts as on time, so a camera running
  // at exactly the stream rate with some jitter is not cut to half the rate.
  // The long-run rate never exceeds the requested fps. After a gap (stream
  // start, a stalled camera) pacing restarts from now instead of bursting.
  const auto period = std::chrono::microseconds(static_cast<int64_t>(1e6 / stream_fps_.load()));
  if (now + period / 2 < next_stream_) return;
  next_stream_ = (now > next_stream_ + period) ? now + period : next_stream_ + period;
  cv::Mat img = frame.bgr;
  double scale = 1.0;
  if (img.cols > stream_max_width_) {
    scale = static_cast<double>(stream_max_width_) / img.cols;
    cv::resize(frame.bgr, img, cv::Size(), scale, scale, cv::INTER_AREA);
  }
  std::vector<uchar> jpeg;
  if (!cv::imencode(".jpg", img, jpeg, {cv::IMWRITE_JPEG_QUALITY, 75})) return;
  protocol::StreamFrameHeader h;
  h.camera_id = spec_.id;
  h.seq = ++stream_seq_;
  h.captured_at_ms = frame.captured_unix_ms;
  h.width = img.cols;
  h.height = img.rows;
  h.tracks = pipeline.CurrentTracks();
  for (auto& t : h.tracks) {
    for (auto& v : t.bbox) v *= scale;
  }
  stream_(protocol::EncodeStreamFrame(h, std::string_view(reinterpret_cast<const char*>(jpeg.data()), jpeg.size())));
}

void CameraRunner::Run() {
  auto log = GetLogger("camera");
  SetState("starting", "");
  auto pipeline = factory_(spec_);
  if (!pipeline.ok()) {
    // A missing model will not appear by retrying; say so once.
    SetState("failed", pipeline.status().message());
    return;
  }
  Backoff backoff(std::chrono::milliseconds(1000), std::chrono::milliseconds(30000));
  const auto interval = std::chrono::microseconds(static_cast<int64_t>(1e6 / std::max(0.1, spec_.fps)));
  int64_t stale_dropped = 0;
  while (true) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stop_) break;
    }
    auto src = vision::OpenFrameSource(spec_.url, clock_);
    if (!src.ok()) {
      SetState("retrying", src.status().message());
      if (!WaitFor(backoff.Next())) break;
      continue;
    }
    std::unique_ptr<LatestFrameGrabber> grabber;
    if (NeedsGrabber(**src)) grabber = std::make_unique<LatestFrameGrabber>(**src);
    Status failure;
    auto next = std::chrono::steady_clock::now();
    while (true) {
      // Pace: one frame per interval; when late, skip ahead instead of catching up.
      auto now = std::chrono::steady_clock::now();
      if (next > now && !WaitFor(next - now)) break;
      {
        std::lock_guard<std::mutex> lock(mu_);
        if (stop_) break;
      }
      next = std::max(next + interval, std::chrono::steady_clock::now());
      std::optional<vision::Frame> frame;
      if (grabber) {
        auto taken = grabber->Take(&stale_dropped);
        if (!taken.ok()) {
          failure = taken.status();
          break;
        }
        frame = std::move(*taken);
        if (!frame) continue;  // nothing new yet
      } else {
        auto f = (*src)->Read();
        if (!f.ok()) {
          failure = f.status();
          break;
        }
        frame = std::move(*f);
      }
      auto result = (*pipeline)->Process(*frame);
      if (!result.ok()) {
        log->warn("camera={} frame failed: {}", spec_.id, result.status().message());
        continue;
      }
      SetState("running", "");
      backoff.Reset();
      faces_seen_ += result->faces;
      for (auto& e : result->events) events_(std::move(e));
      MaybeStream(*frame, **pipeline);
      int64_t now_ms = clock_.NowUnixMs();
      std::lock_guard<std::mutex> lock(mu_);
      faces_now_ = result->faces;
      ++window_frames_;
      if (window_start_ms_ == 0) window_start_ms_ = now_ms;
      if (now_ms - window_start_ms_ >= 2000) {
        fps_ = static_cast<double>(window_frames_) * 1000.0 / static_cast<double>(now_ms - window_start_ms_);
        window_frames_ = 0;
        window_start_ms_ = now_ms;
      }
    }
    grabber.reset();
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stop_) break;
    }
    // The source ended or failed: reopen with backoff (a finite file ends
    // for good and is reported as stopped).
    if (failure.code() == StatusCode::kNotFound) {
      SetState("stopped", "end of source");
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [this] { return stop_; });
      break;
    }
    SetState("retrying", failure.message());
    if (!WaitFor(backoff.Next())) break;
  }
  auto rest = (*pipeline)->Finish(clock_.NowUnixMs());
  for (auto& e : rest.events) events_(std::move(e));
  if (stale_dropped > 0) log->info("camera={} stale_frames_dropped={}", spec_.id, stale_dropped);
  SetState("stopped", "");
}

}  // namespace vigil::worker
