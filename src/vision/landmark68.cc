#include "vision/landmark68.h"

#include <filesystem>
#include <opencv2/core.hpp>
#include <opencv2/dnn.hpp>
#include <opencv2/imgproc.hpp>

namespace vigil::vision {
namespace {

// The converted graph takes a plain RGB 0-255 NCHW 112x112 blob of the box,
// centre-padded to a square (normalisation inside the graph), and returns 136
// values: (x, y) x 68 in [0, 1] of the padded square.
class OnnxLandmark68Net final : public Landmark68Net {
 public:
  explicit OnnxLandmark68Net(cv::dnn::Net net) : net_(std::move(net)) {}

  Result<std::vector<cv::Point2f>> Predict(const cv::Mat& bgr, const cv::Rect2f& box) override {
    if (bgr.empty() || bgr.type() != CV_8UC3) return InvalidArgument("expected a non-empty BGR image");
    if (box.width <= 1 || box.height <= 1) return InvalidArgument("empty face box");
    // Square around the box centre (face-api pads the crop to a square,
    // centred); parts outside the image are zero like face-api's padding.
    const double side = std::max(box.width, box.height);
    const double s = 112.0 / side;
    const double x0 = box.x + box.width / 2.0 - side / 2.0;
    const double y0 = box.y + box.height / 2.0 - side / 2.0;
    cv::Mat m = (cv::Mat_<double>(2, 3) << s, 0, -s * x0, 0, s, -s * y0);
    cv::Mat chip;
    cv::warpAffine(bgr, chip, m, cv::Size(112, 112), cv::INTER_LINEAR, cv::BORDER_CONSTANT, cv::Scalar(0, 0, 0));
    try {
      net_.setInput(cv::dnn::blobFromImage(chip, 1.0, cv::Size(112, 112), cv::Scalar(), true, false, CV_32F));
      cv::Mat out = net_.forward();
      if (out.total() != 136) return Internal("landmark68: expected 136 outputs, got " + std::to_string(out.total()));
      const float* p = out.ptr<float>();
      std::vector<cv::Point2f> pts(68);
      for (int i = 0; i < 68; ++i) {
        pts[i] = cv::Point2f(static_cast<float>(x0 + p[2 * i] * side), static_cast<float>(y0 + p[2 * i + 1] * side));
      }
      return pts;
    } catch (const cv::Exception& e) {
      return Internal(std::string("landmark68: ") + e.what());
    }
  }

 private:
  cv::dnn::Net net_;
};

}  // namespace

Result<Landmark68NetPtr> CreateLandmark68Net(const std::string& onnx_path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(onnx_path, ec)) return NotFound("landmark68 model not found: " + onnx_path);
  try {
    cv::dnn::Net net = cv::dnn::readNetFromONNX(onnx_path);
    if (net.empty()) return InvalidArgument("landmark68: " + onnx_path + " holds no network");
    return Landmark68NetPtr(std::make_unique<OnnxLandmark68Net>(std::move(net)));
  } catch (const cv::Exception& e) {
    return InvalidArgument("landmark68: " + onnx_path + " does not load as ONNX: " + e.what());
  }
}

}  // namespace vigil::vision
