// The installed ONNX graphs against face-api itself: testdata/faceapi_reference.json
// holds face-api 1.7.15's own outputs (TF.js CPU backend) on a synthetic
// pattern, produced by tools/faceapi_reference.mjs. Agreement to float
// rounding shows the conversion (layouts, padding, folding, normalisation,
// output order) is exact. Skips when `vigil models install` has not run.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <opencv2/dnn.hpp>

#include "core/json_util.h"
#include "models/faceapi_converter.h"
#include "models/model_registry.h"
#include "models/models_test_helpers.h"

namespace vigil::models {
namespace {

// Same formula as pattern() in tools/faceapi_reference.mjs, as an NCHW blob.
cv::Mat Pattern(int size) {
  cv::Mat blob(std::vector<int>{1, 3, size, size}, CV_32F);
  float* p = blob.ptr<float>();
  for (int c = 0; c < 3; ++c)
    for (int y = 0; y < size; ++y)
      for (int x = 0; x < size; ++x)
        p[(c * size + y) * size + x] = float((x * 7 + y * 13 + c * 29 + ((x * y) % 17) * 5) % 256);
  return blob;
}

class FaceApiReference : public ::testing::Test {
 protected:
  void SetUp() override {
    auto text = testing::ReadFile(std::string(VIGIL_SOURCE_DIR) + "/tests/models/testdata/faceapi_reference.json");
    auto j = ParseJsonObject(text);
    ASSERT_TRUE(j.ok()) << j.status().ToString();
    ref_ = *j;
    auto reg = ModelRegistry::Open(testing::ModelsDir());
    ASSERT_TRUE(reg.ok()) << reg.status().ToString();
    reg_ = *reg;
  }
  // Loads an installed model after checking its checksum; skips when absent.
  bool LoadNet(const std::string& id, cv::dnn::Net* net) {
    auto m = reg_.FindById(id);
    if (!m) return false;
    EXPECT_TRUE(reg_.Verify(*m).ok()) << reg_.Verify(*m).ToString();
    *net = cv::dnn::readNetFromONNX(reg_.PathOf(*m));
    net->setPreferableBackend(cv::dnn::DNN_BACKEND_OPENCV);
    return true;
  }

  Json ref_;
  ModelRegistry reg_;
};

TEST_F(FaceApiReference, RecognitionMatchesFaceApi) {
  cv::dnn::Net net;
  if (!LoadNet("faceapi-recognition-128", &net)) GTEST_SKIP() << "run `vigil models install` first";
  net.setInput(Pattern(150), "input");
  cv::Mat out = net.forward("descriptor");
  const auto& want = ref_["descriptor"];
  ASSERT_EQ(out.total(), want.size());
  double max_diff = 0;
  for (size_t i = 0; i < want.size(); ++i)
    max_diff = std::max(max_diff, std::abs(out.ptr<float>()[i] - want[i].get<double>()));
  EXPECT_LT(max_diff, 1e-4);
}

TEST_F(FaceApiReference, LandmarksMatchFaceApi) {
  cv::dnn::Net net;
  if (!LoadNet("faceapi-landmark68", &net)) GTEST_SKIP() << "run `vigil models install` first";
  net.setInput(Pattern(112), "input");
  cv::Mat out = net.forward("landmarks");
  const auto& want = ref_["landmarks"];
  ASSERT_EQ(out.total(), want.size());
  double max_diff = 0;
  for (size_t i = 0; i < want.size(); ++i)
    max_diff = std::max(max_diff, std::abs(out.ptr<float>()[i] - want[i].get<double>()));
  EXPECT_LT(max_diff, 1e-4);
}

TEST_F(FaceApiReference, SsdMatchesFaceApi) {
  cv::dnn::Net net;
  if (!LoadNet("faceapi-ssd-mobilenetv1", &net)) GTEST_SKIP() << "run `vigil models install` first";
  auto anchors_info = reg_.FindById("faceapi-ssd-anchors");
  ASSERT_TRUE(anchors_info.has_value());
  const std::string bytes = testing::ReadFile(reg_.PathOf(*anchors_info));
  ASSERT_EQ(bytes.size(), size_t(kSsdAnchorCount) * 4 * sizeof(float));
  std::vector<float> anchors(size_t(kSsdAnchorCount) * 4);
  std::memcpy(anchors.data(), bytes.data(), bytes.size());

  net.setInput(Pattern(512), "input");
  std::vector<cv::Mat> outs;
  net.forward(outs, std::vector<cv::String>{"boxes", "scores"});
  const float* enc = outs[0].ptr<float>();
  const float* scores = outs[1].ptr<float>();
  double sum = 0;
  for (int i = 0; i < kSsdAnchorCount; ++i) sum += scores[i];
  EXPECT_NEAR(sum, ref_["ssd_score_sum"].get<double>(), 1e-2);
  // The top anchors: same scores, and the decoding documented in
  // docs/models.md reproduces face-api's decoded boxes.
  for (const auto& top : ref_["ssd_top"]) {
    const int i = top["index"].get<int>();
    EXPECT_NEAR(scores[i], top["score"].get<double>(), 1e-4) << "anchor " << i;
    const float* a = &anchors[size_t(i) * 4];
    const float* t = enc + size_t(i) * 4;
    const double ha = a[2] - a[0], wa = a[3] - a[1], cya = a[0] + ha / 2, cxa = a[1] + wa / 2;
    const double cy = t[0] / 10 * ha + cya, cx = t[1] / 10 * wa + cxa;
    const double h = std::exp(t[2] / 5) * ha, w = std::exp(t[3] / 5) * wa;
    const double box[4] = {cy - h / 2, cx - w / 2, cy + h / 2, cx + w / 2};
    for (int k = 0; k < 4; ++k) EXPECT_NEAR(box[k], top["box"][size_t(k)].get<double>(), 1e-4) << "anchor " << i;
  }
}

}  // namespace
}  // namespace vigil::models
