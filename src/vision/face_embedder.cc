#include "vision/face_embedder.h"

#include <cmath>
#include <cstring>
#include <filesystem>
#include <opencv2/core.hpp>
#include <opencv2/dnn.hpp>
#include <opencv2/imgproc.hpp>
#include <opencv2/objdetect.hpp>

#include "vision/alignment.h"
#include "vision/landmark68.h"
#include "vision/mock_faces.h"

namespace vigil::vision {
namespace {

Status CheckFace(const cv::Mat& bgr, const Detection& d) {
  if (bgr.empty()) return InvalidArgument("empty image");
  if (bgr.type() != CV_8UC3) return InvalidArgument("expected an 8-bit 3-channel BGR image");
  const cv::Rect2f frame(0, 0, static_cast<float>(bgr.cols), static_cast<float>(bgr.rows));
  if (d.box.width <= 1 || d.box.height <= 1 || (d.box & frame).area() <= 0) {
    return InvalidArgument("face box is empty or outside the image");
  }
  return Status::Ok();
}

Result<Embedding> MakeEmbedding(const std::string& model, const float* data, size_t n) {
  Embedding e;
  e.model = model;
  e.values.assign(data, data + n);
  if (!L2Normalize(e.values)) return Internal(model + ": the network produced a zero or non-finite vector");
  return e;
}

class MockEmbedder final : public FaceEmbedder {
 public:
  Result<Embedding> Embed(const cv::Mat& bgr, const Detection& d) override {
    VIGIL_RETURN_IF_ERROR(CheckFace(bgr, d));
    const auto person = DecodeMockPerson(bgr, d);
    if (!person) return InvalidArgument("not a mock face: the pattern does not decode");
    std::vector<float> v = MockPersonVector(*person);
    // Tiny noise that depends on where and how big the face is, so two
    // sightings differ a little (as real embeddings do) yet the same input
    // always gives the same output. Norm ~0.05: same-person cosine ~0.999.
    uint64_t h = 1469598103934665603ULL;
    for (float f : {d.box.x, d.box.y, d.box.width, d.box.height}) {
      const auto q = static_cast<int64_t>(std::lround(f));
      h = (h ^ static_cast<uint64_t>(q)) * 1099511628211ULL;
    }
    const float sigma = 0.05f / std::sqrt(static_cast<float>(v.size()));
    for (auto& x : v) {
      h ^= h >> 33;
      h *= 0xff51afd7ed558ccdULL;
      h ^= h >> 33;
      const double u = static_cast<double>(h >> 11) * (1.0 / 9007199254740992.0);  // [0, 1)
      x += static_cast<float>((u * 2 - 1) * 1.7320508 * sigma);                    // uniform with std sigma
    }
    return MakeEmbedding(kMockEmbedderModel, v.data(), v.size());
  }
  std::string model_id() const override { return kMockEmbedderModel; }
  int dim() const override { return kMockEmbeddingDim; }
  float default_threshold() const override { return kMockDefaultThreshold; }
};

Result<cv::dnn::Net> LoadOnnx(const std::string& path, const std::string& what) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) return NotFound(what + " model not found: " + path);
  try {
    cv::dnn::Net net = cv::dnn::readNetFromONNX(path);
    if (net.empty()) return InvalidArgument(what + ": " + path + " holds no network");
    return net;
  } catch (const cv::Exception& e) {
    return InvalidArgument(what + ": " + path + " does not load as ONNX: " + e.what());
  }
}

// face-api's FaceRecognitionNet. The converted graph takes a plain RGB 0-255
// NCHW 150x150 blob (normalisation is inside the graph) and returns 128
// values; faces go one at a time (batch > 1 fails on OpenCV 4.6).
class FaceApiEmbedder final : public FaceEmbedder {
 public:
  FaceApiEmbedder(cv::dnn::Net net, Landmark68NetPtr landmarks, float threshold)
      : net_(std::move(net)), landmarks_(std::move(landmarks)), threshold_(threshold) {}

  Result<Embedding> Embed(const cv::Mat& bgr, const Detection& d) override {
    VIGIL_RETURN_IF_ERROR(CheckFace(bgr, d));
    cv::Mat chip;
    if (d.landmarks.size() == static_cast<size_t>(kNumLandmarks)) {
      VIGIL_ASSIGN_OR_RETURN(chip, AlignDlibChip(bgr, d.landmarks));
    } else if (landmarks_) {
      VIGIL_ASSIGN_OR_RETURN(auto pts, landmarks_->Predict(bgr, d.box));
      VIGIL_ASSIGN_OR_RETURN(chip, AlignDlibChip(bgr, FivePointsFrom68(pts)));
    } else {
      VIGIL_ASSIGN_OR_RETURN(chip, BoxChip(bgr, d.box, 150, 0.0f));
    }
    return EmbedChip(chip);
  }

