#include "models/user_model.h"

#include <unistd.h>

#include <filesystem>
#include <opencv2/core.hpp>
#include <opencv2/core/utils/logger.hpp>
#include <opencv2/dnn.hpp>
#include <opencv2/imgproc.hpp>
#include <opencv2/objdetect/face.hpp>

namespace vigil::models {

namespace fs = std::filesystem;

namespace {

// A face-like synthetic picture: skin-toned ellipse, darker eyes and mouth on
// a grey background, plus deterministic noise so no layer sees a constant.
cv::Mat SyntheticFace(int size) {
  cv::Mat img(size, size, CV_8UC3, cv::Scalar(120, 120, 120));
  const double s = size / 112.0;
  cv::ellipse(img, cv::Point(int(56 * s), int(60 * s)), cv::Size(int(34 * s), int(44 * s)), 0, 0, 360,
              cv::Scalar(140, 170, 210), cv::FILLED);
  cv::circle(img, cv::Point(int(42 * s), int(50 * s)), int(5 * s) + 1, cv::Scalar(40, 40, 40), cv::FILLED);
  cv::circle(img, cv::Point(int(70 * s), int(50 * s)), int(5 * s) + 1, cv::Scalar(40, 40, 40), cv::FILLED);
  cv::ellipse(img, cv::Point(int(56 * s), int(85 * s)), cv::Size(int(12 * s) + 1, int(4 * s) + 1), 0, 0, 360,
              cv::Scalar(60, 60, 150), cv::FILLED);
  cv::Mat noise(img.size(), img.type());
  cv::RNG rng(42);
  rng.fill(noise, cv::RNG::UNIFORM, 0, 12);
  img += noise;
  return img;
}

std::string TrimmedMessage(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

size_t Total(const cv::Mat& m) { return m.total() * size_t(m.channels()); }

std::string ShapeOf(const cv::Mat& m) {
  std::string s = "[";
  for (int i = 0; i < m.dims; ++i) s += (i ? "," : "") + std::to_string(m.size[i]);
  return s + "]";
}

Status ProbeYunet(const std::string& path) {
  auto det = cv::FaceDetectorYN::create(path, "", cv::Size(320, 320), 0.6f, 0.3f, 5000);
  if (det.empty()) return InvalidArgument("cannot create a YuNet detector");
  cv::Mat img;
  cv::resize(SyntheticFace(112), img, cv::Size(320, 320));
  cv::Mat faces;
  det->detect(img, faces);
  // One row per face: box (4), five landmarks (10), score (1).
  if (!faces.empty() && faces.cols != 15) {
    return InvalidArgument("detector output has " + std::to_string(faces.cols) + " columns per face, expected 15");
  }
  return Status::Ok();
}

Result<int> ProbeArcface(const std::string& path) {
  cv::dnn::Net net = cv::dnn::readNetFromONNX(path);
  if (net.empty()) return InvalidArgument("OpenCV DNN loaded an empty network");
  net.setPreferableBackend(cv::dnn::DNN_BACKEND_OPENCV);
  // InsightFace models take (x - 127.5) / 127.5, RGB, 112x112.
  cv::Mat blob = cv::dnn::blobFromImage(SyntheticFace(112), 1.0 / 127.5, cv::Size(112, 112),
                                        cv::Scalar(127.5, 127.5, 127.5), true, false);
  net.setInput(blob);
  cv::Mat out = net.forward();
  if (Total(out) != 512) {
    return InvalidArgument("output has shape " + ShapeOf(out) + ", expected a 512-D embedding");
  }
  if (cv::norm(out) == 0 || cv::checkRange(out) == false) return InvalidArgument("embedding is zero or not finite");
  return 512;
}

Status ProbeSface(const std::string& path) {
  auto rec = cv::FaceRecognizerSF::create(path, "");
  if (rec.empty()) return InvalidArgument("cannot create an SFace recognizer");
  cv::Mat feature;
  rec->feature(SyntheticFace(112), feature);
  if (Total(feature) != 128) {
    return InvalidArgument("feature has shape " + ShapeOf(feature) + ", expected a 128-D embedding");
  }
  if (cv::norm(feature) == 0 || cv::checkRange(feature) == false)
    return InvalidArgument("feature is zero or not finite");
  return Status::Ok();
}

}  // namespace

const std::vector<std::string>& UserModelKinds() {
  static const std::vector<std::string> kinds = {"yunet", "arcface", "sface"};
  return kinds;
}

Result<ModelInfo> ProbeUserModel(const std::string& kind, const std::string& path) {
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) return NotFound("model file " + path + " does not exist");
  ModelInfo m;
  m.kind = kind;
  m.source = "user:" + fs::absolute(path, ec).lexically_normal().string();
  Status st;
  // OpenCV logs its own ERROR lines for a bad model before throwing; the
  // caught exception already carries the reason, so keep stderr to one line.
  struct QuietOpenCv {
    cv::utils::logging::LogLevel saved = cv::utils::logging::setLogLevel(cv::utils::logging::LOG_LEVEL_SILENT);
    ~QuietOpenCv() { cv::utils::logging::setLogLevel(saved); }
  } quiet;
  try {
    if (kind == "yunet") {
      st = ProbeYunet(path);
      m.id = "yunet-2022mar";
      m.role = "detector";
      m.input_width = m.input_height = 320;  // FaceDetectorYN resizes to any size; 320 is the probe's
      m.default_threshold = 0.6;             // score threshold that kept recall (MODELS.md §7)
    } else if (kind == "arcface") {
      auto dim = ProbeArcface(path);
      st = dim.status();
      m.id = "arcface";
      m.role = "embedder";
      m.input_width = m.input_height = 112;
      m.output_dim = dim.ok() ? *dim : 512;
      m.default_threshold = 0.35;  // placeholder cosine; calibrated by the vision module (docs/models.md)
    } else if (kind == "sface") {
      st = ProbeSface(path);
      m.id = "sface";
      m.role = "embedder";
      m.input_width = m.input_height = 112;
      m.output_dim = 128;
      m.default_threshold = 0.363;  // OpenCV's published cosine threshold for SFace
    } else {
      return InvalidArgument("unknown model kind '" + kind + "'; expected yunet, arcface or sface");
    }
  } catch (const cv::Exception& e) {
    return InvalidArgument(path + " is not a usable " + kind + " model: OpenCV could not load or run it (" +
                           TrimmedMessage(e.msg) + ")");
  } catch (const std::exception& e) {
    return InvalidArgument(path + " is not a usable " + kind + " model: " + e.what());
  }
  if (!st.ok()) return InvalidArgument(path + " is not a usable " + kind + " model: " + st.message());
  return m;
}

Result<ModelInfo> AddUserModel(const std::string& models_dir, const std::string& kind, const std::string& path) {
  VIGIL_ASSIGN_OR_RETURN(ModelInfo m, ProbeUserModel(kind, path));
  VIGIL_ASSIGN_OR_RETURN(auto reg, ModelRegistry::Open(models_dir));
  std::error_code ec;
  fs::create_directories(models_dir, ec);
  if (ec) return Internal("cannot create models directory " + models_dir + ": " + ec.message());
  m.file = m.id + ".onnx";
  const fs::path dest = fs::path(models_dir) / m.file;
  const fs::path tmp = dest.string() + ".tmp." + std::to_string(::getpid());
  fs::copy_file(path, tmp, fs::copy_options::overwrite_existing, ec);
  if (ec) return Internal("cannot copy " + path + " into " + models_dir + ": " + ec.message());
  fs::rename(tmp, dest, ec);
  if (ec) {
    const std::string why = ec.message();
    fs::remove(tmp, ec);
    return Internal("cannot move the model into place: " + why);
  }
  VIGIL_ASSIGN_OR_RETURN(m.sha256, Sha256File(dest.string()));
  VIGIL_RETURN_IF_ERROR(reg.Upsert(m));
  return m;
}

}  // namespace vigil::models
