// StreamHub without sockets: which commands reach the worker as viewers come
// and go, what a frame becomes, and how streams end.
#include "api/stream_hub.h"

#include <gtest/gtest.h>

#include "api/app.h"
#include "api_test_helpers.h"
#include "core/clock.h"

#include <mutex>
#include <set>

namespace vigil::api {
namespace {

struct FakeViewer : StreamViewer {
  void Offer(std::shared_ptr<const std::string> part) override { parts.push_back(std::move(part)); }
  void End() override { ++ended; }
  std::vector<std::shared_ptr<const std::string>> parts;
  int ended = 0;
};

class StreamHubTest : public ::testing::Test {
 protected:
  StreamHubTest()
      : hub_([this](const std::string& worker, const protocol::Command& cmd) {
          if (offline_.count(worker)) return false;
          sent_.push_back({worker, cmd});
          return true;
        }) {}

  std::vector<std::string> Commands() const {
    std::vector<std::string> out;
    for (const auto& [w, c] : sent_) out.push_back(w + ":" + c.command + ":" + c.camera_id.value_or(""));
    return out;
  }

  std::vector<std::pair<std::string, protocol::Command>> sent_;
  std::set<std::string> offline_;
  StreamHub hub_;
};

Json FrameHeader() {
  return Json{{"type", "frame"},   {"camera_id", "cam-1"}, {"seq", 7},
              {"width", 640},      {"height", 360},        {"captured_at", "2026-11-29T09:00:00.000Z"},
              {"tracks", Json::array({{{"track_id", 3}, {"bbox", {1, 2, 30, 40}}, {"name", "Ann"}, {"staff_id", "s1"}}})}};
}

TEST_F(StreamHubTest, FirstViewerStartsLastViewerStops) {
  auto a = std::make_shared<FakeViewer>();
  auto b = std::make_shared<FakeViewer>();
  auto ta = hub_.Join("cam-1", "w1", {5, 640}, a);
  ASSERT_TRUE(ta.ok());
  auto tb = hub_.Join("cam-1", "w1", {5, 640}, b);
  ASSERT_TRUE(tb.ok());
  EXPECT_EQ(Commands(), std::vector<std::string>{"w1:start_stream:cam-1"});
  EXPECT_EQ(sent_[0].second.fps, 5);
  EXPECT_EQ(sent_[0].second.max_width, 640);
  EXPECT_EQ(hub_.viewers(), 2u);
  hub_.Leave(*ta);
  EXPECT_EQ(Commands().size(), 1u) << "a viewer is left: keep streaming";
  hub_.Leave(*tb);
  hub_.Leave(*tb);  // idempotent
  EXPECT_EQ(Commands(), (std::vector<std::string>{"w1:start_stream:cam-1", "w1:stop_stream:cam-1"}));
  EXPECT_EQ(hub_.viewers(), 0u);
  EXPECT_TRUE(hub_.ActiveStreams().empty());
}

TEST_F(StreamHubTest, MoreDemandingViewerRaisesTheStreamSettings) {
  auto a = std::make_shared<FakeViewer>();
  auto b = std::make_shared<FakeViewer>();
  ASSERT_TRUE(hub_.Join("cam-1", "w1", {5, 640}, a).ok());
  ASSERT_TRUE(hub_.Join("cam-1", "w1", {10, 320}, b).ok());
  ASSERT_EQ(sent_.size(), 2u);
  EXPECT_EQ(sent_[1].second.command, "start_stream");
  EXPECT_EQ(sent_[1].second.fps, 10);
  EXPECT_EQ(sent_[1].second.max_width, 640);
}

TEST_F(StreamHubTest, FrameBecomesOneSharedPartWithMeta) {
  auto a = std::make_shared<FakeViewer>();
  auto b = std::make_shared<FakeViewer>();
  ASSERT_TRUE(hub_.Join("cam-1", "w1", {}, a).ok());
  ASSERT_TRUE(hub_.Join("cam-1", "w1", {}, b).ok());
  std::string jpeg = "\xFF\xD8jpeg-bytes\xFF\xD9";
  hub_.OnFrame("cam-1", FrameHeader(), jpeg);
  hub_.OnFrame("cam-2", FrameHeader(), jpeg);  // nobody watches cam-2
  ASSERT_EQ(a->parts.size(), 1u);
  ASSERT_EQ(b->parts.size(), 1u);
  EXPECT_EQ(a->parts[0], b->parts[0]) << "built once, shared";
  const std::string& part = *a->parts[0];
  std::string head = "--vigil-frame\r\nContent-Type: image/jpeg\r\nContent-Length: " + std::to_string(jpeg.size()) +
                     "\r\nX-Vigil-Meta: ";
  ASSERT_EQ(part.rfind(head, 0), 0u) << part;
  size_t meta_end = part.find("\r\n\r\n");
  auto meta = ParseJson(part.substr(head.size(), meta_end - head.size()));
  ASSERT_TRUE(meta.ok());
  EXPECT_EQ((*meta)["width"], 640);
  EXPECT_EQ((*meta)["tracks"][0]["name"], "Ann");
  EXPECT_FALSE(meta->contains("camera_id"));
  EXPECT_EQ(part.substr(meta_end + 4), jpeg + "\r\n");
  EXPECT_EQ(hub_.frames_relayed(), 1u);
}

TEST_F(StreamHubTest, WorkerGoneEndsItsViewersOnly) {
  auto a = std::make_shared<FakeViewer>();
  auto b = std::make_shared<FakeViewer>();
  auto ta = hub_.Join("cam-1", "w1", {}, a);
  ASSERT_TRUE(hub_.Join("cam-2", "w2", {}, b).ok());
  hub_.WorkerGone("w1");
  EXPECT_EQ(a->ended, 1);
  EXPECT_EQ(b->ended, 0);
  hub_.OnFrame("cam-1", FrameHeader(), "x");
  EXPECT_TRUE(a->parts.empty());
  hub_.Leave(*ta);  // the session still leaves afterwards: harmless
  EXPECT_EQ(hub_.viewers(), 1u);
  // A new viewer of cam-1 starts the stream afresh.
  ASSERT_TRUE(hub_.Join("cam-1", "w1", {}, std::make_shared<FakeViewer>()).ok());
  EXPECT_EQ(Commands().back(), "w1:start_stream:cam-1");
}

TEST_F(StreamHubTest, OfflineWorkerRefusesAndCloseAllStopsEverything) {
  offline_.insert("w9");
  EXPECT_EQ(hub_.Join("cam-9", "w9", {}, std::make_shared<FakeViewer>()).status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(hub_.viewers(), 0u);
  auto a = std::make_shared<FakeViewer>();
  ASSERT_TRUE(hub_.Join("cam-1", "w1", {}, a).ok());
  hub_.EndCamera("cam-1");
  EXPECT_EQ(a->ended, 1);
  EXPECT_EQ(Commands().back(), "w1:stop_stream:cam-1");
  auto b = std::make_shared<FakeViewer>();
  ASSERT_TRUE(hub_.Join("cam-2", "w2", {}, b).ok());
  hub_.CloseAll();
  EXPECT_EQ(b->ended, 1);
  EXPECT_EQ(Commands().back(), "w2:stop_stream:cam-2");
  EXPECT_EQ(hub_.Join("cam-2", "w2", {}, b).status().code(), StatusCode::kUnavailable);
}

TEST_F(StreamHubTest, CameraMovedToAnotherWorkerRestartsThere) {
  auto a = std::make_shared<FakeViewer>();
  ASSERT_TRUE(hub_.Join("cam-1", "w1", {}, a).ok());
  auto b = std::make_shared<FakeViewer>();
  ASSERT_TRUE(hub_.Join("cam-1", "w2", {}, b).ok());
  EXPECT_EQ(a->ended, 1) << "the old stream's viewers are ended";
  EXPECT_EQ(Commands(), (std::vector<std::string>{"w1:start_stream:cam-1", "w1:stop_stream:cam-1",
                                                  "w2:start_stream:cam-1"}));
  EXPECT_EQ(hub_.ActiveStreams(), (std::vector<std::pair<std::string, std::string>>{{"cam-1", "w2"}}));
}

// The routes through ApiApp::Handle (no sockets): the enrolment photo, and
// the live view's refusals.
TEST(StreamRoutesTest, FaceImageAndStreamRefusals) {
  testing::TempDir dir;
  FakeClock clock;
  auto created = ApiApp::Create(testing::TestConfig(dir.path()), clock, nullptr);
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  auto app = std::move(*created);
  ASSERT_TRUE(app->Start().ok());
  auto call = [&](const std::string& method, const std::string& target, const std::string& body = "",
                  bool auth = true) { return app->Handle(testing::MakeRequest(method, target, body, auth)); };

  Response staff = call("POST", "/api/v1/staff", R"({"name":"Ann"})");
  ASSERT_EQ(staff.status, 201);
  std::string sid = ParseJson(staff.body)->at("id");
  std::string photo = testing::MockPhotoJpeg(3);
  Response face = call("POST", "/api/v1/staff/" + sid + "/faces", photo);
  ASSERT_EQ(face.status, 201) << face.body;
  std::string fid = ParseJson(face.body)->at("id");
  Response image = call("GET", "/api/v1/staff/" + sid + "/faces/" + fid + "/image");
  EXPECT_EQ(image.status, 200);
  EXPECT_EQ(image.content_type, "image/jpeg");
  EXPECT_EQ(image.body, photo);
  EXPECT_EQ(call("GET", "/api/v1/staff/" + sid + "/faces/no-such-face/image").status, 404);
  EXPECT_EQ(call("GET", "/api/v1/staff/no-such-staff/faces/" + fid + "/image").status, 404);
  EXPECT_EQ(call("GET", "/api/v1/staff/" + sid + "/faces/" + fid + "/image", "", false).status, 401);

  Response cam = call("POST", "/api/v1/cameras", R"({"name":"door","url":"mock://door"})");
  ASSERT_EQ(cam.status, 201) << cam.body;
  std::string cid = ParseJson(cam.body)->at("id");
  Request mjpeg = testing::MakeRequest("GET", "/api/v1/cameras/" + cid + "/stream.mjpeg");
  EXPECT_TRUE(app->IsMjpegRequest(mjpeg));
  EXPECT_FALSE(app->IsMjpegRequest(testing::MakeRequest("GET", "/api/v1/cameras/" + cid)));
  EXPECT_EQ(call("GET", "/api/v1/cameras/nope/stream.mjpeg").status, 404);
  EXPECT_EQ(call("GET", "/api/v1/cameras/" + cid + "/stream.mjpeg", "", false).status, 401);
  Response not_running = call("GET", "/api/v1/cameras/" + cid + "/stream.mjpeg");
  EXPECT_EQ(not_running.status, 409);
  EXPECT_NE(not_running.body.find("no online worker"), std::string::npos);
  EXPECT_EQ(call("GET", "/api/v1/cameras/" + cid + "/stream.mjpeg?fps=0").status, 400);
  EXPECT_EQ(call("GET", "/api/v1/cameras/" + cid + "/stream.mjpeg?max_width=99999").status, 400);
  // OpenMjpeg refuses the same way and joins nothing.
  StreamHub::Token token = 0;
  auto refusal = app->OpenMjpeg(mjpeg, std::make_shared<FakeViewer>(), &token);
  ASSERT_TRUE(refusal.has_value());
  EXPECT_EQ(refusal->status, 409);
  EXPECT_EQ(app->streams().viewers(), 0u);
  app->Shutdown();
}

}  // namespace
}  // namespace vigil::api
