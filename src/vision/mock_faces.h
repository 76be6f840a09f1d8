// MOCK_MODE: a synthetic world that exercises the whole pipeline without
// cameras or models.
//
// A fixed cast of kMockCastSize people (ids 0..7, names "mock-person-N").
// Each is drawn as a "face": a square with a magenta frame and, inside, a
// per-person pattern of bars (3 id bits + 1 parity bit, each a black or white
// bar) over a per-person tint; large flat areas survive JPEG (q >= 40) and
// scaling down to ~40 px.
//
// * The synthetic source `mock://<name>` (see frame_source.h) renders a
//   640x480 scene in which cast members walk in, stay a few seconds and walk
//   out; the schedule is a pure function of the name (seed) and the time since
//   the source was opened, read from the injected Clock, so tests drive it by
//   advancing a FakeClock. Gaps with an empty scene occur between visits.
// * The `mock` detector finds exactly the drawn faces (score 0.99, five
//   pseudo-landmarks at fixed positions in the square).
// * The `mock` embedder decodes the person from the bars and returns a fixed
//   unit vector per person plus tiny deterministic noise (model
//   "mock-embedder-v1", dim 128, default threshold kMockDefaultThreshold).
//   Same person: cosine > 0.95; different people: < 0.5.
//
// Thread-safety: all functions are stateless and thread-safe.
#pragma once

#include <cstdint>
#include <opencv2/core/mat.hpp>
#include <optional>
#include <string>
#include <vector>

#include "core/status.h"
#include "vision/detection.h"

namespace vigil::vision {

inline constexpr int kMockCastSize = 8;
inline constexpr int kMockEmbeddingDim = 128;
inline constexpr const char* kMockEmbedderModel = "mock-embedder-v1";
inline constexpr const char* kMockDetectorModel = "mock-detector-v1";

// "mock-person-3".
std::string MockPersonName(int person);

// Draws person `person`'s face as a square of side `size` px with top-left
// corner `origin` into `bgr` (clipped at the borders).
void DrawMockFace(cv::Mat& bgr, int person, cv::Point origin, int size);

// An enrollment photo: 320x400 neutral background with one face of `person`
// (a face that fills most of the image, as passport-style photos do).
cv::Mat RenderMockFacePhoto(int person);

// The drawn faces in an image (the mock detector's engine).
std::vector<Detection> FindMockFaces(const cv::Mat& bgr);
// Which person is drawn at `d`; nullopt when the pattern does not decode.
std::optional<int> DecodeMockPerson(const cv::Mat& bgr, const Detection& d);

// The fixed unit vector of a person (before noise).
std::vector<float> MockPersonVector(int person);

// One person's presence in the synthetic scene.
struct MockVisit {
  int person = 0;
  int64_t enter_ms = 0;  // ms since the source opened; walks in from the side
  int64_t leave_ms = 0;  // gone at this time
  int size = 0;          // face side in px
  int stay_x = 0;        // face left x while standing
  int y = 0;             // face top y
  bool from_left = true;
};

// The deterministic scene of `mock://<name>`.
class MockScene {
 public:
  explicit MockScene(const std::string& name, int width = 640, int height = 480);
  // Renders the scene `elapsed_ms` after opening.
  cv::Mat Render(int64_t elapsed_ms);
  // The visits overlapping [from_ms, to_ms) (generating the schedule lazily).
  std::vector<MockVisit> VisitsBetween(int64_t from_ms, int64_t to_ms);
  // Where the face of `v` is at `elapsed_ms` (top-left), if in view.
  std::optional<cv::Rect> FaceRectAt(const MockVisit& v, int64_t elapsed_ms) const;

 private:
  void ExtendUntil(int64_t ms);

  int width_;
  int height_;
  uint64_t rng_state_;
  int64_t scheduled_until_ = 0;
  std::vector<MockVisit> visits_;
  cv::Mat background_;
};

}  // namespace vigil::vision
