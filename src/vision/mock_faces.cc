#include "vision/mock_faces.h"

#include <algorithm>
#include <cmath>
#include <opencv2/imgproc.hpp>

namespace vigil::vision {
namespace {

// The frame colour that marks a mock face. Nothing else in a mock scene is
// drawn in a colour close to it.
const cv::Scalar kMarker(255, 0, 255);  // BGR magenta

// Per-person tint of the lower part of the face (skin-like, far from magenta).
const cv::Scalar kTints[kMockCastSize] = {
    {150, 180, 220}, {120, 160, 200}, {90, 130, 180},  {170, 200, 235},
    {60, 100, 150},  {140, 170, 190}, {100, 150, 210}, {80, 110, 140},
};
// Shirt colours of the bodies in the scene (no magenta, no pure red+blue).
const cv::Scalar kShirts[kMockCastSize] = {
    {40, 120, 40}, {160, 90, 20}, {30, 30, 160},  {20, 160, 200},
    {90, 90, 90},  {30, 80, 120}, {140, 140, 30}, {60, 60, 200},
};

uint64_t SplitMix64(uint64_t& state) {
  uint64_t z = (state += 0x9E3779B97F4A7C15ULL);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}
// Uniform in [0, 1).
double Uniform(uint64_t& state) { return static_cast<double>(SplitMix64(state) >> 11) * (1.0 / 9007199254740992.0); }
int UniformInt(uint64_t& state, int lo, int hi) {  // inclusive
  return lo + static_cast<int>(Uniform(state) * (hi - lo + 1));
}

uint64_t Fnv1a(const std::string& s) {
  uint64_t h = 1469598103934665603ULL;
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  return h;
}

// Bits drawn as bars: 3 id bits then even parity.
int PatternBits(int person) {
  const int id = person & 7;
  const int parity = ((id >> 0) ^ (id >> 1) ^ (id >> 2)) & 1;
  return id | (parity << 3);
}

int FrameThickness(int size) { return std::max(2, size / 8); }

}  // namespace

std::string MockPersonName(int person) { return "mock-person-" + std::to_string(person); }

void DrawMockFace(cv::Mat& bgr, int person, cv::Point origin, int size) {
  const int t = FrameThickness(size);
  const cv::Rect outer(origin.x, origin.y, size, size);
  cv::rectangle(bgr, outer, kMarker, cv::FILLED);
  const cv::Rect inner(origin.x + t, origin.y + t, size - 2 * t, size - 2 * t);
  const int ip = ((person % kMockCastSize) + kMockCastSize) % kMockCastSize;
  cv::rectangle(bgr, inner, kTints[ip], cv::FILLED);
  // Upper 60 % of the inner square: four bars, white = 1, black = 0.
  const int bits = PatternBits(ip);
  const int bar_h = inner.height * 6 / 10;
  for (int i = 0; i < 4; ++i) {
    const int x0 = inner.x + inner.width * i / 4;
    const int x1 = inner.x + inner.width * (i + 1) / 4;
    const cv::Scalar c = ((bits >> i) & 1) ? cv::Scalar(255, 255, 255) : cv::Scalar(0, 0, 0);
    cv::rectangle(bgr, cv::Rect(x0, inner.y, x1 - x0, bar_h), c, cv::FILLED);
  }
}

cv::Mat RenderMockFacePhoto(int person) {
  cv::Mat img(400, 320, CV_8UC3, cv::Scalar(200, 200, 200));
  DrawMockFace(img, person, cv::Point(40, 60), 240);
  return img;
}

namespace {

// Pseudo-landmarks at fixed places of the square, YuNet order (subject's
// right eye is on the image's left).
std::vector<cv::Point2f> MockLandmarks(const cv::Rect2f& b) {
  auto at = [&](float fx, float fy) { return cv::Point2f(b.x + fx * b.width, b.y + fy * b.height); };
  return {at(0.32f, 0.38f), at(0.68f, 0.38f), at(0.5f, 0.55f), at(0.36f, 0.75f), at(0.64f, 0.75f)};
}

cv::Mat MarkerMask(const cv::Mat& bgr) {
  cv::Mat mask;
  // Loose bounds: JPEG at q40 and resizing smear the magenta a little.
  cv::inRange(bgr, cv::Scalar(170, 0, 170), cv::Scalar(255, 110, 255), mask);
  return mask;
}

}  // namespace

std::vector<Detection> FindMockFaces(const cv::Mat& bgr) {
  std::vector<Detection> out;
  if (bgr.empty() || bgr.type() != CV_8UC3) return out;
  const cv::Mat mask = MarkerMask(bgr);
  std::vector<std::vector<cv::Point>> contours;
  cv::findContours(mask, contours, cv::RETR_EXTERNAL, cv::CHAIN_APPROX_SIMPLE);
  for (const auto& c : contours) {
    const cv::Rect r = cv::boundingRect(c);
    if (r.width < 16 || r.height < 16) continue;
    const double aspect = static_cast<double>(r.width) / r.height;
    if (aspect < 0.8 || aspect > 1.25) continue;
    // Only faces fully in view: one cut by the border is not a whole face.
    if (r.x <= 0 || r.y <= 0 || r.x + r.width >= bgr.cols || r.y + r.height >= bgr.rows) continue;
    // A frame, not a blob: the centre must not be marker-coloured, and the
    // outer ring must be mostly marker.
    const cv::Rect centre(r.x + r.width * 3 / 8, r.y + r.height * 3 / 8, std::max(1, r.width / 4),
                          std::max(1, r.height / 4));
    if (cv::countNonZero(mask(centre)) > centre.area() / 4) continue;
    const int t = std::max(1, FrameThickness(r.width) / 2);
    const cv::Rect top(r.x, r.y, r.width, t);
    if (cv::countNonZero(mask(top)) < top.area() * 6 / 10) continue;
    Detection d;
    d.box = cv::Rect2f(static_cast<float>(r.x), static_cast<float>(r.y), static_cast<float>(r.width),
                       static_cast<float>(r.height));
    d.score = 0.99f;
    d.landmarks = MockLandmarks(d.box);
    out.push_back(std::move(d));
  }
  std::sort(out.begin(), out.end(), [](const Detection& a, const Detection& b) {
    return a.box.x != b.box.x ? a.box.x < b.box.x : a.box.y < b.box.y;
  });
  return out;
}

std::optional<int> DecodeMockPerson(const cv::Mat& bgr, const Detection& d) {
  if (bgr.empty() || bgr.type() != CV_8UC3) return std::nullopt;
  const float size = std::min(d.box.width, d.box.height);
  if (size < 12) return std::nullopt;
  const float t = static_cast<float>(FrameThickness(static_cast<int>(size)));
  const cv::Rect2f inner(d.box.x + t, d.box.y + t, d.box.width - 2 * t, d.box.height - 2 * t);
  const float bar_h = inner.height * 0.6f;
  int bits = 0;
  for (int i = 0; i < 4; ++i) {
    const float bw = inner.width / 4;
    // The central half of each bar, away from edges smeared by compression.
    cv::Rect probe(
        cv::Point(static_cast<int>(inner.x + bw * i + bw * 0.25f), static_cast<int>(inner.y + bar_h * 0.25f)),
        cv::Point(static_cast<int>(inner.x + bw * i + bw * 0.75f), static_cast<int>(inner.y + bar_h * 0.75f)));
    probe &= cv::Rect(0, 0, bgr.cols, bgr.rows);
    if (probe.area() <= 0) return std::nullopt;
    const cv::Scalar m = cv::mean(bgr(probe));
    const double grey = (m[0] + m[1] + m[2]) / 3;
    if (grey > 160) {
      bits |= 1 << i;
    } else if (grey >= 95) {
      return std::nullopt;  // neither black nor white: not a mock face
    }
  }
  const int id = bits & 7;
  if (PatternBits(id) != bits) return std::nullopt;
  return id;
}

std::vector<float> MockPersonVector(int person) {
  // Orthonormal vectors (Gram-Schmidt over fixed pseudo-random ones): different
  // people have cosine 0, far below any threshold. Computed with our own PRNG
  // so the values are the same on every platform.
  static const std::vector<std::vector<float>> basis = [] {
    std::vector<std::vector<double>> v(kMockCastSize, std::vector<double>(kMockEmbeddingDim));
    uint64_t state = 0x5EEDF00DULL;
    for (auto& row : v) {
      for (auto& x : row) x = Uniform(state) * 2 - 1;
    }
    for (int i = 0; i < kMockCastSize; ++i) {
      for (int j = 0; j < i; ++j) {
        double dot = 0;
        for (int k = 0; k < kMockEmbeddingDim; ++k) dot += v[i][k] * v[j][k];
        for (int k = 0; k < kMockEmbeddingDim; ++k) v[i][k] -= dot * v[j][k];
      }
      double norm = 0;
      for (double x : v[i]) norm += x * x;
      norm = std::sqrt(norm);
      for (double& x : v[i]) x /= norm;
    }
    std::vector<std::vector<float>> out(kMockCastSize);
    for (int i = 0; i < kMockCastSize; ++i) out[i].assign(v[i].begin(), v[i].end());
    return out;
  }();
  return basis[((person % kMockCastSize) + kMockCastSize) % kMockCastSize];
}

// ---- MockScene ----

MockScene::MockScene(const std::string& name, int width, int height)
    : width_(width), height_(height), rng_state_(Fnv1a(name)) {
  background_ = cv::Mat(height_, width_, CV_8UC3);
  // A wall with a vertical gradient, a floor, and a few shelves whose colours
  // depend on the name, so different cameras look different.
  const int floor_y = height_ * 3 / 4;
  for (int y = 0; y < height_; ++y) {
    const int g = y < floor_y ? 150 + 50 * y / std::max(1, floor_y) : 110;
    background_.row(y).setTo(cv::Scalar(g, g, y < floor_y ? g - 10 : g + 10));
  }
  uint64_t st = rng_state_ ^ 0xA5A5A5A5ULL;
  for (int i = 0; i < 3; ++i) {
    const int w = UniformInt(st, width_ / 10, width_ / 5);
    const int h = UniformInt(st, height_ / 8, height_ / 4);
    const int x = UniformInt(st, 0, width_ - w);
    const int y = UniformInt(st, height_ / 10, floor_y - h);
    const cv::Scalar c(UniformInt(st, 30, 120), UniformInt(st, 60, 140), UniformInt(st, 60, 120));
    cv::rectangle(background_, cv::Rect(x, y, w, h), c, cv::FILLED);
  }
}

void MockScene::ExtendUntil(int64_t ms) {
  constexpr int64_t kWalkMs = 800;
  while (scheduled_until_ <= ms) {
    // An empty scene first, then one or two people who arrive together-ish,
    // stay a few seconds and leave; the left one enters and leaves on the
    // left, the right one on the right, so their faces never overlap.
    const int64_t gap = UniformInt(rng_state_, 1500, 4000);
    const int64_t start = scheduled_until_ + gap;
    const bool pair = Uniform(rng_state_) < 0.3;
    const int first = UniformInt(rng_state_, 0, kMockCastSize - 1);
    int second = (first + UniformInt(rng_state_, 1, kMockCastSize - 1)) % kMockCastSize;
    int64_t end = start;
    const int n = pair ? 2 : 1;
    for (int i = 0; i < n; ++i) {
      MockVisit v;
      v.person = i == 0 ? first : second;
      v.size = UniformInt(rng_state_, height_ * 17 / 100, height_ * 25 / 100);
      v.y = UniformInt(rng_state_, height_ / 8, height_ * 3 / 10);
      v.from_left = pair ? (i == 0) : Uniform(rng_state_) < 0.5;
      const int half = width_ / 2;
      if (v.from_left) {
        v.stay_x = UniformInt(rng_state_, width_ / 20, half - v.size - width_ / 20);
      } else {
        v.stay_x = UniformInt(rng_state_, half + width_ / 20, width_ - v.size - width_ / 20);
      }
      v.enter_ms = start + (i == 0 ? 0 : UniformInt(rng_state_, 0, 1000));
      v.leave_ms = v.enter_ms + 2 * kWalkMs + UniformInt(rng_state_, 2000, 5000);
      end = std::max(end, v.leave_ms);
      visits_.push_back(v);
    }
    scheduled_until_ = end;
  }
}

std::vector<MockVisit> MockScene::VisitsBetween(int64_t from_ms, int64_t to_ms) {
  ExtendUntil(to_ms);
  std::vector<MockVisit> out;
  for (const auto& v : visits_) {
    if (v.enter_ms < to_ms && v.leave_ms > from_ms) out.push_back(v);
  }
  return out;
}

std::optional<cv::Rect> MockScene::FaceRectAt(const MockVisit& v, int64_t elapsed_ms) const {
  constexpr int64_t kWalkMs = 800;
  if (elapsed_ms < v.enter_ms || elapsed_ms >= v.leave_ms) return std::nullopt;
  const int off_x = v.from_left ? -v.size - 1 : width_ + 1;
  double f = 1;  // 0 = off-screen, 1 = at the standing place
  if (elapsed_ms < v.enter_ms + kWalkMs) {
    f = static_cast<double>(elapsed_ms - v.enter_ms) / kWalkMs;
  } else if (elapsed_ms > v.leave_ms - kWalkMs) {
    f = static_cast<double>(v.leave_ms - elapsed_ms) / kWalkMs;
  }
  const int x = static_cast<int>(std::lround(off_x + (v.stay_x - off_x) * f));
  const cv::Rect r(x, v.y, v.size, v.size);
  if ((r & cv::Rect(0, 0, width_, height_)).area() <= 0) return std::nullopt;
  return r;
}

cv::Mat MockScene::Render(int64_t elapsed_ms) {
  ExtendUntil(elapsed_ms + 1);
  // Visits long gone are never rendered again; keep the schedule small on
  // sources that run for weeks.
  std::erase_if(visits_, [&](const MockVisit& v) { return v.leave_ms < elapsed_ms - 600'000; });
  cv::Mat frame = background_.clone();
  std::vector<std::pair<int, cv::Rect>> faces;
  for (const auto& v : visits_) {
    if (const auto r = FaceRectAt(v, elapsed_ms)) faces.emplace_back(v.person, *r);
  }
  // Bodies first, faces on top: a body never hides a face.
  for (const auto& [person, r] : faces) {
    const int top = r.y + r.height + r.height / 10;
    const cv::Rect body(r.x - r.width / 4, top, r.width + r.width / 2, height_ - top);
    cv::rectangle(frame, body, kShirts[person % kMockCastSize], cv::FILLED);
  }
  for (const auto& [person, r] : faces) DrawMockFace(frame, person, r.tl(), r.width);
  return frame;
}

}  // namespace vigil::vision