  Result<Embedding> EmbedChip(const cv::Mat& chip150) {
    try {
      cv::Mat blob = cv::dnn::blobFromImage(chip150, 1.0, cv::Size(150, 150), cv::Scalar(), /*swapRB=*/true,
                                            /*crop=*/false, CV_32F);
      net_.setInput(blob);
      cv::Mat out = net_.forward();
      if (out.total() != 128) return Internal("faceapi: expected 128 outputs, got " + std::to_string(out.total()));
      return MakeEmbedding("faceapi-recognition-128", out.ptr<float>(), out.total());
    } catch (const cv::Exception& e) {
      return Internal(std::string("faceapi: ") + e.what());
    }
  }

  std::string model_id() const override { return "faceapi-recognition-128"; }
  int dim() const override { return 128; }
  float default_threshold() const override { return threshold_; }

 private:
  cv::dnn::Net net_;
  Landmark68NetPtr landmarks_;
  float threshold_;
};

// An InsightFace ArcFace ONNX: 112x112 RGB, (x - 127.5) / 127.5, 512 outputs.
class ArcFaceEmbedder final : public FaceEmbedder {
 public:
  ArcFaceEmbedder(cv::dnn::Net net, float threshold) : net_(std::move(net)), threshold_(threshold) {}

  Result<Embedding> Embed(const cv::Mat& bgr, const Detection& d) override {
    VIGIL_RETURN_IF_ERROR(CheckFace(bgr, d));
    cv::Mat chip;
    if (d.landmarks.size() == static_cast<size_t>(kNumLandmarks)) {
      VIGIL_ASSIGN_OR_RETURN(chip, AlignArcFaceChip(bgr, d.landmarks));
    } else {
      VIGIL_ASSIGN_OR_RETURN(chip, BoxChip(bgr, d.box, 112, 0.0f));
    }
    try {
      cv::Mat blob = cv::dnn::blobFromImage(chip, 1.0 / 127.5, cv::Size(112, 112), cv::Scalar(127.5, 127.5, 127.5),
                                            /*swapRB=*/true, false, CV_32F);
      net_.setInput(blob);
      cv::Mat out = net_.forward();
      dim_ = static_cast<int>(out.total());
      return MakeEmbedding("arcface", out.ptr<float>(), out.total());
    } catch (const cv::Exception& e) {
      return Internal(std::string("arcface: ") + e.what());
    }
  }
  std::string model_id() const override { return "arcface"; }
  int dim() const override { return dim_; }
  float default_threshold() const override { return threshold_; }

 private:
  cv::dnn::Net net_;
  float threshold_;
  int dim_ = 512;
};

// SFace through cv::FaceRecognizerSF; its own alignCrop expects YuNet's
// 1x15 row, which we rebuild from the typed detection.
class SFaceEmbedder final : public FaceEmbedder {
 public:
  SFaceEmbedder(cv::Ptr<cv::FaceRecognizerSF> net, float threshold) : net_(std::move(net)), threshold_(threshold) {}

  Result<Embedding> Embed(const cv::Mat& bgr, const Detection& d) override {
    VIGIL_RETURN_IF_ERROR(CheckFace(bgr, d));
    cv::Mat chip;
    if (d.landmarks.size() == static_cast<size_t>(kNumLandmarks)) {
      VIGIL_ASSIGN_OR_RETURN(chip, AlignArcFaceChip(bgr, d.landmarks));
    } else {
      VIGIL_ASSIGN_OR_RETURN(chip, BoxChip(bgr, d.box, 112, 0.0f));
    }
    try {
      cv::Mat feature;
      net_->feature(chip, feature);
      return MakeEmbedding("sface", feature.ptr<float>(), feature.total());
    } catch (const cv::Exception& e) {
      return Internal(std::string("sface: ") + e.what());
    }
  }
  std::string model_id() const override { return "sface"; }
  int dim() const override { return 128; }
  float default_threshold() const override { return threshold_; }

 private:
  cv::Ptr<cv::FaceRecognizerSF> net_;
  float threshold_;
};

