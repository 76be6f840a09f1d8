// Checks on the real face-api weights converted by Vigil: every graph loads
// in OpenCV DNN with the documented shapes (docs/models.md), the SSD finds
// faces on a demo photo, and the recognition net's descriptors behave
// (stable under a tiny brightness change, distinct across people).
// Skips when the package is absent (run `vigil models install` first, or set
// VIGIL_FACEAPI_MODEL_DIR to an extracted package/model directory).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <map>
#include <opencv2/dnn.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "models/faceapi_converter.h"
#include "models/faceapi_weights.h"
#include "models/models_test_helpers.h"

namespace vigil::models {
namespace {

namespace fs = std::filesystem;

// Converts each net once per test binary run (the conversion takes ~1 s).
class RealFaceApi : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto dir = testing::FaceApiWeightsDir();
    if (!dir) return;
    const std::pair<FaceApiNet, const char*> nets[] = {{FaceApiNet::kSsdMobilenetV1, "ssd_mobilenetv1_model"},
                                                       {FaceApiNet::kLandmark68, "face_landmark_68_model"},
                                                       {FaceApiNet::kRecognition128, "face_recognition_model"}};
    for (const auto& [net, name] : nets) {
      auto w = FaceApiWeights::Load(*dir + "/" + name + "-weights_manifest.json");
      if (!w.ok()) {
        errors_ += w.status().ToString() + "\n";
        continue;
      }
      auto onnx = BuildFaceApiOnnx(net, *w);
      if (!onnx.ok()) {
        errors_ += onnx.status().ToString() + "\n";
        continue;
      }
      onnx_[int(net)] = *onnx;
      if (net == FaceApiNet::kSsdMobilenetV1) {
        auto a = SsdAnchorBytes(*w);
        if (a.ok()) anchors_ = *a;
      }
    }
  }
  void SetUp() override {
    if (!testing::FaceApiWeightsDir()) GTEST_SKIP() << "face-api package not found; run `vigil models install`";
    ASSERT_TRUE(errors_.empty()) << errors_;
  }
  static cv::dnn::Net Load(FaceApiNet net) {
    const std::string& bytes = onnx_[int(net)];
    cv::dnn::Net n = cv::dnn::readNetFromONNX(bytes.data(), bytes.size());
    n.setPreferableBackend(cv::dnn::DNN_BACKEND_OPENCV);
    return n;
  }

  static inline std::map<int, std::string> onnx_;
  static inline std::string anchors_;
  static inline std::string errors_;
};

std::vector<int> Shape(const cv::Mat& m) { return std::vector<int>(m.size.p, m.size.p + m.dims); }

TEST_F(RealFaceApi, GraphsHaveDocumentedShapes) {
  {
    auto net = Load(FaceApiNet::kSsdMobilenetV1);
    net.setInput(cv::Mat(std::vector<int>{1, 3, 512, 512}, CV_32F, cv::Scalar(100)), "input");
    std::vector<cv::Mat> outs;
    net.forward(outs, std::vector<cv::String>{"boxes", "scores"});
    ASSERT_EQ(outs.size(), 2u);
    EXPECT_EQ(Shape(outs[0]), (std::vector<int>{1, kSsdAnchorCount, 4}));
    EXPECT_EQ(Shape(outs[1]), (std::vector<int>{1, kSsdAnchorCount}));
    EXPECT_EQ(anchors_.size(), size_t(kSsdAnchorCount) * 4 * sizeof(float));
  }
  {
    auto net = Load(FaceApiNet::kLandmark68);
    net.setInput(cv::Mat(std::vector<int>{1, 3, 112, 112}, CV_32F, cv::Scalar(100)), "input");
    cv::Mat out = net.forward("landmarks");
    EXPECT_EQ(Shape(out), (std::vector<int>{1, 136}));
  }
  {
    auto net = Load(FaceApiNet::kRecognition128);
    net.setInput(cv::Mat(std::vector<int>{1, 3, 150, 150}, CV_32F, cv::Scalar(100)), "input");
    cv::Mat out = net.forward("descriptor");
    EXPECT_EQ(Shape(out), (std::vector<int>{1, 128}));
    // Documented: batches work, and each row equals the single-image run.
    cv::Mat batch(std::vector<int>{2, 3, 150, 150}, CV_32F);
    cv::randu(batch, 0, 255);
    net.setInput(batch, "input");
    cv::Mat both = net.forward("descriptor").clone();
    ASSERT_EQ(Shape(both), (std::vector<int>{2, 128}));
    net.setInput(cv::Mat(std::vector<int>{1, 3, 150, 150}, CV_32F, batch.ptr<float>(1)), "input");
    cv::Mat second = net.forward("descriptor");
    EXPECT_LT(cv::norm(both.row(1), second.reshape(1, 1), cv::NORM_INF), 1e-5);
  }
}

