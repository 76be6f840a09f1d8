// Face alignment: warps a face onto the canonical chip an embedder expects.
//
// * Dlib chip (150 px, padding 0.25) for the 128-D face-api / dlib ResNet:
//   similarity transform of the landmarks onto dlib's mean face shape
//   (as dlib's get_face_chip_details does), from 5 YuNet-order points or from
//   68 iBUG points.
// * ArcFace chip (112 px): similarity transform of the 5 points onto the
//   standard InsightFace template (also used by SFace).
// * Box chip: when no landmarks are known, a square crop around the box.
//
// Thread-safety: stateless.
#pragma once

#include <opencv2/core/mat.hpp>
#include <vector>

#include "core/status.h"
#include "vision/detection.h"

namespace vigil::vision {

// The 2x3 similarity (rotation, uniform scale, translation) that maps `from`
// onto `to` in the least-squares sense (Umeyama without reflection).
cv::Mat EstimateSimilarity(const std::vector<cv::Point2f>& from, const std::vector<cv::Point2f>& to);

// 150x150 (or `size`) BGR chip for the 128-D net. `landmarks`: 5 points in
// YuNet order or 68 iBUG points.
Result<cv::Mat> AlignDlibChip(const cv::Mat& bgr, const std::vector<cv::Point2f>& landmarks, int size = 150,
                              double padding = 0.25);
// 112x112 BGR chip from 5 points in YuNet order.
Result<cv::Mat> AlignArcFaceChip(const cv::Mat& bgr, const std::vector<cv::Point2f>& landmarks5);
// Square crop centred on the box, enlarged by `margin` per side, resized to
// `size`; out-of-image parts are filled with the replicated border.
Result<cv::Mat> BoxChip(const cv::Mat& bgr, const cv::Rect2f& box, int size, float margin = 0.0f);

// The 5 YuNet-order points derived from 68 iBUG landmarks (eye centres, nose
// tip, mouth corners).
std::vector<cv::Point2f> FivePointsFrom68(const std::vector<cv::Point2f>& landmarks68);

}  // namespace vigil::vision
