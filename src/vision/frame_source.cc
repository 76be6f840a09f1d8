#include "vision/frame_source.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <map>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <opencv2/videoio.hpp>

#include "core/logging.h"
#include "vision/mock_faces.h"

namespace vigil::vision {
namespace {

namespace fs = std::filesystem;

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

bool IsImageFile(const fs::path& p) {
  static const char* kExts[] = {".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff", ".ppm", ".pgm"};
  const std::string ext = Lower(p.extension().string());
  return std::any_of(std::begin(kExts), std::end(kExts), [&](const char* e) { return ext == e; });
}

// Grey or BGRA frames from odd sources become 3-channel BGR.
cv::Mat ToBgr(const cv::Mat& m) {
  if (m.type() == CV_8UC3) return m;
  cv::Mat out;
  if (m.channels() == 1) {
    cv::cvtColor(m, out, cv::COLOR_GRAY2BGR);
  } else if (m.channels() == 4) {
    cv::cvtColor(m, out, cv::COLOR_BGRA2BGR);
  } else {
    return {};
  }
  if (out.depth() != CV_8U) out.convertTo(out, CV_8U);
  return out;
}

// OpenCV VideoCapture over a file, stream or device. With `loop_path` set (a
// file opened with ?loop=1) the end of the file reopens it from the start.
class CaptureSource final : public FrameSource {
 public:
  CaptureSource(std::unique_ptr<cv::VideoCapture> cap, std::string url, bool live, Clock& clock,
                std::string loop_path = {})
      : cap_(std::move(cap)), url_(std::move(url)), live_(live), clock_(clock), loop_path_(std::move(loop_path)) {}

  Result<Frame> Read() override {
    cv::Mat m;
    bool ok = false;
    try {
      ok = cap_->read(m);
      // Reopening rather than seeking to frame 0: seeking is unreliable for
      // some codecs and containers. A file that yields nothing even right
      // after reopening is at its end for good (no endless empty loop).
      if ((!ok || m.empty()) && !loop_path_.empty() && frames_this_pass_ > 0) {
        frames_this_pass_ = 0;
        cap_->release();
        ok = cap_->open(loop_path_, cv::CAP_FFMPEG) && cap_->read(m);
      }
    } catch (const cv::Exception& e) {
      return Unavailable("capture " + url_ + ": " + e.what());
    }
    if (!ok || m.empty()) {
      if (live_) return Unavailable("capture " + url_ + " stopped delivering frames");
      return NotFound("end of " + url_);
    }
    Frame f;
    f.bgr = ToBgr(m);
    if (f.bgr.empty()) return Internal("capture " + url_ + ": unsupported pixel format");
    f.captured_unix_ms = clock_.NowUnixMs();
    f.seq = seq_++;
    ++frames_this_pass_;
    return f;
  }
  std::string url() const override { return url_; }
  bool is_live() const override { return live_; }

 private:
  std::unique_ptr<cv::VideoCapture> cap_;
  std::string url_;
  bool live_;
  Clock& clock_;
  std::string loop_path_;
  int64_t seq_ = 0;
  int64_t frames_this_pass_ = 0;
};

// Images (a folder in name order, or one file), each read once, or over and
// over with `loop` (as long as at least one of them is readable).
class ImageListSource final : public FrameSource {
 public:
  ImageListSource(std::vector<fs::path> files, std::string url, Clock& clock, bool loop = false)
      : files_(std::move(files)), url_(std::move(url)), clock_(clock), loop_(loop) {}

  Result<Frame> Read() override {
    if (loop_ && next_ >= files_.size() && frames_this_pass_ > 0) {
      next_ = 0;
      frames_this_pass_ = 0;
    }
    while (next_ < files_.size()) {
      const fs::path& p = files_[next_++];
      cv::Mat m = cv::imread(p.string(), cv::IMREAD_COLOR);
      if (m.empty()) {
        // A broken file in a folder is skipped, not fatal: the rest is still useful.
        GetLogger("vision")->warn("frame_source skipped unreadable image path={}", LogValue(p.string()));
        continue;
      }
      Frame f;
      f.bgr = std::move(m);
      f.captured_unix_ms = clock_.NowUnixMs();
      f.seq = seq_++;
      ++frames_this_pass_;
      return f;
    }
    return NotFound("end of " + url_);
  }
  std::string url() const override { return url_; }
  bool is_live() const override { return false; }

