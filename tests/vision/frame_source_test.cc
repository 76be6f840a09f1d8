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

namespace vigil::vision {
namespace {

// "?loop=1" replays a file from the start instead of ending (#5: a file camera
// used to play once and then stop).
TEST(FrameSource, LoopedVideoReplaysFromTheStart) {
  TempDir dir;
  const std::string path = (dir.path() / "clip.avi").string();
  {
    cv::VideoWriter w(path, cv::VideoWriter::fourcc('M', 'J', 'P', 'G'), 5, cv::Size(320, 400));
    if (!w.isOpened()) GTEST_SKIP() << "no MJPG writer in this OpenCV build";
    for (int p = 0; p < 3; ++p) w.write(RenderMockFacePhoto(p));
  }
  FakeClock clock;
  auto src = OpenFrameSource(path + "?loop=1", clock);
  ASSERT_TRUE(src.ok()) << src.status().ToString();
  EXPECT_FALSE((*src)->is_live());
  std::vector<cv::Mat> first_pass;
  for (int i = 0; i < 7; ++i) {
    auto f = (*src)->Read();
    ASSERT_TRUE(f.ok()) << "frame " << i << ": " << f.status().ToString();
    EXPECT_EQ(f->seq, i);  // numbering goes on across passes
    if (i < 3) {
      first_pass.push_back(f->bgr.clone());
    } else {
      // The same (MJPEG-decoded) pixels as the same frame of the first pass.
      EXPECT_EQ(cv::norm(f->bgr, first_pass[i % 3], cv::NORM_INF), 0) << "frame " << i;
    }
  }
  // Without the option (or with loop=0) the same file ends.
  for (const std::string& url : {path, path + "?loop=0", "file://" + path}) {
    auto once = OpenFrameSource(url, clock);
    ASSERT_TRUE(once.ok()) << url;
    int n = 0;
    while ((*once)->Read().ok()) ++n;
    EXPECT_EQ(n, 3) << url;
  }
}

TEST(FrameSource, LoopedFolderAndBadOptions) {
  TempDir dir;
  for (int p : {0, 1}) {
    ASSERT_TRUE(cv::imwrite((dir.path() / ("img" + std::to_string(p) + ".png")).string(), RenderMockFacePhoto(p)));
  }
  FakeClock clock;
  auto src = OpenFrameSource("file://" + dir.path().string() + "?loop", clock);
  ASSERT_TRUE(src.ok()) << src.status().ToString();
  for (int i = 0; i < 5; ++i) {
    auto f = (*src)->Read();
    ASSERT_TRUE(f.ok()) << f.status().ToString();
    EXPECT_EQ(cv::norm(f->bgr, RenderMockFacePhoto(i % 2), cv::NORM_INF), 0) << "frame " << i;
  }
  // A folder whose only image is unreadable ends instead of spinning forever.
  const fs::path broken = dir.path() / "broken";
  fs::create_directories(broken);
  std::ofstream(broken / "broken.png") << "not a png";
  auto spin = OpenFrameSource(broken.string() + "?loop=1", clock);
  ASSERT_TRUE(spin.ok());
  EXPECT_EQ((*spin)->Read().status().code(), StatusCode::kNotFound);

  EXPECT_EQ(OpenFrameSource(dir.path().string() + "?loop=yes", clock).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(OpenFrameSource(dir.path().string() + "?speed=2", clock).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(OpenFrameSource("/nonexistent/clip.avi?loop=1", clock).status().code(), StatusCode::kNotFound);
}

}  // namespace
}  // namespace vigil::vision
