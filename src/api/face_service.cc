#include "api/face_service.h"

#include <cstdint>
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

// Decoding allocates width x height x 3 bytes before reading any pixel data,
// and detection pads the image further, so an upload of a few hundred bytes
// claiming 30000 x 30000 pixels would make the server allocate gigabytes
// (found by fuzz/fuzz_http). The header's size is checked first; the side is
// bounded too because the padding grows with the longer side.
constexpr int64_t kMaxImagePixels = 40'000'000;
constexpr int64_t kMaxImageSide = 10'000;

uint32_t BigEndian(std::string_view b, size_t at, size_t bytes) {
  uint32_t v = 0;
  for (size_t i = 0; i < bytes; ++i) v = (v << 8) | static_cast<unsigned char>(b[at + i]);
  return v;
}

// True when a frame header of the JPEG/PNG claims more than the limits.
// Without a readable header the decoder rejects the image itself.
bool ClaimsTooLarge(std::string_view b, ImageType type) {
  auto too_large = [](int64_t w, int64_t h) {
    return w > kMaxImageSide || h > kMaxImageSide || w * h > kMaxImagePixels;
  };
  if (type == ImageType::kPng) {
    // Signature, then the IHDR chunk: length, "IHDR", width, height.
    if (b.size() < 24 || b.substr(12, 4) != "IHDR") return false;
    return too_large(BigEndian(b, 16, 4), BigEndian(b, 20, 4));
  }
  // JPEG: walk the marker segments up to the start of scan; every SOFn
  // (C0-CF except DHT C4, JPG C8, DAC CC) carries height and width. Stray
  // bytes between segments are skipped, as libjpeg skips them.
  size_t pos = 2;
  while (pos + 4 <= b.size()) {
    auto marker = static_cast<unsigned char>(b[pos + 1]);
    if (static_cast<unsigned char>(b[pos]) != 0xFF || marker == 0xFF) {  // stray or fill byte
      ++pos;
      continue;
    }
    if (marker == 0x00) {  // not a marker
      pos += 2;
      continue;
    }
    if (marker == 0xDA || marker == 0xD9) break;
    if (marker == 0x01 || (marker >= 0xD0 && marker <= 0xD8)) {  // no length
      pos += 2;
      continue;
    }
    uint32_t len = BigEndian(b, pos + 2, 2);
    bool sof = marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC;
    if (sof && len >= 7 && pos + 9 <= b.size() && too_large(BigEndian(b, pos + 7, 2), BigEndian(b, pos + 5, 2))) {
      return true;
    }
    if (len < 2) break;
    pos += 2 + len;
  }
  return false;
}

class PipelineFaceService final : public FaceService {
 public:
  PipelineFaceService(vision::FaceDetectorPtr det, vision::FaceEmbedderPtr emb)
      : det_(std::move(det)), emb_(std::move(emb)) {}

  Result<std::vector<AnalyzedFace>> Analyze(std::string_view image) override {
    ImageType type = SniffImageType(image);
    if (type == ImageType::kUnknown) {
      return InvalidArgument("the body is not a JPEG or PNG image");
    }
    if (ClaimsTooLarge(image, type)) {
      return InvalidArgument("the image is too large: at most 10000 pixels a side and 40 megapixels");
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
  auto det = vision::CreateFaceDetector(config.detector_type, *registry, std::nullopt);
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
