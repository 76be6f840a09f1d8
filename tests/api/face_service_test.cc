// FaceService::Analyze on large uploads: JPEGs above the decode limits are
// decoded at a reduced scale (boxes still in the uploaded image's pixels),
// PNGs above them and JPEGs beyond 1/8 scale are refused before decoding.
#include "api/face_service.h"

#include <gtest/gtest.h>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "api/api_test_helpers.h"
#include "vision/mock_faces.h"

namespace vigil::api {
namespace {

using testing::TempDir;
using testing::TestConfig;

std::string Encode(const cv::Mat& image, const std::string& ext) {
  std::vector<uchar> bytes;
  EXPECT_TRUE(cv::imencode(ext, image, bytes));
  return {bytes.begin(), bytes.end()};
}

// The mock face photo scaled up to `width` pixels wide.
cv::Mat BigPhoto(int width) {
  cv::Mat small = vision::RenderMockFacePhoto(3);
  cv::Mat big;
  const double f = static_cast<double>(width) / small.cols;
  cv::resize(small, big, cv::Size(), f, f, cv::INTER_LINEAR);
  return big;
}

// A JPEG or PNG whose header claims `w` x `h` pixels: a real small image
// with the size fields of its header rewritten (the decoder never gets that far).
std::string ClaimingSize(const std::string& ext, int w, int h) {
  std::string b = Encode(cv::Mat(16, 16, CV_8UC3, cv::Scalar(90, 90, 90)), ext);
  auto put16 = [&](size_t at, int v) {
    b[at] = static_cast<char>((v >> 8) & 0xFF);
    b[at + 1] = static_cast<char>(v & 0xFF);
  };
  if (ext == ".png") {
    put16(16, w >> 16), put16(18, w & 0xFFFF), put16(20, h >> 16), put16(22, h & 0xFFFF);
    return b;
  }
  for (size_t i = 2; i + 9 < b.size(); ++i) {  // baseline SOF0 written by libjpeg
    if (static_cast<unsigned char>(b[i]) == 0xFF && static_cast<unsigned char>(b[i + 1]) == 0xC0) {
      put16(i + 5, h), put16(i + 7, w);
      return b;
    }
  }
  ADD_FAILURE() << "no SOF0 in the encoded JPEG";
  return b;
}

class FaceServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    faces_ = CreateFaceService(TestConfig(dir_.path()));
    ASSERT_TRUE(faces_->available());
  }
  TempDir dir_;
  FaceServicePtr faces_;
};

TEST_F(FaceServiceTest, LargeJpegIsDecodedScaledWithBoxesInUploadedPixels) {
  // 4000 x 3000 (12 MP) decodes at full size; 8000 x 6000 (48 MP, a phone's
  // 50 MP mode) is over the 40 MP decode limit and decodes at 1/2.
  auto normal = faces_->Analyze(Encode(BigPhoto(4000), ".jpg"));
  ASSERT_TRUE(normal.ok()) << normal.status().ToString();
  auto big = faces_->Analyze(Encode(BigPhoto(8000), ".jpg"));
  ASSERT_TRUE(big.ok()) << big.status().ToString();
  ASSERT_EQ(normal->size(), 1u);
  ASSERT_EQ(big->size(), 1u);
  for (int i = 0; i < 4; ++i) {
    // Same face, twice the pixels: each box value doubles (1 % slack for resampling).
    EXPECT_NEAR((*big)[0].bbox[i], 2 * (*normal)[0].bbox[i], 0.01 * 8000) << "bbox[" << i << "]";
  }
  EXPECT_GT((*big)[0].bbox[2], 1000);  // in the 8000-px image, not the 4000-px decode
  EXPECT_FALSE((*big)[0].embedding.empty());
}

TEST_F(FaceServiceTest, RefusesBeforeDecodingWhatCannotBeScaledDown) {
  // PNG has no scaled decoding: over 40 MP it is refused, with a hint.
  auto png = faces_->Analyze(ClaimingSize(".png", 9000, 6000));
  ASSERT_FALSE(png.ok());
  EXPECT_EQ(png.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(png.status().message().find("PNG image is too large"), std::string::npos) << png.status().message();
  // JPEG past 1/8 scale of the limits (over 256 MP or 32000 px a side).
  for (auto [w, h] : {std::pair{60000, 1000}, std::pair{20000, 20000}}) {
    auto jpeg = faces_->Analyze(ClaimingSize(".jpg", w, h));
    ASSERT_FALSE(jpeg.ok()) << w << "x" << h;
    EXPECT_NE(jpeg.status().message().find("too large"), std::string::npos) << jpeg.status().message();
  }
}

}  // namespace
}  // namespace vigil::api
