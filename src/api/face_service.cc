#include "api/face_service.h"

#include <cstdint>
#include <opencv2/imgcodecs.hpp>
#include <optional>

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
// (found by fuzz/fuzz_http). The header's size is checked before decoding.
//
// JPEG is decoded at 1/2, 1/4 or 1/8 scale when the full image would exceed
// kMaxDecodedPixels or kMaxDecodedSide: libjpeg scales during the inverse DCT,
// so the full-size image is never allocated, and 48-200 MP phone photos can be
// enrolled (a face filling an enrolment photo loses nothing at 1/2 or 1/4).
// PNG has no scaled decoding, so its header must already fit those limits.
constexpr int64_t kMaxDecodedPixels = 40'000'000;
constexpr int64_t kMaxDecodedSide = 10'000;
constexpr int64_t kMaxJpegPixels = 256'000'000;  // decoded at 1/8: 4 MP
constexpr int64_t kMaxJpegSide = 32'000;         // decoded at 1/8: 4000 px

uint32_t BigEndian(std::string_view b, size_t at, size_t bytes) {
  uint32_t v = 0;
  for (size_t i = 0; i < bytes; ++i) v = (v << 8) | static_cast<unsigned char>(b[at + i]);
  return v;
}

struct ImageSize {
  int64_t width = 0;
  int64_t height = 0;
};

// The size a JPEG/PNG header claims, or nullopt when no header could be read
// (the decoder then rejects the image itself).
std::optional<ImageSize> HeaderSize(std::string_view b, ImageType type) {
  if (type == ImageType::kPng) {
    // Signature, then the IHDR chunk: length, "IHDR", width, height.
    if (b.size() < 24 || b.substr(12, 4) != "IHDR") return std::nullopt;
    return ImageSize{BigEndian(b, 16, 4), BigEndian(b, 20, 4)};
  }
  // JPEG: walk the marker segments up to the start of scan; every SOFn
  // (C0-CF except DHT C4, JPG C8, DAC CC) carries height and width. Stray
  // bytes between segments are skipped, as libjpeg skips them. The largest
  // frame claimed counts.
  std::optional<ImageSize> out;
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
    if (sof && len >= 7 && pos + 9 <= b.size()) {
      ImageSize claimed{BigEndian(b, pos + 7, 2), BigEndian(b, pos + 5, 2)};
      if (!out || claimed.width * claimed.height > out->width * out->height) out = claimed;
    }
    if (len < 2) break;
    pos += 2 + len;
  }
  return out;
}

bool FitsDecodeLimits(int64_t w, int64_t h) {
  return w <= kMaxDecodedSide && h <= kMaxDecodedSide && w * h <= kMaxDecodedPixels;
}

// The JPEG scale denominator (1, 2, 4, 8) that brings the image within the
// decode limits, or 0 when even 1/8 does not (or the type cannot be scaled).
int DecodeScale(const std::optional<ImageSize>& size, ImageType type) {
  if (!size) return 1;  // no readable header: the decoder rejects the image
  const int64_t w = size->width, h = size->height;
  if (type != ImageType::kJpeg) return FitsDecodeLimits(w, h) ? 1 : 0;
  if (w > kMaxJpegSide || h > kMaxJpegSide || w * h > kMaxJpegPixels) return 0;
  for (int d : {1, 2, 4, 8}) {
    // libjpeg rounds scaled dimensions up.
    if (FitsDecodeLimits((w + d - 1) / d, (h + d - 1) / d)) return d;
  }
  return 0;
}

int ReducedFlag(int scale) {
  switch (scale) {
    case 2:
      return cv::IMREAD_REDUCED_COLOR_2;
    case 4:
      return cv::IMREAD_REDUCED_COLOR_4;
    case 8:
      return cv::IMREAD_REDUCED_COLOR_8;
    default:
      return cv::IMREAD_COLOR;
  }
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
    const int scale = DecodeScale(HeaderSize(image, type), type);
    if (scale == 0) {
      return InvalidArgument(type == ImageType::kJpeg
                                 ? "the image is too large: at most 32000 pixels a side and 256 megapixels"
                                 : "the PNG image is too large: at most 10000 pixels a side and 40 megapixels "
                                   "(send a JPEG for larger photos)");
    }
    cv::Mat bgr;
    try {
      cv::Mat raw(1, static_cast<int>(image.size()), CV_8UC1, const_cast<char*>(image.data()));
      bgr = cv::imdecode(raw, ReducedFlag(scale));
    } catch (const cv::Exception& e) {
      return InvalidArgument("the image could not be decoded");
    }
    if (bgr.empty()) return InvalidArgument("the image could not be decoded");
    // A decoder that ignored the header's size must not get past the limits.
    if (!FitsDecodeLimits(bgr.cols, bgr.rows)) return InvalidArgument("the image is too large to decode");
    std::lock_guard lock(mu_);
    VIGIL_ASSIGN_OR_RETURN(auto dets, vision::DetectWithPaddingRetry(*det_, bgr));
    std::vector<AnalyzedFace> out;
    for (const auto& d : dets) {
      AnalyzedFace f;
      // In the coordinates of the uploaded image, not of the scaled decode.
      f.bbox = {d.box.x * scale, d.box.y * scale, d.box.width * scale, d.box.height * scale};
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
  auto det = vision::CreateFaceDetector(config.detector_type, *registry, std::nullopt, config.detect_input_size);
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
