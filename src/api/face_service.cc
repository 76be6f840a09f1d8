#include "api/face_service.h"

#include <opencv2/imgcodecs.hpp>

#include "core/logging.h"
#include "models/model_registry.h"
#include "vision/face_detector.h"
#include "vision/face_embedder.h"
#include "vision/face_quality.h"

namespace vigil::api {

ImageType SniffImageType(std::string_view b) {
  auto u = [&](size_t i) { return static_cast<unsigned char>(b[i]); };
  if (b.size() >= 3 && u(0) == 0xFF && u(1) == 0xD8 && u(2) == 0xFF) return ImageType::kJpeg;
  if (b.size() >= 8 && b.substr(0, 8) == std::string_view("\x89PNG\r\n\x1a\n", 8)) return ImageType::kPng;
  return ImageType::kUnknown;
}

namespace {

class PipelineFaceService final : public FaceService {
 public:
  PipelineFaceService(vision::FaceDetectorPtr det, vision::FaceEmbedderPtr emb)
      : det_(std::move(det)), emb_(std::move(emb)) {}

  Result<std::vector<AnalyzedFace>> Analyze(std::string_view image) override {
    if (SniffImageType(image) == ImageType::kUnknown) {
      return InvalidArgument("the body is not a JPEG or PNG image");
    }
    cv::Mat bgr;
    try {
      cv::Mat raw(1, static_cast<int>(image.size()), CV_8UC1, const_cast<char*>(image.data()));
      bgr = cv::imdecode(raw, cv::IMREAD_COLOR);
    } catch (const cv::Exception& e) {
      return InvalidArgument("the image could not be decoded");
    }
    if (bgr.empty()) return InvalidArgument("the image could not be decoded");
    std::lock_guard lock(mu_);
    VIGIL_ASSIGN_OR_RETURN(auto dets, vision::DetectWithPaddingRetry(*det_, bgr));
    std::vector<AnalyzedFace> out;
    for (const auto& d : dets) {
      AnalyzedFace f;
      f.bbox = {d.box.x, d.box.y, d.box.width, d.box.height};
      f.score = d.score;
      f.quality = vision::FaceQuality(bgr, d);
      auto e = emb_->Embed(bgr, d);
      if (e.ok()) {
        f.model = e->model;
        f.embedding = std::move(e->values);
      }
      out.push_back(std::move(f));
    }
    return out;
  }
  std::string model() const override { return emb_->model_id(); }
  double default_threshold() const override { return emb_->default_threshold(); }
  bool available() const override { return true; }

 private:
  std::mutex mu_;
  vision::FaceDetectorPtr det_;
  vision::FaceEmbedderPtr emb_;
};

class UnavailableFaceService final : public FaceService {
 public:
  explicit UnavailableFaceService(std::string why) : why_(std::move(why)) {}
  Result<std::vector<AnalyzedFace>> Analyze(std::string_view image) override {
    if (SniffImageType(image) == ImageType::kUnknown) {
      return InvalidArgument("the body is not a JPEG or PNG image");
    }
    return FailedPrecondition(why_);
  }
  std::string model() const override { return ""; }
  double default_threshold() const override { return 1; }
  bool available() const override { return false; }

 private:
  std::string why_;
};

}  // namespace

FaceServicePtr CreateFaceService(const ApiConfig& config) {
  auto log = GetLogger("api");
  bool mock = config.mock_mode || config.detector_type == "mock";
  if (mock) {
    log->info("face pipeline: mock detector and embedder");
    return std::make_unique<PipelineFaceService>(vision::CreateMockDetector(), vision::CreateMockEmbedder());
  }
  auto registry = models::ModelRegistry::Open(config.models_dir);
  if (!registry.ok()) {
    return std::make_unique<UnavailableFaceService>("face models unreadable: " + registry.status().message());
  }
  auto det = vision::CreateFaceDetector(config.detector_type, *registry, 0.7f);
  if (!det.ok()) {
    log->warn("face pipeline unavailable: {}", det.status().message());
    return std::make_unique<UnavailableFaceService>("no face detector available: " + det.status().message());
  }
  auto emb = vision::CreateFaceEmbedder(config.embedder_type, *registry);
  if (!emb.ok()) {
    log->warn("face pipeline unavailable: {}", emb.status().message());
    return std::make_unique<UnavailableFaceService>("no face embedder available: " + emb.status().message());
  }
  log->info("face pipeline: detector={} embedder={}", (*det)->model_id(), (*emb)->model_id());
  return std::make_unique<PipelineFaceService>(std::move(*det), std::move(*emb));
}

}  // namespace vigil::api
