// Converter tests. The synthetic ones always run; the ones on the real
// face-api weights skip when neither an installed models cache nor
// $VIGIL_FACEAPI_MODEL_DIR provides them.
#include "models/faceapi_converter.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <opencv2/dnn.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <random>

#include "core/json_util.h"
#include "models/faceapi_weights.h"
#include "models/models_test_helpers.h"

namespace vigil::models {
namespace {

namespace fs = std::filesystem;
using testing::TempDir;
using testing::WriteFile;

std::string FloatBytes(const std::vector<float>& v) {
  std::string s(v.size() * 4, '\0');
  std::memcpy(s.data(), v.data(), s.size());
  return s;
}

// A tiny manifest with one entry of each storage kind face-api uses.
void WriteTinyManifest(const fs::path& dir, size_t truncate_by = 0, const std::string& extra = "") {
  const std::string manifest = R"([{"paths":["tiny.bin"],"weights":[
    {"name":"q","shape":[2,2],"dtype":"float32","quantization":{"dtype":"uint8","min":-1.0,"scale":0.5}},
    {"name":"f","shape":[3],"dtype":"float32"},
    {"name":"i","shape":[],"dtype":"int32","quantization":{"dtype":"uint8","min":3,"scale":1}},
    {"name":"q16","shape":[2],"dtype":"float32","quantization":{"dtype":"uint16","min":0.0,"scale":0.25}}]}])";
  WriteFile(dir / "tiny-weights_manifest.json", manifest);
  std::string bin;
  bin += std::string("\x00\x01\x02\x04", 4);  // q: -1, -0.5, 0, 1
  bin += FloatBytes({1.5f, -2.25f, 1e-3f});
  bin += std::string("\x02", 1);              // i: 5
  bin += std::string("\x04\x00\x00\x01", 4);  // q16: 1, 64
  bin = bin.substr(0, bin.size() - truncate_by) + extra;
  WriteFile(dir / "tiny.bin", bin);
}

TEST(FaceApiWeights, DecodesEveryStorageKind) {
  TempDir dir;
  WriteTinyManifest(dir.path());
  auto w = FaceApiWeights::Load((dir.path() / "tiny-weights_manifest.json").string());
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  auto q = w->Get("q", {2, 2});
  ASSERT_TRUE(q.ok());
  EXPECT_EQ((*q)->values, (std::vector<float>{-1.f, -0.5f, 0.f, 1.f}));
  auto f = w->Get("f", {3});
  ASSERT_TRUE(f.ok());
  EXPECT_EQ((*f)->values, (std::vector<float>{1.5f, -2.25f, 1e-3f}));
  auto i = w->Get("i", {});
  ASSERT_TRUE(i.ok());
  EXPECT_EQ((*i)->values, (std::vector<float>{5.f}));
  auto q16 = w->Get("q16", {2});
  ASSERT_TRUE(q16.ok());
  EXPECT_EQ((*q16)->values, (std::vector<float>{1.f, 64.f}));
  // Wrong shape and missing names are errors that name the tensor.
  auto bad = w->Get("f", {4});
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("'f'"), std::string::npos);
  EXPECT_EQ(w->Get("nope", {1}).status().code(), StatusCode::kNotFound);
}

TEST(FaceApiWeights, TruncatedOrOverlongBinIsDataLoss) {
  TempDir dir;
  WriteTinyManifest(dir.path(), 3);
  auto w = FaceApiWeights::Load((dir.path() / "tiny-weights_manifest.json").string());
  ASSERT_FALSE(w.ok());
  EXPECT_EQ(w.status().code(), StatusCode::kDataLoss);
  EXPECT_NE(w.status().message().find("truncated"), std::string::npos) << w.status().message();
  EXPECT_NE(w.status().message().find("tiny.bin"), std::string::npos) << w.status().message();

  WriteTinyManifest(dir.path(), 0, "junk");
  w = FaceApiWeights::Load((dir.path() / "tiny-weights_manifest.json").string());
  EXPECT_EQ(w.status().code(), StatusCode::kDataLoss);

  fs::remove(dir.path() / "tiny.bin");
  w = FaceApiWeights::Load((dir.path() / "tiny-weights_manifest.json").string());
  EXPECT_EQ(w.status().code(), StatusCode::kDataLoss);

  WriteFile(dir.path() / "tiny-weights_manifest.json", "{not json");
  w = FaceApiWeights::Load((dir.path() / "tiny-weights_manifest.json").string());
  EXPECT_EQ(w.status().code(), StatusCode::kDataLoss);
}

TEST(FaceApiConverter, MissingTensorIsNamed) {
  TempDir dir;
  WriteTinyManifest(dir.path());
  auto w = FaceApiWeights::Load((dir.path() / "tiny-weights_manifest.json").string());
  ASSERT_TRUE(w.ok());
  auto onnx = BuildFaceApiOnnx(FaceApiNet::kRecognition128, *w);
  ASSERT_FALSE(onnx.ok());
  EXPECT_NE(onnx.status().message().find("conv32_down/conv/filters"), std::string::npos) << onnx.status().message();
}

