// face-api's SSD MobileNetV1 on the converted ONNX graph (docs/models.md):
// the graph gives raw box encodings and sigmoid scores for 5118 anchors; the
// anchors come from a separate file; decoding and NMS happen here.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <opencv2/core.hpp>
#include <opencv2/dnn.hpp>
#include <opencv2/imgproc.hpp>

#include "vision/face_detector.h"

namespace vigil::vision {
namespace {

constexpr int kInputSize = 512;
constexpr int kNumAnchors = 5118;
constexpr float kNmsIou = 0.5f;
constexpr size_t kMaxFaces = 100;

struct Anchor {
  float cy, cx, h, w;
};

class SsdDetector final : public FaceDetector {
 public:
  SsdDetector(cv::dnn::Net net, std::vector<Anchor> anchors, float threshold)
      : net_(std::move(net)), anchors_(std::move(anchors)), threshold_(threshold) {}

  Result<std::vector<Detection>> Detect(const cv::Mat& bgr) override {
    if (bgr.empty()) return InvalidArgument("empty image");
    if (bgr.type() != CV_8UC3) return InvalidArgument("expected an 8-bit 3-channel BGR image");
    // Pad to a square at the bottom/right with zeros and scale to 512: one
    // warpAffine with [[s,0,0],[0,s,0]] does both and samples like TF's
    // bilinear resize (no half-pixel centres), as face-api does.
    const int side = std::max(bgr.cols, bgr.rows);
    const double s = static_cast<double>(kInputSize) / side;
    cv::Mat m = (cv::Mat_<double>(2, 3) << s, 0, 0, 0, s, 0);
    cv::Mat input;
    cv::warpAffine(bgr, input, m, cv::Size(kInputSize, kInputSize), cv::INTER_LINEAR, cv::BORDER_CONSTANT,
                   cv::Scalar(0, 0, 0));
    std::vector<cv::Mat> outs;
    try {
      net_.setInput(cv::dnn::blobFromImage(input, 1.0, cv::Size(), cv::Scalar(), /*swapRB=*/true, false, CV_32F));
      net_.forward(outs, std::vector<cv::String>{"boxes", "scores"});
    } catch (const cv::Exception& e) {
      return Internal(std::string("ssd: ") + e.what());
    }
    if (outs.size() != 2 || outs[0].total() != kNumAnchors * 4 || outs[1].total() != kNumAnchors) {
      return Internal("ssd: unexpected output shapes (expected boxes [1,5118,4] and scores [1,5118])");
    }
    const float* enc = outs[0].ptr<float>();
    const float* scores = outs[1].ptr<float>();
    std::vector<Detection> candidates;
    for (int i = 0; i < kNumAnchors; ++i) {
      if (!(scores[i] > threshold_)) continue;
      const Anchor& a = anchors_[i];
      const float* t = enc + 4 * i;  // (ty, tx, th, tw)
      const float cy = t[0] / 10 * a.h + a.cy;
      const float cx = t[1] / 10 * a.w + a.cx;
      const float h = std::exp(t[2] / 5) * a.h;
      const float w = std::exp(t[3] / 5) * a.w;
      const float y0 = std::clamp(cy - h / 2, 0.0f, 1.0f), x0 = std::clamp(cx - w / 2, 0.0f, 1.0f);
      const float y1 = std::clamp(cy + h / 2, 0.0f, 1.0f), x1 = std::clamp(cx + w / 2, 0.0f, 1.0f);
      Detection d;
      d.box = cv::Rect2f(x0 * side, y0 * side, (x1 - x0) * side, (y1 - y0) * side);
      d.score = scores[i];
      candidates.push_back(std::move(d));
    }
    std::vector<Detection> kept = NonMaxSuppression(std::move(candidates), kNmsIou, kMaxFaces);
    // Drop what lies in the padding; clip the rest to the frame.
    const cv::Rect2f frame(0, 0, static_cast<float>(bgr.cols), static_cast<float>(bgr.rows));
    std::vector<Detection> out;
    for (auto& d : kept) {
      d.box &= frame;
      if (d.box.width >= 2 && d.box.height >= 2) out.push_back(std::move(d));
    }
    return out;
  }
  std::string name() const override { return "ssd"; }
  std::string model_id() const override { return "faceapi-ssd-mobilenetv1"; }

 private:
  cv::dnn::Net net_;
  std::vector<Anchor> anchors_;
  float threshold_;
};

Result<std::vector<Anchor>> ReadAnchors(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFound("ssd anchors not found: " + path);
  std::vector<float> raw(kNumAnchors * 4);
  in.read(reinterpret_cast<char*>(raw.data()), static_cast<std::streamsize>(raw.size() * sizeof(float)));
  if (in.gcount() != static_cast<std::streamsize>(raw.size() * sizeof(float)) || in.peek() != EOF) {
    return DataLoss("ssd anchors " + path + ": expected exactly 81888 bytes (5118x4 float32)");
  }
  std::vector<Anchor> anchors(kNumAnchors);
  for (int i = 0; i < kNumAnchors; ++i) {
    const float* r = &raw[4 * i];  // (ymin, xmin, ymax, xmax)
    anchors[i] = {(r[0] + r[2]) / 2, (r[1] + r[3]) / 2, r[2] - r[0], r[3] - r[1]};
  }
  return anchors;
}

}  // namespace

Result<FaceDetectorPtr> CreateSsdDetector(const std::string& onnx_path, const std::string& anchors_path,
                                          float confidence_threshold) {
  if (!(confidence_threshold > 0 && confidence_threshold <= 1)) {
    return InvalidArgument("confidence threshold must be in (0, 1]");
  }
  std::error_code ec;
  if (!std::filesystem::is_regular_file(onnx_path, ec)) return NotFound("ssd model not found: " + onnx_path);
  VIGIL_ASSIGN_OR_RETURN(auto anchors, ReadAnchors(anchors_path));
  try {
    cv::dnn::Net net = cv::dnn::readNetFromONNX(onnx_path);
    if (net.empty()) return InvalidArgument("ssd: " + onnx_path + " holds no network");
    return FaceDetectorPtr(std::make_unique<SsdDetector>(std::move(net), std::move(anchors), confidence_threshold));
  } catch (const cv::Exception& e) {
    return InvalidArgument("ssd: " + onnx_path + " does not load as ONNX: " + e.what());
  }
}

}  // namespace vigil::vision
