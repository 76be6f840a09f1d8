// DETECT_INPUT_SIZE: parsed for the worker and the API, and passed through
// CreateFaceDetector to YuNet, where it decides the smallest face found.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "core/config.h"
#include "models/model_registry.h"
#include "vision/face_detector.h"
#include "vision/real_data_helpers.h"

namespace vigil::vision {
namespace {

namespace fs = std::filesystem;
using namespace vigil::vision::testing;

Result<ConfigSource> SourceWith(const std::string& scope, std::map<std::string, std::string> env) {
  const auto empty_env_file = fs::temp_directory_path() / "vigil-detect-input-size-empty.env";
  std::ofstream(empty_env_file).flush();
  return ConfigSource::Load(ConfigVarsFor(scope), {}, empty_env_file.string(),
                            [env = std::move(env)](const std::string& name) -> std::optional<std::string> {
                              auto it = env.find(name);
                              return it == env.end() ? std::nullopt : std::optional<std::string>(it->second);
                            });
}

Result<WorkerConfig> WorkerWith(std::map<std::string, std::string> env) {
  VIGIL_ASSIGN_OR_RETURN(auto src, SourceWith("worker", std::move(env)));
  return BuildWorkerConfig(src);
}

Result<ApiConfig> ApiWith(std::map<std::string, std::string> env) {
  VIGIL_ASSIGN_OR_RETURN(auto src, SourceWith("api", std::move(env)));
  return BuildApiConfig(src);
}

TEST(DetectInputSize, ParsedForWorkerAndApiWithTodaysDefault) {
  auto worker = WorkerWith({});
  ASSERT_TRUE(worker.ok()) << worker.status().ToString();
  EXPECT_EQ(worker->detect_input_size, kDefaultDetectInputSize);
  auto api = ApiWith({});
  ASSERT_TRUE(api.ok()) << api.status().ToString();
  EXPECT_EQ(api->detect_input_size, kDefaultDetectInputSize);

  auto small_worker = WorkerWith({{"DETECT_INPUT_SIZE", "320"}});
  ASSERT_TRUE(small_worker.ok());
  EXPECT_EQ(small_worker->detect_input_size, 320);
  auto small_api = ApiWith({{"DETECT_INPUT_SIZE", "480"}});
  ASSERT_TRUE(small_api.ok());
  EXPECT_EQ(small_api->detect_input_size, 480);

  for (const char* bad : {"32", "5000", "abc", "320px"}) {
    auto w = WorkerWith({{"DETECT_INPUT_SIZE", bad}});
    ASSERT_FALSE(w.ok()) << bad;
    EXPECT_EQ(w.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(w.status().message().find("DETECT_INPUT_SIZE"), std::string::npos) << w.status().message();
    EXPECT_FALSE(ApiWith({{"DETECT_INPUT_SIZE", bad}}).ok()) << bad;
  }
}

// A registry in a temporary directory holding only the shared YuNet file.
class YuNetRegistry : public ::testing::Test {
 protected:
  void SetUp() override {
    if (YuNetPath().empty()) GTEST_SKIP() << "YuNet not found under " << SharedDir() << "/models";
    dir_ = fs::temp_directory_path() / ("vigil-detect-input-size-" + std::to_string(::getpid()));
    fs::create_directories(dir_);
    fs::copy_file(YuNetPath(), dir_ / "yunet.onnx", fs::copy_options::overwrite_existing);
    auto reg = models::ModelRegistry::Open(dir_.string());
    ASSERT_TRUE(reg.ok()) << reg.status().ToString();
    models::ModelInfo m;
    m.id = "yunet-2022mar";
    m.kind = "yunet";
    m.role = "detector";
    m.file = "yunet.onnx";
    auto sha = models::Sha256File((dir_ / "yunet.onnx").string());
    ASSERT_TRUE(sha.ok());
    m.sha256 = *sha;
    ASSERT_TRUE(reg->Upsert(m).ok());
    registry_ = std::move(*reg);
  }
  void TearDown() override {
    std::error_code ec;
    if (!dir_.empty()) fs::remove_all(dir_, ec);
  }

  fs::path dir_;
  std::optional<models::ModelRegistry> registry_;
};

// The largest demo face, scaled so the face box is `face_px` wide, in the
// middle of a grey 640x480 frame. Returns the frame and the expected box.
std::pair<cv::Mat, cv::Rect2f> FrameWithOneFace(FaceDetector& full_size, int face_px) {
  const cv::Mat img = cv::imread(SamplePaths()[0], cv::IMREAD_COLOR);
  auto faces = full_size.Detect(img);
  if (img.empty() || !faces.ok() || faces->empty()) return {};
  const Detection& f = (*faces)[MainFaceIndex(*faces, img.size())];
  // 2.4x the face box around its centre, clipped to the photo.
  const cv::Point2f c(f.box.x + f.box.width / 2, f.box.y + f.box.height / 2);
  const float half = 1.2f * std::max(f.box.width, f.box.height);
  const cv::Rect crop =
      cv::Rect(cv::Rect2f(c.x - half, c.y - half, 2 * half, 2 * half)) & cv::Rect(0, 0, img.cols, img.rows);
  const double k = face_px / f.box.width;
  cv::Mat scaled;
  cv::resize(img(crop), scaled, cv::Size(), k, k, cv::INTER_AREA);
  cv::Mat frame(480, 640, CV_8UC3, cv::Scalar(128, 128, 128));
  const cv::Rect at((640 - scaled.cols) / 2, (480 - scaled.rows) / 2, scaled.cols, scaled.rows);
  scaled.copyTo(frame(at));
  const cv::Rect2f box(static_cast<float>(at.x + (f.box.x - crop.x) * k),
                       static_cast<float>(at.y + (f.box.y - crop.y) * k), static_cast<float>(f.box.width * k),
                       static_cast<float>(f.box.height * k));
  return {frame, box};
}

bool Finds(FaceDetector& det, const cv::Mat& frame, const cv::Rect2f& box) {
  auto faces = det.Detect(frame);
  if (!faces.ok()) return false;
  for (const auto& d : *faces) {
    if (BoxIoU(d.box, box) >= 0.4f) return true;
  }
  return false;
}

// The value that reaches YuNet decides what it can see: a 40 px face in a
// 640x480 frame is found at 640 and lost at 128 (8 px there), while a large
// face is found at both, so the smaller input is really in use and working.
TEST_F(YuNetRegistry, TheConfiguredSizeReachesYuNet) {
  if (SamplePaths().empty()) GTEST_SKIP() << "demo samples not installed in " << ModelsDir();
  auto full = WorkerWith({{"DETECTOR_TYPE", "yunet"}});
  auto tiny = WorkerWith({{"DETECTOR_TYPE", "yunet"}, {"DETECT_INPUT_SIZE", "128"}});
  ASSERT_TRUE(full.ok() && tiny.ok());
  auto at_full = CreateFaceDetector(full->detector_type, *registry_, std::nullopt, full->detect_input_size);
  auto at_tiny = CreateFaceDetector(tiny->detector_type, *registry_, std::nullopt, tiny->detect_input_size);
  ASSERT_TRUE(at_full.ok()) << at_full.status().ToString();
  ASSERT_TRUE(at_tiny.ok()) << at_tiny.status().ToString();

  const auto [small_frame, small_box] = FrameWithOneFace(**at_full, 40);
  ASSERT_FALSE(small_frame.empty());
  EXPECT_TRUE(Finds(**at_full, small_frame, small_box));
  EXPECT_FALSE(Finds(**at_tiny, small_frame, small_box));

  const auto [big_frame, big_box] = FrameWithOneFace(**at_full, 120);
  ASSERT_FALSE(big_frame.empty());
  EXPECT_TRUE(Finds(**at_full, big_frame, big_box));
  EXPECT_TRUE(Finds(**at_tiny, big_frame, big_box));
}

TEST_F(YuNetRegistry, AnOutOfRangeSizeIsRejectedByTheFactory) {
  EXPECT_EQ(CreateFaceDetector("yunet", *registry_, std::nullopt, 10).status().code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(CreateFaceDetector("auto", *registry_, 0.7f, 320).ok());
}

}  // namespace
}  // namespace vigil::vision