// A complete landmark-net weight set, written the way face-api stores it:
// every tensor uint8-quantized except fc/bias (float32). With `zero` the
// quantized tensors decode to 0 (scale 0, min 0), so the whole network
// reduces to its final bias and the output must equal fc/bias exactly.
void WriteSyntheticLandmarkNet(const fs::path& dir, bool zero) {
  Json weights = Json::array();
  std::string bin;
  std::mt19937 rng(7);
  auto quantized = [&](const std::string& name, std::vector<int64_t> shape) {
    int64_t n = 1;
    for (auto d : shape) n *= d;
    weights.push_back(
        {{"name", name},
         {"shape", shape},
         {"dtype", "float32"},
         {"quantization", {{"dtype", "uint8"}, {"min", zero ? 0.0 : -0.05}, {"scale", zero ? 0.0 : 0.0004}}}});
    for (int64_t i = 0; i < n; ++i) bin.push_back(char(rng() & 0xff));
  };
  const int64_t widths[4] = {32, 64, 128, 256};
  int64_t cin = 3;
  for (int b = 0; b < 4; ++b) {
    const std::string p = "dense" + std::to_string(b);
    const int64_t c = widths[b];
    for (int k = 0; k < 4; ++k) {
      const std::string q = p + "/conv" + std::to_string(k);
      const int64_t in = k == 0 ? cin : c;
      if (b == 0 && k == 0) {
        quantized(q + "/filters", {3, 3, 3, c});
      } else {
        quantized(q + "/depthwise_filter", {3, 3, in, 1});
        quantized(q + "/pointwise_filter", {1, 1, in, c});
      }
      quantized(q + "/bias", {c});
    }
    cin = c;
  }
  quantized("fc/weights", {256, 136});
  weights.push_back({{"name", "fc/bias"}, {"shape", {136}}, {"dtype", "float32"}});
  std::vector<float> bias(136);
  for (int i = 0; i < 136; ++i) bias[size_t(i)] = 0.01f * float(i) - 0.3f;
  bin += FloatBytes(bias);
  Json manifest = Json::array({{{"paths", {"lm.bin"}}, {"weights", weights}}});
  WriteFile(dir / "lm-weights_manifest.json", manifest.dump());
  WriteFile(dir / "lm.bin", bin);
}

TEST(FaceApiConverter, SyntheticLandmarkNetLoadsAndReducesToItsBias) {
  TempDir dir;
  WriteSyntheticLandmarkNet(dir.path(), /*zero=*/true);
  auto w = FaceApiWeights::Load((dir.path() / "lm-weights_manifest.json").string());
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  auto onnx = BuildFaceApiOnnx(FaceApiNet::kLandmark68, *w);
  ASSERT_TRUE(onnx.ok()) << onnx.status().ToString();
  cv::dnn::Net net = cv::dnn::readNetFromONNX(onnx->data(), onnx->size());
  cv::Mat blob(std::vector<int>{1, 3, 112, 112}, CV_32F);
  cv::randu(blob, 0, 255);
  net.setInput(blob, "input");
  cv::Mat out = net.forward("landmarks");
  ASSERT_EQ(out.total(), 136u);
  for (int i = 0; i < 136; ++i) EXPECT_FLOAT_EQ(out.ptr<float>()[i], 0.01f * float(i) - 0.3f) << i;
}

TEST(FaceApiConverter, SyntheticRandomLandmarkNetGivesFiniteVaryingOutput) {
  TempDir dir;
  WriteSyntheticLandmarkNet(dir.path(), /*zero=*/false);
  auto w = FaceApiWeights::Load((dir.path() / "lm-weights_manifest.json").string());
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  auto onnx = BuildFaceApiOnnx(FaceApiNet::kLandmark68, *w);
  ASSERT_TRUE(onnx.ok()) << onnx.status().ToString();
  cv::dnn::Net net = cv::dnn::readNetFromONNX(onnx->data(), onnx->size());
  cv::Mat a(std::vector<int>{1, 3, 112, 112}, CV_32F), b(std::vector<int>{1, 3, 112, 112}, CV_32F);
  cv::randu(a, 0, 255);
  cv::randu(b, 0, 255);
  net.setInput(a, "input");
  cv::Mat out_a = net.forward("landmarks").clone();
  net.setInput(b, "input");
  cv::Mat out_b = net.forward("landmarks").clone();
  EXPECT_TRUE(cv::checkRange(out_a));
  EXPECT_GT(cv::norm(out_a, out_b), 0.0) << "the output must depend on the input";
}

}  // namespace
}  // namespace vigil::models
