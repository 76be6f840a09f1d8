// face-api's FaceLandmark68Net (converted ONNX): 68 iBUG landmarks for a box.
//
// Thread-safety: an instance is NOT thread-safe; one per thread.
#pragma once

#include <memory>
#include <opencv2/core/mat.hpp>
#include <string>
#include <vector>

#include "core/status.h"

namespace vigil::vision {

class Landmark68Net {
 public:
  virtual ~Landmark68Net() = default;
  // 68 points in frame coordinates for the face in `box`.
  virtual Result<std::vector<cv::Point2f>> Predict(const cv::Mat& bgr, const cv::Rect2f& box) = 0;
};
using Landmark68NetPtr = std::unique_ptr<Landmark68Net>;

Result<Landmark68NetPtr> CreateLandmark68Net(const std::string& onnx_path);

}  // namespace vigil::vision
