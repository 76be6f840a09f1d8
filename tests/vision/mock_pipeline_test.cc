// MOCK_MODE: the synthetic scene, detector and embedder agree with each other,
// are deterministic, and keep people apart.
#include <gtest/gtest.h>

#include <chrono>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <set>

#include "core/clock.h"
#include "vision/face_detector.h"
#include "vision/face_embedder.h"
#include "vision/face_quality.h"
#include "vision/frame_source.h"
#include "vision/mock_faces.h"

namespace vigil::vision {
namespace {

using std::chrono::milliseconds;

cv::Mat JpegRoundTrip(const cv::Mat& img, int quality) {
  std::vector<uchar> buf;
  cv::imencode(".jpg", img, buf, {cv::IMWRITE_JPEG_QUALITY, quality});
  return cv::imdecode(buf, cv::IMREAD_COLOR);
}

TEST(MockFaces, EveryCastMemberDecodesFromAnEnrollmentPhoto) {
  auto det = CreateMockDetector();
  for (int p = 0; p < kMockCastSize; ++p) {
    const cv::Mat photo = RenderMockFacePhoto(p);
    auto faces = det->Detect(photo);
    ASSERT_TRUE(faces.ok());
    ASSERT_EQ(faces->size(), 1u) << "person " << p;
    EXPECT_EQ(faces->at(0).landmarks.size(), 5u);
    EXPECT_NEAR(faces->at(0).box.width, 240, 2);
    EXPECT_EQ(DecodeMockPerson(photo, faces->at(0)), p);
  }
}

TEST(MockFaces, SurvivesJpegAndDownscaling) {
  auto det = CreateMockDetector();
  for (int p = 0; p < kMockCastSize; ++p) {
    cv::Mat small;
    cv::resize(RenderMockFacePhoto(p), small, cv::Size(), 0.25, 0.25, cv::INTER_AREA);  // face ~60 px
    const cv::Mat img = JpegRoundTrip(small, 40);
    auto faces = det->Detect(img);
    ASSERT_TRUE(faces.ok());
    ASSERT_EQ(faces->size(), 1u) << "person " << p;
    EXPECT_EQ(DecodeMockPerson(img, faces->at(0)), p);
  }
}

TEST(MockFaces, NoFacesInAPlainImageOrARealLookingOne) {
  auto det = CreateMockDetector();
  cv::Mat grey(240, 320, CV_8UC3, cv::Scalar(128, 128, 128));
  EXPECT_TRUE(det->Detect(grey)->empty());
  // A filled magenta blob is not a face: the mock face is a frame.
  cv::rectangle(grey, cv::Rect(50, 50, 80, 80), cv::Scalar(255, 0, 255), cv::FILLED);
  EXPECT_TRUE(det->Detect(grey)->empty());
  EXPECT_FALSE(det->Detect(cv::Mat()).ok());
}

TEST(MockEmbedder, SamePersonCloseDifferentPeopleFar) {
  auto det = CreateMockDetector();
  auto emb = CreateMockEmbedder();
  EXPECT_EQ(emb->model_id(), "mock-embedder-v1");
  EXPECT_EQ(emb->dim(), 128);
  std::vector<Embedding> photos, scaled;
  for (int p = 0; p < kMockCastSize; ++p) {
    const cv::Mat a = RenderMockFacePhoto(p);
    cv::Mat b;
    cv::resize(a, b, cv::Size(), 0.4, 0.4, cv::INTER_AREA);
    b = JpegRoundTrip(b, 60);
    auto fa = det->Detect(a);
    auto fb = det->Detect(b);
    ASSERT_EQ(fa->size(), 1u);
    ASSERT_EQ(fb->size(), 1u);
    auto ea = emb->Embed(a, fa->at(0));
    auto eb = emb->Embed(b, fb->at(0));
    ASSERT_TRUE(ea.ok() && eb.ok());
    EXPECT_EQ(ea->values.size(), 128u);
    EXPECT_NEAR(CosineSimilarity(ea->values, ea->values), 1.0, 1e-5);
    photos.push_back(*ea);
    scaled.push_back(*eb);
  }
  for (int i = 0; i < kMockCastSize; ++i) {
    for (int j = 0; j < kMockCastSize; ++j) {
      const float s = CosineSimilarity(photos[i].values, scaled[j].values);
      if (i == j) {
        EXPECT_GT(s, 0.95f) << i;
        EXPECT_LT(s, 1.0f - 1e-7f) << "the two sightings should differ a little";
        EXPECT_GE(s, emb->default_threshold());
      } else {
        EXPECT_LT(s, 0.5f) << i << " vs " << j;
      }
    }
  }
  // Deterministic: the same input gives the same vector.
  const cv::Mat a = RenderMockFacePhoto(3);
  auto f = det->Detect(a);
  EXPECT_EQ(emb->Embed(a, f->at(0))->values, emb->Embed(a, f->at(0))->values);
}

TEST(MockEmbedder, RejectsANonMockFace) {
  auto emb = CreateMockEmbedder();
  cv::Mat grey(200, 200, CV_8UC3, cv::Scalar(128, 128, 128));
  Detection d;
  d.box = cv::Rect2f(50, 50, 100, 100);
  EXPECT_EQ(emb->Embed(grey, d).status().code(), StatusCode::kInvalidArgument);
  d.box = cv::Rect2f(500, 500, 10, 10);
  EXPECT_EQ(emb->Embed(grey, d).status().code(), StatusCode::kInvalidArgument);
}

TEST(MockScene, SameNameSameFramesDifferentNameDifferentSchedule) {
  MockScene a("cam-1"), b("cam-1"), c("cam-2");
  for (int64_t t : {0, 1234, 5000, 17000, 60000}) {
    const cv::Mat fa = a.Render(t), fb = b.Render(t);
    EXPECT_EQ(cv::norm(fa, fb, cv::NORM_INF), 0) << t;
  }
  EXPECT_NE(a.VisitsBetween(0, 120000).front().enter_ms, c.VisitsBetween(0, 120000).front().enter_ms);
}

// Walk through five minutes of a scene at 5 fps: whenever the schedule says a
// person stands fully in view, the detector finds exactly them and the
// embedder names them; empty scenes happen.
TEST(MockScene, DetectorAndEmbedderSeeExactlyTheScheduledPeople) {
  FakeClock clock;
  auto src = OpenFrameSource("mock://shop-door", clock);
  ASSERT_TRUE(src.ok()) << src.status().ToString();
  EXPECT_TRUE((*src)->is_live());
  MockScene schedule("shop-door");
  auto det = CreateMockDetector();
  auto emb = CreateMockEmbedder();
  int empty_frames = 0, frames_with_faces = 0;
  std::set<int> seen_people;
  for (int64_t i = 0; i < 1500; ++i) {
    const int64_t t = i * 200;
    auto frame = (*src)->Read();
    ASSERT_TRUE(frame.ok());
    EXPECT_EQ(frame->seq, i);
    EXPECT_EQ(frame->bgr.size(), cv::Size(640, 480));
    std::multiset<int> expected;
    for (const auto& v : schedule.VisitsBetween(t, t + 1)) {
      auto r = schedule.FaceRectAt(v, t);
      if (r && r->x > 0 && r->x + r->width < 640) expected.insert(v.person);
    }
    auto faces = det->Detect(frame->bgr);
    ASSERT_TRUE(faces.ok());
    std::multiset<int> got;
    for (const auto& d : *faces) {
      auto e = emb->Embed(frame->bgr, d);
      ASSERT_TRUE(e.ok()) << "t=" << t;
      int best = -1;
      float best_s = -1;
      for (int p = 0; p < kMockCastSize; ++p) {
        const float s = CosineSimilarity(e->values, MockPersonVector(p));
        if (s > best_s) best_s = s, best = p;
      }
      EXPECT_GT(best_s, 0.95f);
      got.insert(best);
      seen_people.insert(best);
      EXPECT_GT(FaceQuality(frame->bgr, d), 0.3f);
    }
    EXPECT_EQ(got, expected) << "t=" << t;
    (faces->empty() ? empty_frames : frames_with_faces)++;
    clock.Advance(milliseconds(200));
  }
  EXPECT_GT(empty_frames, 150);
  EXPECT_GT(frames_with_faces, 500);
  EXPECT_EQ(seen_people.size(), static_cast<size_t>(kMockCastSize));
}

TEST(MockSource, SimulatedFailureAndBadParameters) {
  FakeClock clock;
  auto src = OpenFrameSource("mock://x?fail_after=3&width=320&height=240", clock);
  ASSERT_TRUE(src.ok()) << src.status().ToString();
  for (int i = 0; i < 3; ++i) {
    auto f = (*src)->Read();
    ASSERT_TRUE(f.ok());
    EXPECT_EQ(f->bgr.size(), cv::Size(320, 240));
  }
  EXPECT_EQ((*src)->Read().status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(OpenFrameSource("mock://", clock).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(OpenFrameSource("mock://x?colour=red", clock).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(OpenFrameSource("mock://x?width=abc", clock).status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace vigil::vision
