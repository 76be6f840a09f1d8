// One number in [0, 1] saying how useful a face crop is for recognition; the
// worker keeps the best face of each track by it.
//
// It multiplies four factors, each in [0, 1]:
//   size       the box's shorter side, saturating at 112 px (0 below ~24 px);
//   sharpness  variance of the Laplacian of the grey face crop (rescaled to
//              112 px so it does not depend on size), saturating;
//   pose       from the five landmarks: eye line tilt and how centred the nose
//              is between the eyes (1 without landmarks: unknown pose is not
//              punished twice, the detector score already reflects it);
//   score      the detector score.
//
// Thread-safety: stateless.
#pragma once

#include <opencv2/core/mat.hpp>

#include "vision/detection.h"

namespace vigil::vision {

struct FaceQualityParts {
  float size = 0;
  float sharpness = 0;
  float pose = 0;
  float score = 0;
  float total = 0;  // product of the parts
};

FaceQualityParts FaceQualityBreakdown(const cv::Mat& bgr, const Detection& d);
// FaceQualityBreakdown(...).total.
float FaceQuality(const cv::Mat& bgr, const Detection& d);

}  // namespace vigil::vision
