#include "vision/face_detector.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>
#include <opencv2/objdetect.hpp>

#include "core/logging.h"
#include "vision/mock_faces.h"

namespace vigil::vision {
namespace {

Status CheckBgr(const cv::Mat& bgr) {
  if (bgr.empty()) return InvalidArgument("empty image");
  if (bgr.type() != CV_8UC3) return InvalidArgument("expected an 8-bit 3-channel BGR image");
  return Status::Ok();
}

class MockDetector final : public FaceDetector {
 public:
  Result<std::vector<Detection>> Detect(const cv::Mat& bgr) override {
    VIGIL_RETURN_IF_ERROR(CheckBgr(bgr));
    return FindMockFaces(bgr);
  }
  std::string name() const override { return "mock"; }
  std::string model_id() const override { return kMockDetectorModel; }
};

// YuNet through cv::FaceDetectorYN. The frame is scaled so its long side is
// at most max_side (default 640): at higher resolutions YuNet splits large
// faces into parts and fires on hands and hair (MODELS.md §7), and it is 4x
// slower. A smaller max_side trades small faces for speed (the cost is about
// proportional to the pixel count).
class YuNetDetector final : public FaceDetector {
 public:
  YuNetDetector(cv::Ptr<cv::FaceDetectorYN> net, int max_side) : net_(std::move(net)), max_side_(max_side) {}

  Result<std::vector<Detection>> Detect(const cv::Mat& bgr) override {
    VIGIL_RETURN_IF_ERROR(CheckBgr(bgr));
    const double scale = std::min(1.0, static_cast<double>(max_side_) / std::max(bgr.cols, bgr.rows));
    cv::Mat input = bgr;
    if (scale < 1.0) {
      cv::resize(bgr, input, cv::Size(), scale, scale, cv::INTER_AREA);
    }
    cv::Mat out;
    try {
      if (input.size() != input_size_) {
        net_->setInputSize(input.size());
        input_size_ = input.size();
      }
      net_->detect(input, out);
    } catch (const cv::Exception& e) {
      return Internal(std::string("yunet: ") + e.what());
    }
    std::vector<Detection> faces;
    const float inv = static_cast<float>(1.0 / scale);
    for (int i = 0; i < out.rows; ++i) {
      const float* r = out.ptr<float>(i);
      Detection d;
      d.box = cv::Rect2f(r[0] * inv, r[1] * inv, r[2] * inv, r[3] * inv);
      d.score = r[14];
      for (int k = 0; k < kNumLandmarks; ++k) d.landmarks.emplace_back(r[4 + 2 * k] * inv, r[5 + 2 * k] * inv);
      faces.push_back(std::move(d));
    }
    std::sort(faces.begin(), faces.end(), [](const Detection& a, const Detection& b) { return a.score > b.score; });
    return faces;
  }
  std::string name() const override { return "yunet"; }
  std::string model_id() const override { return "yunet-2022mar"; }

