// A detected face: box, detector score and (optionally) five landmarks.
//
// Coordinates are pixels of the frame given to the detector (x right, y down).
// Landmark order follows YuNet / the ArcFace template: right eye, left eye,
// nose tip, right mouth corner, left mouth corner ("right" is the subject's
// right, i.e. the left side of the image for a frontal face).
//
// Thread-safety: plain values.
#pragma once

#include <opencv2/core/types.hpp>
#include <vector>

namespace vigil::vision {

enum LandmarkIndex : int {
  kRightEye = 0,
  kLeftEye = 1,
  kNoseTip = 2,
  kRightMouth = 3,
  kLeftMouth = 4,
  kNumLandmarks = 5,
};

struct Detection {
  cv::Rect2f box;
  float score = 0;
  std::vector<cv::Point2f> landmarks;  // empty or kNumLandmarks points
};

// Intersection over union of two boxes; 0 when either is empty.
float BoxIoU(const cv::Rect2f& a, const cv::Rect2f& b);

// Index of the "main" face of an image: the largest, with ties (within 20 %
// of the area) going to the one closest to the image centre. -1 when empty.
int MainFaceIndex(const std::vector<Detection>& faces, cv::Size image_size);

// Greedy non-maximum suppression: keeps the highest-scoring boxes whose IoU
// with every kept box is at most `iou_threshold`, at most `max_keep`.
std::vector<Detection> NonMaxSuppression(std::vector<Detection> faces, float iou_threshold, size_t max_keep);

}  // namespace vigil::vision
