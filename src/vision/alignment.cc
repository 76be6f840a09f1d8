#include "vision/alignment.h"

#include <array>
#include <cmath>
#include <opencv2/imgproc.hpp>

namespace vigil::vision {
namespace {

// dlib's mean face shape (iBUG points 17..67, normalised to the unit square),
// the constants of dlib's get_face_chip_details (dlib/image_transforms/
// interpolation.h). The 128-D net was trained on chips made with it.
constexpr std::array<double, 51> kMeanX = {
    0.000213256, 0.0752622, 0.18113,  0.29077,  0.393397, 0.586856, 0.689483, 0.799124, 0.904991, 0.98004,  0.490127,
    0.490127,    0.490127,  0.490127, 0.36688,  0.426036, 0.490127, 0.554217, 0.613373, 0.121737, 0.187122, 0.265825,
    0.334606,    0.260918,  0.182743, 0.645647, 0.714428, 0.793132, 0.858516, 0.79751,  0.719335, 0.254149, 0.340985,
    0.428858,    0.490127,  0.551395, 0.639268, 0.726104, 0.642159, 0.556721, 0.490127, 0.423532, 0.338094, 0.290379,
    0.428096,    0.490127,  0.552157, 0.689874, 0.553364, 0.490127, 0.42689};
constexpr std::array<double, 51> kMeanY = {
    0.106454, 0.038915, 0.0187482, 0.0344891, 0.0773906, 0.0773906, 0.0344891, 0.0187482, 0.038915, 0.106454, 0.203352,
    0.307009, 0.409805, 0.515625,  0.587326,  0.609345,  0.628106,  0.609345,  0.587326,  0.216423, 0.178758, 0.179852,
    0.231733, 0.245099, 0.244077,  0.231733,  0.179852,  0.178758,  0.216423,  0.244077,  0.245099, 0.780233, 0.745405,
    0.727388, 0.742578, 0.727388,  0.745405,  0.780233,  0.864805,  0.902192,  0.909281,  0.902192, 0.864805, 0.784792,
    0.778746, 0.785343, 0.778746,  0.784792,  0.824182,  0.831803,  0.824182};

cv::Point2d Mean68(int i) { return {kMeanX[i - 17], kMeanY[i - 17]}; }

cv::Point2d MeanOf(int first, int last) {
  cv::Point2d s(0, 0);
  for (int i = first; i <= last; ++i) s += Mean68(i);
  return s / (last - first + 1);
}

// dlib's chip uses the points it trusts: not the jaw (0..16), the eyebrows
// (17..26) or the lower lip (55..59, 65..67).
bool DlibUsesPoint(int i) { return i >= 27 && !(i >= 55 && i <= 59) && !(i >= 65); }

cv::Point2f ToChip(cv::Point2d unit, int size, double padding) {
  return {static_cast<float>((padding + unit.x) / (2 * padding + 1) * size),
          static_cast<float>((padding + unit.y) / (2 * padding + 1) * size)};
}

// YuNet-order points on dlib's mean shape: eye centres, nose tip (30), mouth
// corners (48 and 54). The subject's right eye (36..41) is on the image's left.
std::vector<cv::Point2d> DlibFivePoints() {
  return {MeanOf(36, 41), MeanOf(42, 47), Mean68(30), Mean68(48), Mean68(54)};
}

Status CheckImage(const cv::Mat& bgr) {
  if (bgr.empty()) return InvalidArgument("empty image");
  if (bgr.type() != CV_8UC3) return InvalidArgument("expected an 8-bit 3-channel BGR image");
  return Status::Ok();
}

// Warps with the 2x3 similarity `m` (image -> chip). When the chip is much
// smaller than the face in the image, bilinear sampling alone aliases (it
// reads 4 pixels of a region that covers many): the face region is first
// shrunk with area averaging, as dlib's chip extraction does with its pyramid.
cv::Mat Warp(const cv::Mat& bgr, const cv::Mat& m, int size) {
  cv::Mat chip;
  const double scale = std::hypot(m.at<double>(0, 0), m.at<double>(1, 0));
  if (scale < 0.8 && scale > 0) {
    cv::Mat inv;
    cv::invertAffineTransform(m, inv);
    std::vector<cv::Point2f> corners = {{0, 0},
                                        {static_cast<float>(size), 0},
                                        {0, static_cast<float>(size)},
                                        {static_cast<float>(size), static_cast<float>(size)}};
    std::vector<cv::Point2f> in_image;
    cv::transform(corners, in_image, inv);
    const cv::Rect roi =
        (cv::boundingRect(in_image) + cv::Size(4, 4) - cv::Point(2, 2)) & cv::Rect(0, 0, bgr.cols, bgr.rows);
    if (roi.width >= 2 && roi.height >= 2) {
      cv::Mat small;
      const cv::Size small_size(std::max(1, static_cast<int>(std::lround(roi.width * scale))),
                                std::max(1, static_cast<int>(std::lround(roi.height * scale))));
      cv::resize(bgr(roi), small, small_size, 0, 0, cv::INTER_AREA);
      // chip = A p + t with p = roi.tl + p_small / s  =>  chip = (A / s) p_small + (A roi.tl + t).
      const double sx = static_cast<double>(roi.width) / small_size.width;
      const double sy = static_cast<double>(roi.height) / small_size.height;
      cv::Mat m2 = m.clone();
      m2.at<double>(0, 0) *= sx;
      m2.at<double>(1, 0) *= sx;
      m2.at<double>(0, 1) *= sy;
      m2.at<double>(1, 1) *= sy;
      m2.at<double>(0, 2) += m.at<double>(0, 0) * roi.x + m.at<double>(0, 1) * roi.y;
      m2.at<double>(1, 2) += m.at<double>(1, 0) * roi.x + m.at<double>(1, 1) * roi.y;
      cv::warpAffine(small, chip, m2, cv::Size(size, size), cv::INTER_LINEAR, cv::BORDER_REPLICATE);
      return chip;
    }
  }
  cv::warpAffine(bgr, chip, m, cv::Size(size, size), cv::INTER_LINEAR, cv::BORDER_REPLICATE);
  return chip;
}

}  // namespace

cv::Mat EstimateSimilarity(const std::vector<cv::Point2f>& from, const std::vector<cv::Point2f>& to) {
  // Least squares for q = [a -b; b a] p + t: with both sets centred,
  // a = sum(p.q) / sum|p|^2 and b = sum(p x q) / sum|p|^2.
  const size_t n = std::min(from.size(), to.size());
  cv::Point2d pm(0, 0), qm(0, 0);
  for (size_t i = 0; i < n; ++i) {
    pm += cv::Point2d(from[i]);
    qm += cv::Point2d(to[i]);
  }
  pm /= static_cast<double>(n);
  qm /= static_cast<double>(n);
  double num_a = 0, num_b = 0, den = 0;
  for (size_t i = 0; i < n; ++i) {
    const cv::Point2d p = cv::Point2d(from[i]) - pm;
    const cv::Point2d q = cv::Point2d(to[i]) - qm;
    num_a += p.x * q.x + p.y * q.y;
    num_b += p.x * q.y - p.y * q.x;
    den += p.x * p.x + p.y * p.y;
  }
  cv::Mat m = cv::Mat::zeros(2, 3, CV_64F);
  if (den <= 0) return m;
  const double a = num_a / den, b = num_b / den;
  m.at<double>(0, 0) = a;
  m.at<double>(0, 1) = -b;
  m.at<double>(1, 0) = b;
  m.at<double>(1, 1) = a;
  m.at<double>(0, 2) = qm.x - (a * pm.x - b * pm.y);
  m.at<double>(1, 2) = qm.y - (b * pm.x + a * pm.y);
  return m;
}

Result<cv::Mat> AlignDlibChip(const cv::Mat& bgr, const std::vector<cv::Point2f>& landmarks, int size, double padding) {
  VIGIL_RETURN_IF_ERROR(CheckImage(bgr));
  std::vector<cv::Point2f> from, to;
  if (landmarks.size() == 5) {
    const auto tmpl = DlibFivePoints();
    for (int i = 0; i < 5; ++i) {
      from.push_back(landmarks[i]);
      to.push_back(ToChip(tmpl[i], size, padding));
    }
  } else if (landmarks.size() == 68) {
    for (int i = 17; i < 68; ++i) {
      if (!DlibUsesPoint(i)) continue;
      from.push_back(landmarks[i]);
      to.push_back(ToChip(Mean68(i), size, padding));
    }
  } else {
    return InvalidArgument("alignment needs 5 or 68 landmarks, got " + std::to_string(landmarks.size()));
  }
  return Warp(bgr, EstimateSimilarity(from, to), size);
}

Result<cv::Mat> AlignArcFaceChip(const cv::Mat& bgr, const std::vector<cv::Point2f>& landmarks5) {
  VIGIL_RETURN_IF_ERROR(CheckImage(bgr));
  if (landmarks5.size() != 5) {
    return InvalidArgument("ArcFace alignment needs 5 landmarks, got " + std::to_string(landmarks5.size()));
  }
  // InsightFace's 112x112 template, YuNet order.
  static const std::vector<cv::Point2f> kTemplate = {
      {38.2946f, 51.6963f}, {73.5318f, 51.5014f}, {56.0252f, 71.7366f}, {41.5493f, 92.3655f}, {70.7299f, 92.2041f}};
  return Warp(bgr, EstimateSimilarity(landmarks5, kTemplate), 112);
}

Result<cv::Mat> BoxChip(const cv::Mat& bgr, const cv::Rect2f& box, int size, float margin) {
  VIGIL_RETURN_IF_ERROR(CheckImage(bgr));
  if (box.width <= 0 || box.height <= 0) return InvalidArgument("empty face box");
  const double side = std::max(box.width, box.height) * (1.0 + 2.0 * margin);
  const double s = size / side;
  const double cx = box.x + box.width / 2.0, cy = box.y + box.height / 2.0;
  cv::Mat m = (cv::Mat_<double>(2, 3) << s, 0, size / 2.0 - s * cx, 0, s, size / 2.0 - s * cy);
  return Warp(bgr, m, size);
}

std::vector<cv::Point2f> FivePointsFrom68(const std::vector<cv::Point2f>& l) {
  if (l.size() != 68) return {};
  auto mean = [&](int a, int b) {
    cv::Point2f s(0, 0);
    for (int i = a; i <= b; ++i) s += l[i];
    return s * (1.0f / static_cast<float>(b - a + 1));
  };
  return {mean(36, 41), mean(42, 47), l[30], l[48], l[54]};
}

}  // namespace vigil::vision
