#include "vision/frame_source.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/videoio.hpp>

#include "core/clock.h"
#include "vision/mock_faces.h"

namespace vigil::vision {
namespace {

namespace fs = std::filesystem;

class TempDir {
 public:
  TempDir() {
    path_ = fs::temp_directory_path() /
            ("vigil-vision-" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) + "-" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~TempDir() { fs::remove_all(path_); }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

TEST(FrameSource, MissingPathIsAClearNotFound) {
  FakeClock clock;
  auto r = OpenFrameSource("/nonexistent/dir/video.mp4", clock);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kNotFound);
  EXPECT_NE(r.status().message().find("/nonexistent/dir/video.mp4"), std::string::npos);
  EXPECT_EQ(OpenFrameSource("", clock).status().code(), StatusCode::kInvalidArgument);
}

TEST(FrameSource, ImageFolderInNameOrderThenEnd) {
  TempDir dir;
  for (int p : {2, 0, 1}) {
    ASSERT_TRUE(cv::imwrite((dir.path() / ("img" + std::to_string(p) + ".png")).string(), RenderMockFacePhoto(p)));
  }
  std::ofstream(dir.path() / "notes.txt") << "not an image";
  std::ofstream(dir.path() / "broken.png") << "not really a png";
  FakeClock clock(1'000);
  auto src = OpenFrameSource(dir.path().string(), clock);
  ASSERT_TRUE(src.ok()) << src.status().ToString();
  EXPECT_FALSE((*src)->is_live());
  for (int p = 0; p < 3; ++p) {
    auto f = (*src)->Read();
    ASSERT_TRUE(f.ok()) << f.status().ToString();
    EXPECT_EQ(f->seq, p);
    EXPECT_EQ(f->captured_unix_ms, 1'000);
    EXPECT_EQ(cv::norm(f->bgr, RenderMockFacePhoto(p), cv::NORM_INF), 0);
  }
  EXPECT_EQ((*src)->Read().status().code(), StatusCode::kNotFound);
}

TEST(FrameSource, EmptyFolderAndCorruptVideo) {
  TempDir dir;
  FakeClock clock;
  EXPECT_EQ(OpenFrameSource(dir.path().string(), clock).status().code(), StatusCode::kNotFound);
  std::ofstream(dir.path() / "clip.mp4") << "garbage bytes, not a video";
  auto r = OpenFrameSource((dir.path() / "clip.mp4").string(), clock);
  EXPECT_FALSE(r.ok());
}

TEST(FrameSource, VideoFileReadsToTheEnd) {
  TempDir dir;
  const std::string path = (dir.path() / "clip.avi").string();
  {
    cv::VideoWriter w(path, cv::VideoWriter::fourcc('M', 'J', 'P', 'G'), 5, cv::Size(320, 400));
    if (!w.isOpened()) GTEST_SKIP() << "no MJPG writer in this OpenCV build";
    for (int p = 0; p < 4; ++p) w.write(RenderMockFacePhoto(p));
  }
  FakeClock clock;
  auto src = OpenFrameSource(path, clock);
  ASSERT_TRUE(src.ok()) << src.status().ToString();
  int n = 0;
  while (true) {
    auto f = (*src)->Read();
    if (!f.ok()) {
      EXPECT_EQ(f.status().code(), StatusCode::kNotFound);
      break;
    }
    EXPECT_EQ(f->bgr.type(), CV_8UC3);
    ++n;
  }
  EXPECT_EQ(n, 4);
}

TEST(FrameSource, UnreachableStreamIsUnavailableAndCredentialsAreMasked) {
  EXPECT_EQ(MaskUrlCredentials("rtsp://admin:hunter2@10.0.0.5:554/live"), "rtsp://admin:***@10.0.0.5:554/live");
  EXPECT_EQ(MaskUrlCredentials("rtsp://10.0.0.5/live"), "rtsp://10.0.0.5/live");
  EXPECT_EQ(MaskUrlCredentials("http://host/a@b"), "http://host/a@b");
  FakeClock clock;
  // Port 1 on localhost refuses at once: no waiting on a timeout.
  auto r = OpenFrameSource("rtsp://user:secret@127.0.0.1:1/stream", clock);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(r.status().message().find("secret"), std::string::npos);
}

}  // namespace
}  // namespace vigil::vision
