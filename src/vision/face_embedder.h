// Face embedders behind one interface. Each output is L2-normalised and
// tagged with its model id; similarity is cosine (dot product).
//
//   faceapi      face-api's FaceRecognitionNet (dlib ResNet), 128-D, on a
//                dlib-style 150 px chip aligned from the 5 detector landmarks
//                (or the 68-point net when the detector gave none).
//   insightface  an ArcFace ONNX (e.g. w600k_r50), 512-D, 112 px 5-point chip.
//   sface        cv::FaceRecognizerSF, 128-D, 112 px 5-point chip.
//   mock         decodes the synthetic person drawn by mock_faces.h.
//   auto         insightface, else sface, else faceapi (the first registered).
//
// Thread-safety: an embedder instance is NOT thread-safe; one per thread.
#pragma once

#include <memory>
#include <opencv2/core/mat.hpp>
#include <span>
#include <string>
#include <vector>

#include "core/status.h"
#include "models/model_registry.h"
#include "vision/detection.h"

namespace vigil::vision {

struct Embedding {
  std::string model;          // model id, e.g. "faceapi-recognition-128"
  std::vector<float> values;  // L2-normalised, size dim()
};

class FaceEmbedder {
 public:
  virtual ~FaceEmbedder() = default;
  // Embeds the face `d` of a full BGR frame; alignment happens inside (crop
  // from the full-resolution frame). InvalidArgument for an empty frame or a
  // box outside it.
  virtual Result<Embedding> Embed(const cv::Mat& bgr_frame, const Detection& d) = 0;
  virtual std::string model_id() const = 0;
  virtual int dim() const = 0;
  // Cosine similarity at or above which two faces are the same person,
  // calibrated for ~1 % false accepts (docs/thresholds.md).
  virtual float default_threshold() const = 0;
};
using FaceEmbedderPtr = std::unique_ptr<FaceEmbedder>;

// `type`: insightface | sface | faceapi | mock | auto. A registry entry's
// non-zero default_threshold overrides the built-in calibrated constant.
Result<FaceEmbedderPtr> CreateFaceEmbedder(const std::string& type, const models::ModelRegistry& registry);

// Direct constructors from model files (tests, benchmarks, probes).
// `landmark68_path` may be empty (then faces without 5 landmarks are aligned
// from their box only). `threshold` <= 0 means the built-in default.
Result<FaceEmbedderPtr> CreateFaceApiEmbedder(const std::string& recognition_onnx, const std::string& landmark68_onnx,
                                              float threshold = 0);
Result<FaceEmbedderPtr> CreateArcFaceEmbedder(const std::string& onnx_path, float threshold = 0);
Result<FaceEmbedderPtr> CreateSFaceEmbedder(const std::string& onnx_path, float threshold = 0);
FaceEmbedderPtr CreateMockEmbedder();

// Built-in thresholds (cosine), calibrated in docs/thresholds.md.
inline constexpr float kFaceApiDefaultThreshold = 0.942f;  // docs/thresholds.md
inline constexpr float kArcFaceDefaultThreshold = 0.36f;   // not calibrated here (model not available)
inline constexpr float kSFaceDefaultThreshold = 0.363f;    // OpenCV's published cosine threshold
inline constexpr float kMockDefaultThreshold = 0.8f;

// Dot product of two L2-normalised vectors (cosine similarity); 0 when the
// sizes differ or either is empty.
float CosineSimilarity(std::span<const float> a, std::span<const float> b);

// Scales `v` to unit length in place; false (and unchanged) when its norm is 0
// or not finite.
bool L2Normalize(std::vector<float>& v);

}  // namespace vigil::vision