struct Box {
  float x0, y0, x1, y1, score;
};

// Runs the SSD on an image and decodes per docs/models.md (score > 0.5, NMS 0.5).
std::vector<Box> DetectSsd(cv::dnn::Net& net, const std::string& anchors_bytes, const cv::Mat& bgr) {
  const int side = std::max(bgr.cols, bgr.rows);
  cv::Mat square(side, side, bgr.type(), cv::Scalar::all(0));
  bgr.copyTo(square(cv::Rect(0, 0, bgr.cols, bgr.rows)));
  cv::Mat blob = cv::dnn::blobFromImage(square, 1.0, cv::Size(512, 512), cv::Scalar(), /*swapRB=*/true, false);
  net.setInput(blob, "input");
  std::vector<cv::Mat> outs;
  net.forward(outs, std::vector<cv::String>{"boxes", "scores"});
  const float* enc = outs[0].ptr<float>();
  const float* scores = outs[1].ptr<float>();
  std::vector<float> anchors(size_t(kSsdAnchorCount) * 4);
  std::memcpy(anchors.data(), anchors_bytes.data(), anchors.size() * sizeof(float));
  std::vector<cv::Rect2d> rects;
  std::vector<float> kept_scores;
  for (int i = 0; i < kSsdAnchorCount; ++i) {
    if (scores[i] <= 0.5f) continue;
    const float* a = &anchors[size_t(i) * 4];
    const float* t = enc + size_t(i) * 4;
    const double ha = a[2] - a[0], wa = a[3] - a[1], cya = (a[0] + a[2]) / 2, cxa = (a[1] + a[3]) / 2;
    const double cy = t[0] / 10 * ha + cya, cx = t[1] / 10 * wa + cxa;
    const double h = std::exp(t[2] / 5) * ha, w = std::exp(t[3] / 5) * wa;
    rects.emplace_back((cx - w / 2) * side, (cy - h / 2) * side, w * side, h * side);
    kept_scores.push_back(scores[i]);
  }
  std::vector<int> keep;
  cv::dnn::NMSBoxes(rects, kept_scores, 0.5f, 0.5f, keep, 1.f, 100);
  std::vector<Box> out;
  for (int k : keep) {
    const auto& r = rects[size_t(k)];
    out.push_back({float(r.x), float(r.y), float(r.x + r.width), float(r.y + r.height), kept_scores[size_t(k)]});
  }
  return out;
}

cv::Mat Descriptor(cv::dnn::Net& net, const cv::Mat& bgr_chip) {
  cv::Mat blob = cv::dnn::blobFromImage(bgr_chip, 1.0, cv::Size(150, 150), cv::Scalar(), /*swapRB=*/true, false);
  net.setInput(blob, "input");
  return net.forward("descriptor").clone();
}

// A centred square crop around a detection, 20 % margin, clipped to the image.
cv::Mat Chip(const cv::Mat& img, const Box& b) {
  const float cx = (b.x0 + b.x1) / 2, cy = (b.y0 + b.y1) / 2;
  const float half = std::max(b.x1 - b.x0, b.y1 - b.y0) * 0.6f;
  cv::Rect r(int(cx - half), int(cy - half), int(2 * half), int(2 * half));
  r &= cv::Rect(0, 0, img.cols, img.rows);
  cv::Mat chip;
  cv::resize(img(r), chip, cv::Size(150, 150), 0, 0, cv::INTER_LINEAR);
  return chip;
}

