#include "vision/detection.h"

#include <algorithm>
#include <cmath>

namespace vigil::vision {

float BoxIoU(const cv::Rect2f& a, const cv::Rect2f& b) {
  if (a.area() <= 0 || b.area() <= 0) return 0;
  const float inter = (a & b).area();
  const float uni = a.area() + b.area() - inter;
  return uni > 0 ? inter / uni : 0;
}

int MainFaceIndex(const std::vector<Detection>& faces, cv::Size image_size) {
  if (faces.empty()) return -1;
  float max_area = 0;
  for (const auto& f : faces) max_area = std::max(max_area, f.box.area());
  const cv::Point2f centre(image_size.width / 2.0f, image_size.height / 2.0f);
  int best = -1;
  float best_dist = 0;
  for (size_t i = 0; i < faces.size(); ++i) {
    // Faces within 20 % of the largest count as equally large; among those the
    // most central wins, so a slightly bigger bystander at the edge does not.
    if (faces[i].box.area() < 0.8f * max_area) continue;
    const cv::Point2f c(faces[i].box.x + faces[i].box.width / 2, faces[i].box.y + faces[i].box.height / 2);
    const float dist = std::hypot(c.x - centre.x, c.y - centre.y);
    if (best < 0 || dist < best_dist) {
      best = static_cast<int>(i);
      best_dist = dist;
    }
  }
  return best;
}

std::vector<Detection> NonMaxSuppression(std::vector<Detection> faces, float iou_threshold, size_t max_keep) {
  std::stable_sort(faces.begin(), faces.end(),
                   [](const Detection& a, const Detection& b) { return a.score > b.score; });
  std::vector<Detection> kept;
  for (auto& f : faces) {
    if (kept.size() >= max_keep) break;
    bool suppressed = false;
    for (const auto& k : kept) {
      if (BoxIoU(f.box, k.box) > iou_threshold) {
        suppressed = true;
        break;
      }
    }
    if (!suppressed) kept.push_back(std::move(f));
  }
  return kept;
}

}  // namespace vigil::vision