 private:
  std::vector<fs::path> files_;
  size_t next_ = 0;
  std::string url_;
  Clock& clock_;
  bool loop_;
  int64_t seq_ = 0;
  int64_t frames_this_pass_ = 0;
};

// mock://<name>: the synthetic scene, rendered at the clock's current time.
class MockSource final : public FrameSource {
 public:
  MockSource(std::string url, const std::string& name, int width, int height, int64_t fail_after, Clock& clock)
      : url_(std::move(url)),
        scene_(name, width, height),
        fail_after_(fail_after),
        clock_(clock),
        start_ms_(clock.NowUnixMs()) {}

  Result<Frame> Read() override {
    if (fail_after_ >= 0 && seq_ >= fail_after_) return Unavailable(url_ + ": simulated camera failure");
    Frame f;
    f.captured_unix_ms = clock_.NowUnixMs();
    f.bgr = scene_.Render(f.captured_unix_ms - start_ms_);
    f.seq = seq_++;
    return f;
  }
  std::string url() const override { return url_; }
  bool is_live() const override { return true; }

 private:
  std::string url_;
  MockScene scene_;
  int64_t fail_after_;
  Clock& clock_;
  int64_t start_ms_;
  int64_t seq_ = 0;
};

Result<FrameSourcePtr> OpenMock(const std::string& url, Clock& clock) {
  std::string rest = url.substr(7);
  std::string name = rest, query;
  if (const auto q = rest.find('?'); q != std::string::npos) {
    name = rest.substr(0, q);
    query = rest.substr(q + 1);
  }
  if (name.empty()) return InvalidArgument("mock source needs a name: mock://<name>");
  std::map<std::string, int64_t> params = {{"fail_after", -1}, {"width", 640}, {"height", 480}};
  size_t pos = 0;
  while (pos < query.size()) {
    size_t amp = query.find('&', pos);
    if (amp == std::string::npos) amp = query.size();
    const std::string kv = query.substr(pos, amp - pos);
    pos = amp + 1;
    if (kv.empty()) continue;
    const auto eq = kv.find('=');
    const std::string key = kv.substr(0, eq);
    if (!params.contains(key) || eq == std::string::npos) {
      return InvalidArgument("mock source: unknown parameter '" + kv + "' (fail_after, width, height)");
    }
    try {
      size_t used = 0;
      const long long v = std::stoll(kv.substr(eq + 1), &used);
      if (used != kv.size() - eq - 1) throw std::invalid_argument(kv);
      params[key] = v;
    } catch (const std::exception&) {
      return InvalidArgument("mock source: '" + kv + "' is not an integer");
    }
  }
  const int64_t w = params["width"], h = params["height"];
  if (w < 160 || w > 4096 || h < 120 || h > 4096) {
    return InvalidArgument("mock source: width/height must be within 160x120 .. 4096x4096");
  }
  return FrameSourcePtr(
      std::make_unique<MockSource>(url, name, static_cast<int>(w), static_cast<int>(h), params["fail_after"], clock));
}

// "path?loop=1": the options a file, folder or image source accepts. A path
// that exists as written is taken literally (file names may contain '?').
struct FileUrl {
  std::string path;
  bool loop = false;
};

Result<FileUrl> ParseFileUrl(const std::string& url) {
  FileUrl out;
  out.path = url.rfind("file://", 0) == 0 ? url.substr(7) : url;
  std::error_code ec;
  const auto q = out.path.rfind('?');
  if (q == std::string::npos || fs::exists(out.path, ec)) return out;
  const std::string query = out.path.substr(q + 1);
  out.path.resize(q);
  size_t pos = 0;
  while (pos <= query.size()) {
    size_t amp = query.find('&', pos);
    if (amp == std::string::npos) amp = query.size();
    const std::string kv = query.substr(pos, amp - pos);
    pos = amp + 1;
    if (kv.empty()) continue;
    if (kv == "loop" || kv == "loop=1" || kv == "loop=true") {
      out.loop = true;
    } else if (kv == "loop=0" || kv == "loop=false") {
      out.loop = false;
    } else {
      return InvalidArgument("file source: unknown parameter '" + kv + "' (expected loop=1 or loop=0)");
    }
  }
  return out;
}

bool IsDeviceIndex(const std::string& s) {
  return !s.empty() && s.size() <= 3 &&
         std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isdigit(c); });
}

}  // namespace

