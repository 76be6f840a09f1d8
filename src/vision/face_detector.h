// Face detectors behind one interface.
//
//   yunet  cv::FaceDetectorYN on YuNet 2022mar (box + 5 landmarks); runs on a
//          copy scaled so the long side is <= 640 px (configurable), boxes
//          mapped back.
//   ssd    face-api's SSD MobileNetV1 converted to ONNX (box only).
//   mock   finds exactly the synthetic faces drawn by mock_faces.h.
//   auto   yunet when registered, else ssd.
//
// Thread-safety: a detector instance is NOT thread-safe (it owns a DNN net
// with internal buffers); create one per thread. The factories are thread-safe.
#pragma once

#include <memory>
#include <opencv2/core/mat.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "models/model_registry.h"
#include "vision/detection.h"

namespace vigil::vision {

// YuNet's default input long side: a 640x480 frame runs as is. Smaller is
// faster (cost ~ pixel count) but loses small faces (docs/performance-vision.md).
inline constexpr int kDefaultDetectInputSize = 640;

class FaceDetector {
 public:
  virtual ~FaceDetector() = default;
  // Faces in a BGR 8-bit image, best score first. An empty or non-BGR image is
  // InvalidArgument; a library failure is Internal.
  virtual Result<std::vector<Detection>> Detect(const cv::Mat& bgr) = 0;
  // "yunet", "ssd" or "mock".
  virtual std::string name() const = 0;
  // The model id it runs ("yunet-2022mar", "faceapi-ssd-mobilenetv1", "mock-detector-v1").
  virtual std::string model_id() const = 0;
};
using FaceDetectorPtr = std::unique_ptr<FaceDetector>;

// `type`: yunet | ssd | mock | auto. `confidence_threshold` in (0, 1]: faces
// scoring below are dropped. A model that is not registered is
// FailedPrecondition with a hint to run `vigil models install` / `models add`.
//
// `input_size` (DETECT_INPUT_SIZE): the long side, in pixels, of the frame
// copy YuNet runs on (see CreateYuNetDetector); SSD always runs at its fixed
// 512x512 and ignores it.
Result<FaceDetectorPtr> CreateFaceDetector(const std::string& type, const models::ModelRegistry& registry,
                                           float confidence_threshold, int input_size = kDefaultDetectInputSize);
// The same with the threshold optional: std::nullopt uses the calibrated
// default of the detector actually created (for `auto`, the one it resolves
// to). Used when CONFIDENCE_THRESHOLD is not set (docs/thresholds.md).
Result<FaceDetectorPtr> CreateFaceDetector(const std::string& type, const models::ModelRegistry& registry,
                                           std::optional<float> confidence_threshold,
                                           int input_size = kDefaultDetectInputSize);

// The calibrated detection threshold of a detector ("yunet", "ssd", "mock"):
// the score cut that finds every face of the face-api demo photos and
// nothing else (docs/thresholds.md). 0.7 for a name it does not know.
float DefaultConfidenceThreshold(std::string_view detector);

// Direct constructors from a model file (tests, benchmarks, `models add` probes).
// `max_side`: YuNet runs on the frame scaled down so its long side is at most
// this many pixels (640: a 640x480 frame as is; 320: at 320x240, ~3.5x
// cheaper). YuNet loses faces under ~10 px in its input, so the smallest face
// found is ~10 * frame long side / max_side px (docs/performance-vision.md).
Result<FaceDetectorPtr> CreateYuNetDetector(const std::string& onnx_path, float confidence_threshold,
                                            int max_side = kDefaultDetectInputSize);
// `anchors_path`: the 5118x4 float32 anchor file installed next to the SSD graph.
Result<FaceDetectorPtr> CreateSsdDetector(const std::string& onnx_path, const std::string& anchors_path,
                                          float confidence_threshold);
FaceDetectorPtr CreateMockDetector();

// Detect, and when nothing is found retry on the image padded with a neutral
// grey border (25 % per side): detectors often miss a face that fills the
// whole image, as in tight enrollment photos. Boxes and landmarks are in the
// original image's coordinates; like plain detections, boxes may reach a
// little past the border (faces at least half inside are kept).
Result<std::vector<Detection>> DetectWithPaddingRetry(FaceDetector& detector, const cv::Mat& bgr);

}  // namespace vigil::vision