 private:
  cv::Ptr<cv::FaceDetectorYN> net_;
  int max_side_;
  cv::Size input_size_;
};

Status CheckThreshold(float t) {
  if (!(t > 0 && t <= 1)) return InvalidArgument("confidence threshold must be in (0, 1], got " + std::to_string(t));
  return Status::Ok();
}

}  // namespace

FaceDetectorPtr CreateMockDetector() { return std::make_unique<MockDetector>(); }

Result<FaceDetectorPtr> CreateYuNetDetector(const std::string& onnx_path, float confidence_threshold, int max_side) {
  VIGIL_RETURN_IF_ERROR(CheckThreshold(confidence_threshold));
  if (max_side < 64 || max_side > 4096) {
    return InvalidArgument("yunet: input size (long side) must be within 64..4096, got " + std::to_string(max_side));
  }
  std::error_code ec;
  if (!std::filesystem::is_regular_file(onnx_path, ec)) return NotFound("yunet model not found: " + onnx_path);
  try {
    auto net = cv::FaceDetectorYN::create(onnx_path, "", cv::Size(320, 320), confidence_threshold,
                                          /*nms_threshold=*/0.3f, /*top_k=*/5000);
    if (net.empty()) return Internal("yunet: could not create the detector from " + onnx_path);
    return FaceDetectorPtr(std::make_unique<YuNetDetector>(std::move(net), max_side));
  } catch (const cv::Exception& e) {
    return InvalidArgument("yunet: " + onnx_path + " does not load as a YuNet model: " + e.what());
  }
}

Result<FaceDetectorPtr> CreateFaceDetector(const std::string& type, const models::ModelRegistry& registry,
                                           float confidence_threshold, int input_size) {
  VIGIL_RETURN_IF_ERROR(CheckThreshold(confidence_threshold));
  if (type == "mock") return CreateMockDetector();
  auto yunet = registry.FindByKind("yunet");
  auto ssd = registry.FindByKind("ssd_mobilenetv1");
  if (type == "yunet" || (type == "auto" && yunet)) {
    if (!yunet) {
      return FailedPrecondition("detector 'yunet' is not registered in " + registry.dir() +
                                ": run `vigil models add yunet FILE.onnx`");
    }
    return CreateYuNetDetector(registry.PathOf(*yunet), confidence_threshold, input_size);
  }
  if (type == "ssd" || type == "auto") {
    const auto anchors = registry.FindByKind("ssd_anchors");
    if (!ssd || !anchors) {
      return FailedPrecondition("no face detector installed in " + registry.dir() +
                                ": run `vigil models install` (or `vigil models add yunet FILE.onnx`)");
    }
    return CreateSsdDetector(registry.PathOf(*ssd), registry.PathOf(*anchors), confidence_threshold);
  }
  return InvalidArgument("unknown detector type '" + type + "' (expected yunet, ssd, mock or auto)");
}

float DefaultConfidenceThreshold(std::string_view detector) {
  // SSD MobileNetV1 scores real faces lower than YuNet does: at 0.7 it misses
  // 2 of the 22 demo faces (scores 0.63 and 0.69); 0.5 is face-api's own
  // default and finds exactly the 22.
  if (detector == "ssd") return 0.5f;
  return 0.7f;
}

Result<FaceDetectorPtr> CreateFaceDetector(const std::string& type, const models::ModelRegistry& registry,
                                           std::optional<float> confidence_threshold, int input_size) {
  if (confidence_threshold) return CreateFaceDetector(type, registry, *confidence_threshold, input_size);
  std::string resolved = type;
  if (type == "auto") resolved = registry.FindByKind("yunet") ? "yunet" : "ssd";
  return CreateFaceDetector(type, registry, DefaultConfidenceThreshold(resolved), input_size);
}

Result<std::vector<Detection>> DetectWithPaddingRetry(FaceDetector& detector, const cv::Mat& bgr) {
  VIGIL_ASSIGN_OR_RETURN(auto faces, detector.Detect(bgr));
  if (!faces.empty()) return faces;
  const int pad = std::max(bgr.cols, bgr.rows) / 4;
  cv::Mat padded;
  cv::copyMakeBorder(bgr, padded, pad, pad, pad, pad, cv::BORDER_CONSTANT, cv::Scalar(127, 127, 127));
  VIGIL_ASSIGN_OR_RETURN(faces, detector.Detect(padded));
  const cv::Rect2f bounds(0, 0, static_cast<float>(bgr.cols), static_cast<float>(bgr.rows));
  std::vector<Detection> out;
  for (auto& d : faces) {
    d.box.x -= pad;
    d.box.y -= pad;
    // Boxes may reach past the border (as with plain detection); a face that
    // lies entirely in the padding is not in the image.
    if ((d.box & bounds).area() < 0.5f * d.box.area()) continue;
    for (auto& p : d.landmarks) p -= cv::Point2f(static_cast<float>(pad), static_cast<float>(pad));
    out.push_back(std::move(d));
  }
  return out;
}

}  // namespace vigil::vision