std::string MaskUrlCredentials(const std::string& url) {
  const auto scheme = url.find("://");
  if (scheme == std::string::npos) return url;
  const auto host_start = scheme + 3;
  const auto at = url.find('@', host_start);
  const auto slash = url.find('/', host_start);
  if (at == std::string::npos || (slash != std::string::npos && at > slash)) return url;
  const auto colon = url.find(':', host_start);
  if (colon == std::string::npos || colon > at) return url;
  return url.substr(0, colon + 1) + "***" + url.substr(at);
}

Result<FrameSourcePtr> OpenFrameSource(const std::string& url, Clock& clock) {
  if (url.empty()) return InvalidArgument("empty frame source URL");
  if (url.rfind("mock://", 0) == 0) return OpenMock(url, clock);
  const std::string masked = MaskUrlCredentials(url);
  const std::string lower = Lower(url);
  const bool network = lower.rfind("rtsp://", 0) == 0 || lower.rfind("rtsps://", 0) == 0 ||
                       lower.rfind("http://", 0) == 0 || lower.rfind("https://", 0) == 0;
  try {
    if (network || IsDeviceIndex(url)) {
      auto cap = std::make_unique<cv::VideoCapture>();
      const bool opened = network ? cap->open(url, cv::CAP_FFMPEG) : cap->open(std::stoi(url));
      if (!opened || !cap->isOpened()) {
        return Unavailable("cannot open " + std::string(network ? "stream " : "camera device ") + masked);
      }
      return FrameSourcePtr(std::make_unique<CaptureSource>(std::move(cap), masked, /*live=*/true, clock));
    }
    VIGIL_ASSIGN_OR_RETURN(const FileUrl file, ParseFileUrl(url));
    const fs::path p(file.path);
    std::error_code ec;
    if (!fs::exists(p, ec)) return NotFound("no such file or folder: " + p.string());
    if (fs::is_directory(p, ec)) {
      std::vector<fs::path> files;
      for (const auto& e : fs::directory_iterator(p, ec)) {
        if (e.is_regular_file() && IsImageFile(e.path())) files.push_back(e.path());
      }
      if (ec) return Unavailable("cannot list " + p.string() + ": " + ec.message());
      if (files.empty()) return NotFound("no images in folder " + p.string());
      std::sort(files.begin(), files.end());
      return FrameSourcePtr(std::make_unique<ImageListSource>(std::move(files), url, clock, file.loop));
    }
    if (IsImageFile(p)) {
      return FrameSourcePtr(std::make_unique<ImageListSource>(std::vector<fs::path>{p}, url, clock, file.loop));
    }
    auto cap = std::make_unique<cv::VideoCapture>();
    // FFmpeg only: other backends (GStreamer) print noise on corrupt files.
    if (!cap->open(p.string(), cv::CAP_FFMPEG) || !cap->isOpened()) {
      return InvalidArgument("cannot decode " + p.string() + " as video (unsupported or corrupt file)");
    }
    return FrameSourcePtr(std::make_unique<CaptureSource>(std::move(cap), url, /*live=*/false, clock,
                                                          file.loop ? p.string() : std::string()));
  } catch (const cv::Exception& e) {
    return Unavailable("cannot open " + masked + ": " + e.what());
  } catch (const std::exception& e) {
    return InvalidArgument("cannot open " + masked + ": " + e.what());
  }
}

}  // namespace vigil::vision
