// FaceService: the in-process face pipeline of the API server (staff
// enrollment photos and POST /api/v1/recognize): decode a JPEG/PNG body,
// detect faces, embed each. OpenCV stays inside face_service.cc.
//
// MOCK_MODE uses the mock detector and embedder; otherwise the configured
// DETECTOR_TYPE / EMBEDDER_TYPE from the models directory. When no models are
// installed the service is "unavailable" and says why (the server still runs).
//
// Thread-safety: Analyze may be called concurrently; detector and embedder
// are not thread-safe, so calls are serialised on one mutex.
#pragma once

#include <array>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "core/config.h"
#include "core/status.h"

namespace vigil::api {

enum class ImageType { kUnknown, kJpeg, kPng };
// From the content's magic bytes, never from a header or file name.
ImageType SniffImageType(std::string_view bytes);

struct AnalyzedFace {
  std::array<double, 4> bbox{};  // x, y, w, h in image pixels
  double score = 0;              // detector score
  double quality = 0;            // [0, 1]
  std::string model;             // embedding model id
  std::vector<float> embedding;  // L2-normalised; empty when embedding failed
};

class FaceService {
 public:
  virtual ~FaceService() = default;
  // InvalidArgument for a body that is not a decodable JPEG/PNG;
  // FailedPrecondition when no models are available.
  virtual Result<std::vector<AnalyzedFace>> Analyze(std::string_view image) = 0;
  virtual std::string model() const = 0;      // embedding model id ("" when unavailable)
  virtual double default_threshold() const = 0;
  virtual bool available() const = 0;
};
using FaceServicePtr = std::unique_ptr<FaceService>;

// Never fails: an unavailable service explains itself on every Analyze.
FaceServicePtr CreateFaceService(const ApiConfig& config);

}  // namespace vigil::api