float ThresholdOr(const models::ModelInfo& m, float fallback) {
  return m.default_threshold > 0 ? static_cast<float>(m.default_threshold) : fallback;
}

}  // namespace

float CosineSimilarity(std::span<const float> a, std::span<const float> b) {
  if (a.empty() || a.size() != b.size()) return 0;
  float dot = 0;
  for (size_t i = 0; i < a.size(); ++i) dot += a[i] * b[i];
  return dot;
}

bool L2Normalize(std::vector<float>& v) {
  double sum = 0;
  for (float x : v) sum += static_cast<double>(x) * x;
  if (!(sum > 0) || !std::isfinite(sum)) return false;
  const auto inv = static_cast<float>(1.0 / std::sqrt(sum));
  for (float& x : v) x *= inv;
  return true;
}

FaceEmbedderPtr CreateMockEmbedder() { return std::make_unique<MockEmbedder>(); }

Result<FaceEmbedderPtr> CreateFaceApiEmbedder(const std::string& recognition_onnx, const std::string& landmark68_onnx,
                                              float threshold) {
  VIGIL_ASSIGN_OR_RETURN(auto net, LoadOnnx(recognition_onnx, "faceapi recognition"));
  Landmark68NetPtr landmarks;
  if (!landmark68_onnx.empty()) {
    VIGIL_ASSIGN_OR_RETURN(landmarks, CreateLandmark68Net(landmark68_onnx));
  }
  return FaceEmbedderPtr(std::make_unique<FaceApiEmbedder>(std::move(net), std::move(landmarks),
                                                           threshold > 0 ? threshold : kFaceApiDefaultThreshold));
}

Result<FaceEmbedderPtr> CreateArcFaceEmbedder(const std::string& onnx_path, float threshold) {
  VIGIL_ASSIGN_OR_RETURN(auto net, LoadOnnx(onnx_path, "arcface"));
  return FaceEmbedderPtr(
      std::make_unique<ArcFaceEmbedder>(std::move(net), threshold > 0 ? threshold : kArcFaceDefaultThreshold));
}

Result<FaceEmbedderPtr> CreateSFaceEmbedder(const std::string& onnx_path, float threshold) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(onnx_path, ec)) return NotFound("sface model not found: " + onnx_path);
  try {
    auto net = cv::FaceRecognizerSF::create(onnx_path, "");
    if (net.empty()) return InvalidArgument("sface: could not load " + onnx_path);
    return FaceEmbedderPtr(
        std::make_unique<SFaceEmbedder>(std::move(net), threshold > 0 ? threshold : kSFaceDefaultThreshold));
  } catch (const cv::Exception& e) {
    return InvalidArgument("sface: " + onnx_path + " does not load: " + e.what());
  }
}

Result<FaceEmbedderPtr> CreateFaceEmbedder(const std::string& type, const models::ModelRegistry& registry) {
  if (type == "mock") return CreateMockEmbedder();
  const auto arcface = registry.FindByKind("arcface");
  const auto sface = registry.FindByKind("sface");
  const auto faceapi = registry.FindByKind("faceapi_recognition");
  const std::string where = registry.dir().empty() ? std::string("the models directory") : registry.dir();
  if (type == "insightface" || (type == "auto" && arcface)) {
    if (!arcface)
      return FailedPrecondition("embedder 'insightface' is not registered in " + where +
                                ": run `vigil models add arcface FILE.onnx`");
    return CreateArcFaceEmbedder(registry.PathOf(*arcface), ThresholdOr(*arcface, kArcFaceDefaultThreshold));
  }
  if (type == "sface" || (type == "auto" && sface)) {
    if (!sface)
      return FailedPrecondition("embedder 'sface' is not registered in " + where +
                                ": run `vigil models add sface FILE.onnx`");
    return CreateSFaceEmbedder(registry.PathOf(*sface), ThresholdOr(*sface, kSFaceDefaultThreshold));
  }
  if (type == "faceapi" || type == "auto") {
    if (!faceapi) return FailedPrecondition("no face embedder installed in " + where + ": run `vigil models install`");
    const auto lm = registry.FindByKind("landmark68");
    return CreateFaceApiEmbedder(registry.PathOf(*faceapi), lm ? registry.PathOf(*lm) : std::string(),
                                 ThresholdOr(*faceapi, kFaceApiDefaultThreshold));
  }
  return InvalidArgument("unknown embedder type '" + type + "' (expected insightface, sface, faceapi, mock or auto)");
}

}  // namespace vigil::vision
