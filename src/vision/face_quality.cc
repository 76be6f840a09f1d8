#include "vision/face_quality.h"

#include <algorithm>
#include <cmath>
#include <opencv2/imgproc.hpp>

namespace vigil::vision {
namespace {

float Clamp01(double v) { return static_cast<float>(std::clamp(v, 0.0, 1.0)); }

// Laplacian variance of the face, measured on a 112 px grey copy so that a big
// blurry face does not look sharper than a small crisp one.
double LaplacianVariance(const cv::Mat& bgr, const cv::Rect2f& box) {
  const cv::Rect r = cv::Rect(box) & cv::Rect(0, 0, bgr.cols, bgr.rows);
  if (r.width < 4 || r.height < 4) return 0;
  cv::Mat grey, small, lap;
  cv::cvtColor(bgr(r), grey, cv::COLOR_BGR2GRAY);
  cv::resize(grey, small, cv::Size(112, 112), 0, 0, cv::INTER_AREA);
  cv::Laplacian(small, lap, CV_32F);
  cv::Scalar mean, stddev;
  cv::meanStdDev(lap, mean, stddev);
  return stddev[0] * stddev[0];
}

}  // namespace

FaceQualityParts FaceQualityBreakdown(const cv::Mat& bgr, const Detection& d) {
  FaceQualityParts q;
  if (bgr.empty() || bgr.type() != CV_8UC3) return q;
  // Size: recognisers see 112-150 px chips; below ~24 px a face is noise.
  const double side = std::min(d.box.width, d.box.height);
  q.size = Clamp01((side - 24.0) / (112.0 - 24.0));
  // Sharpness: a crisp webcam face gives a Laplacian variance of several
  // hundred at 112 px, a motion-blurred one a few tens. Saturates at 400.
  q.sharpness = Clamp01(std::sqrt(LaplacianVariance(bgr, d.box) / 400.0));
  // Pose: frontal faces have a level eye line and the nose halfway between
  // the eyes; both degrade smoothly with roll and yaw.
  q.pose = 1.0f;
  if (d.landmarks.size() == static_cast<size_t>(kNumLandmarks)) {
    const cv::Point2f re = d.landmarks[kRightEye], le = d.landmarks[kLeftEye], nose = d.landmarks[kNoseTip];
    const double dx = le.x - re.x, dy = le.y - re.y;
    const double eye_dist = std::hypot(dx, dy);
    if (eye_dist < 1e-3) {
      q.pose = 0;
    } else {
      const double roll = std::abs(std::atan2(dy, dx));  // radians, 0 when level
      // Position of the nose projected on the eye line: 0.5 when frontal.
      const double t = ((nose.x - re.x) * dx + (nose.y - re.y) * dy) / (eye_dist * eye_dist);
      const double yaw = std::abs(t - 0.5) * 2;  // 0 frontal, 1 nose at an eye
      q.pose = Clamp01(1.0 - roll / 0.8) * Clamp01(1.0 - yaw);
    }
  }
  q.score = Clamp01(d.score);
  q.total = q.size * q.sharpness * q.pose * q.score;
  return q;
}

float FaceQuality(const cv::Mat& bgr, const Detection& d) { return FaceQualityBreakdown(bgr, d).total; }

}  // namespace vigil::vision