TEST_F(RealFaceApi, SsdFindsFacesAndDescriptorsSeparatePeople) {
  auto samples = testing::SamplesDir();
  if (!samples) GTEST_SKIP() << "demo samples not found";
  cv::Mat img = cv::imread(*samples + "/sample1.jpg");
  ASSERT_FALSE(img.empty());
  auto ssd = Load(FaceApiNet::kSsdMobilenetV1);
  auto faces = DetectSsd(ssd, anchors_, img);
  // sample1 holds 3 faces; exact counts on all samples are the vision tests'.
  ASSERT_GE(faces.size(), 2u);
  for (const auto& f : faces) {
    EXPECT_GT(f.x1 - f.x0, 20.f);
    EXPECT_LT(f.x0, float(img.cols));
    EXPECT_LT(f.y0, float(img.rows));
  }

  auto rec = Load(FaceApiNet::kRecognition128);
  cv::Mat chip0 = Chip(img, faces[0]);
  cv::Mat d0 = Descriptor(rec, chip0);
  cv::Mat brighter;
  chip0.convertTo(brighter, -1, 1.0, 4.0);  // +4 grey levels
  cv::Mat d0b = Descriptor(rec, brighter);
  cv::Mat d1 = Descriptor(rec, Chip(img, faces[1]));
  const double norm = cv::norm(d0);
  const double same = cv::norm(d0, d0b), diff = cv::norm(d0, d1);
  // dlib descriptors have norms of order 1; face-api's match threshold is 0.6.
  EXPECT_GT(norm, 0.2);
  EXPECT_LT(same, 0.1) << "same face, +4 brightness";
  // Unaligned square crops of sample1's three people lie 0.44-0.57 apart
  // (face-api's own rotation-free crops: closest impostor ~0.485, MODELS.md);
  // alignment, which widens the gap, is the vision module's.
  EXPECT_GT(diff, 0.4) << "two different people";
  EXPECT_GT(diff, 5 * same);
}

TEST_F(RealFaceApi, LandmarksLieInsideTheChip) {
  auto samples = testing::SamplesDir();
  if (!samples) GTEST_SKIP() << "demo samples not found";
  cv::Mat img = cv::imread(*samples + "/sample1.jpg");
  ASSERT_FALSE(img.empty());
  auto ssd = Load(FaceApiNet::kSsdMobilenetV1);
  auto faces = DetectSsd(ssd, anchors_, img);
  ASSERT_FALSE(faces.empty());
  const Box& b = faces[0];
  cv::Rect r(int(b.x0), int(b.y0), int(b.x1 - b.x0), int(b.y1 - b.y0));
  r &= cv::Rect(0, 0, img.cols, img.rows);
  const int side = std::max(r.width, r.height);
  cv::Mat square(side, side, img.type(), cv::Scalar::all(0));
  img(r).copyTo(square(cv::Rect((side - r.width) / 2, (side - r.height) / 2, r.width, r.height)));
  auto lm = Load(FaceApiNet::kLandmark68);
  lm.setInput(cv::dnn::blobFromImage(square, 1.0, cv::Size(112, 112), cv::Scalar(), true, false), "input");
  cv::Mat out = lm.forward("landmarks");
  const float* p = out.ptr<float>();
  for (int i = 0; i < 136; ++i) {
    EXPECT_GT(p[i], -0.1f) << i;
    EXPECT_LT(p[i], 1.1f) << i;
  }
  // Anatomy: the eyes (36..47) sit above the mouth (48..67), the nose tip (30)
  // between them; the jaw runs from left (0) to right (16).
  auto y = [&](int k) { return p[2 * k + 1]; };
  auto x = [&](int k) { return p[2 * k]; };
  EXPECT_LT(y(37), y(30));
  EXPECT_LT(y(30), y(57));
  EXPECT_LT(x(0), x(16));
  EXPECT_LT(x(36), x(45));
}

}  // namespace
}  // namespace vigil::models
