// ApiApp without sockets: the REST surface end to end (MOCK_MODE faces,
// temporary SQLite) and the worker protocol through a fake connection with an
// injected FakeClock.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <thread>

#include "api/app.h"
#include "api_test_helpers.h"
#include "core/uuid.h"
#include "protocol/codec.h"
#include "vision/mock_faces.h"

namespace vigil::api {
namespace {

using testing::FakeConnection;
using testing::MakeRequest;
namespace proto = vigil::protocol;

class AppTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto app = ApiApp::Create(testing::TestConfig(dir_.path()), clock_, nullptr);
    ASSERT_TRUE(app.ok()) << app.status().ToString();
    app_ = std::move(*app);
    ASSERT_TRUE(app_->Start().ok());
  }
  void TearDown() override {
    if (app_) app_->Shutdown();
  }

  Response Call(const std::string& method, const std::string& target, const std::string& body = "", bool auth = true) {
    return app_->Handle(MakeRequest(method, target, body, auth));
  }
  Json CallJson(const std::string& method, const std::string& target, const std::string& body, int expect) {
    Response r = Call(method, target, body);
    EXPECT_EQ(r.status, expect) << method << " " << target << ": " << r.body;
    return ParseJson(r.body).value_or(Json());
  }

  struct Worker {
    std::shared_ptr<FakeConnection> conn = std::make_shared<FakeConnection>();
    WorkerHub::SessionId id = 0;
  };
  Worker Connect(const std::string& worker_id, int max_cameras = 4, std::vector<proto::LocalCamera> cams = {}) {
    Worker w;
    w.id = app_->hub().Open(w.conn);
    proto::Hello h;
    h.worker_id = worker_id;
    h.host = "test";
    h.pid = 1;
    h.version = "0.1.0";
    h.capabilities = {"mock", "mock", {vision::kMockEmbedderModel}, max_cameras};
    h.cameras = std::move(cams);
    app_->hub().OnText(w.id, proto::Encode(h));
    return w;
  }
  void Heartbeat(const Worker& w) {
    proto::Heartbeat hb;
    hb.seq = 1;
    hb.state = "running";
    hb.sent_at_ms = clock_.NowUnixMs();
    hb.stats.events_created = 3;
    app_->hub().OnText(w.id, proto::Encode(hb));
  }
  proto::Event MakeEvent(const std::string& worker_id, const std::string& camera_id, int person) {
    proto::Event e;
    e.event_id = NewUuid();
    e.worker_id = worker_id;
    e.camera_id = camera_id;
    e.captured_at_ms = clock_.NowUnixMs();
    e.track_id = 1;
    e.bbox = {10, 10, 100, 100};
    e.det_score = 0.99;
    e.quality = 0.8;
    e.model = vision::kMockEmbedderModel;
    e.embedding = vision::MockPersonVector(person);
    return e;
  }
  static std::set<std::string> CameraIds(const Json& msg) {
    std::set<std::string> ids;
    for (const auto& c : msg["cameras"]) ids.insert(c["id"].get<std::string>());
    return ids;
  }

  testing::TempDir dir_;
  FakeClock clock_;
  std::unique_ptr<ApiApp> app_;
};

// ---- auth and routing ----------------------------------------------------------

TEST_F(AppTest, AuthIsCheckedBeforeAnything) {
  EXPECT_EQ(Call("GET", "/healthz", "", false).status, 200);
  EXPECT_EQ(Call("GET", "/api/v1/sites", "", false).status, 401);
  EXPECT_EQ(Call("GET", "/api/v1/no-such-route", "", false).status, 401);
  Request wrong = MakeRequest("GET", "/api/v1/sites", "", false);
  wrong.headers["authorization"] = "Bearer nope-nope-nope";
  Response r = app_->Handle(wrong);
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(ParseJson(r.body)->at("error").at("code"), "unauthorized");
  EXPECT_EQ(Call("GET", "/api/v1/sites").status, 200);
}

TEST_F(AppTest, SessionCookieSignInAndOut) {
  EXPECT_EQ(Call("POST", "/api/v1/session", R"({"token":"wrong-token"})", false).status, 401);
  Response r = Call("POST", "/api/v1/session", std::string(R"({"token":")") + testing::kAdminToken + "\"}", false);
  ASSERT_EQ(r.status, 200);
  std::string cookie;
  for (auto& [k, v] : r.headers) {
    if (k == "Set-Cookie") cookie = v;
  }
  ASSERT_NE(cookie.find("HttpOnly"), std::string::npos);
  ASSERT_NE(cookie.find("SameSite=Strict"), std::string::npos);
  Request with_cookie = MakeRequest("GET", "/api/v1/cameras", "", false);
  with_cookie.headers["cookie"] = cookie.substr(0, cookie.find(';'));
  EXPECT_EQ(app_->Handle(with_cookie).status, 200);
  Response out = Call("DELETE", "/api/v1/session", "", false);
  EXPECT_EQ(out.status, 204);
}

TEST_F(AppTest, UnknownRoutesAndWrongMethods) {
  EXPECT_EQ(Call("GET", "/api/v1/nothing").status, 404);
  Response r = Call("DELETE", "/api/v1/cameras");
  EXPECT_EQ(r.status, 405);
  bool allow = false;
  for (auto& [k, v] : r.headers) allow |= (k == "Allow" && v == "GET, POST");
  EXPECT_TRUE(allow);
  EXPECT_EQ(Call("POST", "/healthz", "", false).status, 405);
}

TEST_F(AppTest, MalformedQueryEscapeIs400) {
  CallJson("GET", "/api/v1/events?camera=x%20y", "", 200);
  for (const char* target :
       {"/api/v1/events?camera=%zz", "/api/v1/visits?site=a&from=%4", "/api/v1/customers?q%GG=1"}) {
    Response r = Call("GET", target);
    EXPECT_EQ(r.status, 400) << target;
    auto j = ParseJson(r.body);
    ASSERT_TRUE(j.ok()) << r.body;
    EXPECT_EQ((*j)["error"]["code"], "bad_request") << target;
  }
  // Auth still comes first.
  EXPECT_EQ(Call("GET", "/api/v1/events?camera=%zz", "", false).status, 401);
}

TEST_F(AppTest, BadInputOnEveryWritingRoute) {
  Json site = CallJson("POST", "/api/v1/sites", R"({"name":"Shop"})", 201);
  Json staff = CallJson("POST", "/api/v1/staff", R"({"name":"Ann"})", 201);
  Json cam = CallJson("POST", "/api/v1/cameras", R"({"name":"door","url":"mock://x"})", 201);
  std::vector<std::string> targets = {"/api/v1/sites", "/api/v1/cameras", "/api/v1/staff", "/api/v1/session"};
  for (const auto& t : targets) {
    for (const char* body : {"", "{", "[1,2]", "{\"name\": 5}", "{}", "null"}) {
      Response r = Call("POST", t, body);
      EXPECT_EQ(r.status, t == "/api/v1/session" && std::string(body) == "{}" ? 400 : 400) << t << " " << body;
      auto j = ParseJson(r.body);
      ASSERT_TRUE(j.ok());
      EXPECT_TRUE(j->contains("error")) << r.body;
    }
  }
  std::string sid = site["id"], cid = cam["id"], stid = staff["id"];
  EXPECT_EQ(Call("PATCH", "/api/v1/sites/" + sid, R"({"timezone":"Mars/Olympus"})").status, 400);
  EXPECT_EQ(Call("PATCH", "/api/v1/cameras/" + cid, R"({"enabled":"yes"})").status, 400);
  EXPECT_EQ(Call("PATCH", "/api/v1/cameras/" + cid, R"({"fps":-1})").status, 400);
  EXPECT_EQ(Call("PATCH", "/api/v1/cameras/" + cid, R"({"site_id":"no-such-site"})").status, 400);
  EXPECT_EQ(Call("PATCH", "/api/v1/staff/" + stid, R"({"name":""})").status, 400);
  EXPECT_EQ(Call("PATCH", "/api/v1/customers/x", R"({"nom":"x"})").status, 400);
  EXPECT_EQ(Call("GET", "/api/v1/events?from=yesterday").status, 400);
  EXPECT_EQ(Call("GET", "/api/v1/events?limit=0").status, 400);
  EXPECT_EQ(Call("GET", "/api/v1/visits?cursor=garbage").status, 400);
  EXPECT_EQ(Call("GET", "/api/v1/reports/visitors?bucket=year").status, 400);
  EXPECT_EQ(Call("POST", "/api/v1/cameras/" + cid + "/stream", R"({"action":"dance"})").status, 400);
  EXPECT_EQ(Call("POST", "/api/v1/staff/" + stid + "/faces", "not an image").status, 415);
  EXPECT_EQ(Call("POST", "/api/v1/recognize", "GIF89a....").status, 415);
  EXPECT_EQ(Call("GET", "/api/v1/snapshots/nope").status, 404);
  EXPECT_EQ(Call("GET", "/api/v1/staff/nope").status, 404);
  EXPECT_EQ(Call("DELETE", "/api/v1/customers/nope").status, 404);
  // Data intact after all that.
  EXPECT_EQ(CallJson("GET", "/api/v1/cameras/" + cid, "", 200)["name"], "door");
  EXPECT_EQ(CallJson("GET", "/api/v1/sites", "", 200)["items"].size(), 1u);
}

// ---- REST resources ------------------------------------------------------------

TEST_F(AppTest, SitesAndCamerasCrud) {
  Json site = CallJson("POST", "/api/v1/sites", R"({"name":"Main street","timezone":"Europe/Berlin"})", 201);
  ASSERT_TRUE(site["id"].is_string());
  std::string body = R"({"name":"door","url":"rtsp://cam/1","site_id":")" + site["id"].get<std::string>() + "\"}";
  Json cam = CallJson("POST", "/api/v1/cameras", body, 201);
  for (const char* k : {"id", "name", "url", "site_id", "enabled", "worker_id", "state"}) EXPECT_TRUE(cam.contains(k)) << k;
  EXPECT_TRUE(cam["worker_id"].is_null());
  Json list = CallJson("GET", "/api/v1/cameras", "", 200);
  ASSERT_EQ(list["items"].size(), 1u);
  EXPECT_TRUE(list["next_cursor"].is_null());
  std::string id = cam["id"];
  Json upd = CallJson("PATCH", "/api/v1/cameras/" + id, R"({"enabled":false,"name":"back door"})", 200);
  EXPECT_EQ(upd["enabled"], false);
  EXPECT_EQ(upd["name"], "back door");
  EXPECT_EQ(Call("DELETE", "/api/v1/cameras/" + id).status, 204);
  EXPECT_EQ(Call("GET", "/api/v1/cameras/" + id).status, 404);
}

TEST_F(AppTest, PaginationOfInMemoryLists) {
  for (int i = 0; i < 5; ++i) CallJson("POST", "/api/v1/staff", "{\"name\":\"s" + std::to_string(i) + "\"}", 201);
  Json p1 = CallJson("GET", "/api/v1/staff?limit=2", "", 200);
  ASSERT_EQ(p1["items"].size(), 2u);
  ASSERT_TRUE(p1["next_cursor"].is_string());
  std::set<std::string> seen;
  Json page = p1;
  for (;;) {
    for (auto& s : page["items"]) seen.insert(s["id"].get<std::string>());
    if (page["next_cursor"].is_null()) break;
    page = CallJson("GET", "/api/v1/staff?limit=2&cursor=" + page["next_cursor"].get<std::string>(), "", 200);
  }
  EXPECT_EQ(seen.size(), 5u);
}

TEST_F(AppTest, EnrollmentAndRecognizeWithMockFaces) {
  Json ann = CallJson("POST", "/api/v1/staff", R"({"name":"Ann","email":"ann@example.com"})", 201);
  std::string id = ann["id"];
  Json face = CallJson("POST", "/api/v1/staff/" + id + "/faces", testing::MockPhotoJpeg(3), 201);
  EXPECT_TRUE(face["id"].is_string());
  EXPECT_FALSE(face.contains("embedding"));
  Response none = Call("POST", "/api/v1/staff/" + id + "/faces", testing::BlankJpeg());
  EXPECT_EQ(none.status, 422);
  EXPECT_EQ(ParseJson(none.body)->at("error").at("code"), "no_face");
  Response two = Call("POST", "/api/v1/staff/" + id + "/faces", testing::TwoFacesJpeg());
  EXPECT_EQ(two.status, 422);
  EXPECT_NE(two.body.find("2 faces"), std::string::npos);
  EXPECT_EQ(CallJson("GET", "/api/v1/staff/" + id, "", 200)["faces"].size(), 1u);

  Json rec = CallJson("POST", "/api/v1/recognize", testing::MockPhotoJpeg(3), 200);
  ASSERT_EQ(rec["faces"].size(), 1u);
  ASSERT_FALSE(rec["faces"][0]["match"].is_null());
  EXPECT_EQ(rec["faces"][0]["match"]["kind"], "staff");
  EXPECT_EQ(rec["faces"][0]["match"]["id"], id);
  EXPECT_EQ(rec["faces"][0]["match"]["name"], "Ann");
  EXPECT_EQ(rec["faces"][0]["bbox"].size(), 4u);
  Json other = CallJson("POST", "/api/v1/recognize", testing::MockPhotoJpeg(5), 200);
  ASSERT_EQ(other["faces"].size(), 1u);
  EXPECT_TRUE(other["faces"][0]["match"].is_null());

  // Deleting the face removes it from recognition.
  EXPECT_EQ(Call("DELETE", "/api/v1/staff/" + id + "/faces/" + face["id"].get<std::string>()).status, 204);
  EXPECT_TRUE(CallJson("POST", "/api/v1/recognize", testing::MockPhotoJpeg(3), 200)["faces"][0]["match"].is_null());
}

// ---- worker protocol -----------------------------------------------------------

TEST_F(AppTest, HelloGetsWelcomeAssignmentAndFullGallery) {
  Json staff = CallJson("POST", "/api/v1/staff", R"({"name":"Bob"})", 201);
  CallJson("POST", "/api/v1/staff/" + staff["id"].get<std::string>() + "/faces", testing::MockPhotoJpeg(2), 201);
  Json cam = CallJson("POST", "/api/v1/cameras", R"({"name":"door","url":"mock://door"})", 201);
  auto w = Connect("w1", 4, {{"w1-local", "local", "mock://w1"}});
  Json welcome = w.conn->WaitForType("welcome");
  ASSERT_FALSE(welcome.is_null());
  EXPECT_EQ(welcome["heartbeat_interval_ms"], 5000);
  EXPECT_EQ(CameraIds(welcome), (std::set<std::string>{cam["id"].get<std::string>(), "w1-local"}));
  Json gallery = w.conn->WaitForType("gallery");
  ASSERT_FALSE(gallery.is_null());
  EXPECT_EQ(gallery["full"], true);
  EXPECT_EQ(gallery["model"], vision::kMockEmbedderModel);
  ASSERT_EQ(gallery["upsert"].size(), 1u);
  EXPECT_EQ(gallery["upsert"][0]["name"], "Bob");
  // Messages arrive in protocol order: welcome first.
  EXPECT_EQ(w.conn->Messages().front()["type"], "welcome");

  // Enrollment changes push a delta with a higher version.
  CallJson("POST", "/api/v1/staff/" + staff["id"].get<std::string>() + "/faces", testing::MockPhotoJpeg(2), 201);
  Json delta = w.conn->WaitFor([](const Json& j) { return j["type"] == "gallery" && j["full"] == false; });
  ASSERT_FALSE(delta.is_null());
  EXPECT_GT(delta["version"].get<int64_t>(), gallery["version"].get<int64_t>());

  Json workers = CallJson("GET", "/api/v1/workers", "", 200);
  ASSERT_EQ(workers["items"].size(), 1u);
  EXPECT_EQ(workers["items"][0]["status"], "online");
  for (const char* k : {"events_created", "events_acked", "events_spooled", "events_dropped"}) {
    EXPECT_TRUE(workers["items"][0]["stats"].contains(k)) << k;
  }
  EXPECT_EQ(CallJson("GET", "/api/v1/cameras/w1-local", "", 200)["worker_id"], "w1");
}

TEST_F(AppTest, DuplicateWorkerRefusedUntilTheOldOneMissesHeartbeats) {
  auto a = Connect("dup");
  ASSERT_FALSE(a.conn->WaitForType("welcome").is_null());
  auto b = Connect("dup");
  Json err = b.conn->WaitForType("error");
  ASSERT_FALSE(err.is_null());
  EXPECT_EQ(err["code"], "duplicate_worker");
  ASSERT_TRUE(b.conn->WaitClosed());
  EXPECT_EQ(b.conn->close_code(), proto::kCloseDuplicateWorker);
  EXPECT_EQ(a.conn->close_code(), 0);

  clock_.Advance(std::chrono::milliseconds(15001));  // the first session is now 3 intervals silent
  auto c = Connect("dup");
  EXPECT_FALSE(c.conn->WaitForType("welcome").is_null());
  ASSERT_TRUE(a.conn->WaitClosed());
  EXPECT_EQ(a.conn->close_code(), kCloseHeartbeatTimeout);
}

TEST_F(AppTest, HeartbeatTimeoutReassignsCameras) {
  CallJson("POST", "/api/v1/cameras", R"({"name":"c1","url":"mock://1"})", 201);
  CallJson("POST", "/api/v1/cameras", R"({"name":"c2","url":"mock://2"})", 201);
  auto w1 = Connect("w1");
  Json welcome1 = w1.conn->WaitForType("welcome");
  EXPECT_EQ(CameraIds(welcome1).size(), 2u);
  auto w2 = Connect("w2");
  Json welcome2 = w2.conn->WaitForType("welcome");
  EXPECT_EQ(CameraIds(welcome2).size(), 1u);  // rebalanced on join
  Json assign1 = w1.conn->WaitForType("assign");
  EXPECT_EQ(CameraIds(assign1).size(), 1u);

  clock_.Advance(std::chrono::milliseconds(10000));
  Heartbeat(w2);  // w2 stays alive, w1 goes silent
  clock_.Advance(std::chrono::milliseconds(6000));
  app_->Tick();
  ASSERT_TRUE(w1.conn->WaitClosed());
  EXPECT_EQ(w1.conn->close_code(), kCloseHeartbeatTimeout);
  Json reassigned = w2.conn->WaitFor([](const Json& j) { return j["type"] == "assign" && j["cameras"].size() == 2; });
  ASSERT_FALSE(reassigned.is_null());
  app_->hub().OnClosed(w1.id);
  Json w1json = CallJson("GET", "/api/v1/workers/w1", "", 200);
  EXPECT_EQ(w1json["status"], "offline");
  EXPECT_EQ(CallJson("GET", "/api/v1/workers/w2", "", 200)["stats"]["events_created"], 3);
}

TEST_F(AppTest, SameEventTwiceStoredOnceAndAckedAfterCommit) {
  auto w = Connect("w1", 4, {{"cam-a", "a", "mock://a"}});
  ASSERT_FALSE(w.conn->WaitForType("welcome").is_null());
  std::atomic<int> acked_before_commit{0};
  storage::Repository* repo = &app_->repo();
  w.conn->on_send = [&](const Json& j) {
    if (j.value("type", "") != "ack") return;
    for (const auto& id : j["event_ids"]) {
      auto exists = repo->EventExists(id.get<std::string>());
      if (!exists.ok() || !*exists) ++acked_before_commit;
    }
  };
  proto::Event e = MakeEvent("w1", "cam-a", 4);
  app_->hub().OnText(w.id, proto::Encode(e));
  app_->hub().OnText(w.id, proto::Encode(e));
  auto acks_in = [](const std::vector<Json>& msgs, const std::string& id) {
    int n = 0;
    for (const auto& m : msgs) {
      if (m.value("type", "") != "ack") continue;
      for (const auto& x : m["event_ids"]) n += x == id;
    }
    return n;
  };
  ASSERT_TRUE(w.conn->WaitUntil([&](const std::vector<Json>& m) { return acks_in(m, e.event_id) >= 2; }));
  EXPECT_EQ(acked_before_commit.load(), 0);
  EXPECT_EQ(*app_->repo().CountRows("events"), 1);
  Json customers = CallJson("GET", "/api/v1/customers", "", 200);
  ASSERT_EQ(customers["items"].size(), 1u);
  std::string cust = customers["items"][0]["id"];

  // Same person again → same customer; visible in events and visits.
  proto::Event e2 = MakeEvent("w1", "cam-a", 4);
  app_->hub().OnText(w.id, proto::Encode(e2));
  ASSERT_TRUE(w.conn->WaitUntil([&](const std::vector<Json>& m) { return acks_in(m, e2.event_id) >= 1; }));
  EXPECT_EQ(CallJson("GET", "/api/v1/customers", "", 200)["items"].size(), 1u);
  EXPECT_EQ(CallJson("GET", "/api/v1/events?customer=" + cust, "", 200)["items"].size(), 2u);
  EXPECT_EQ(CallJson("GET", "/api/v1/visits?customer=" + cust, "", 200)["items"].size(), 1u);
  Json report = CallJson("GET", "/api/v1/reports/visitors?bucket=day&from=2023-01-01&to=2024-01-01", "", 200);
  EXPECT_EQ(report["totals"]["visits"], 1);
  Response csv = Call("GET", "/api/v1/reports/visitors?bucket=hour&from=2023-01-01&to=2024-01-01");
  Request csv_req = MakeRequest("GET", "/api/v1/reports/visitors?bucket=hour&from=2023-01-01&to=2024-01-01");
  csv_req.headers["accept"] = "text/csv";
  csv = app_->Handle(csv_req);
  EXPECT_EQ(csv.content_type, "text/csv; charset=utf-8");
  EXPECT_EQ(csv.body.rfind("site_id,bucket,visits", 0), 0u);

  // Rename, then erase everything about the person.
  EXPECT_EQ(CallJson("PATCH", "/api/v1/customers/" + cust, R"({"name":"Regular"})", 200)["name"], "Regular");
  EXPECT_EQ(Call("DELETE", "/api/v1/customers/" + cust).status, 204);
  EXPECT_EQ(Call("GET", "/api/v1/customers/" + cust).status, 404);
  EXPECT_EQ(*app_->repo().CountRows("events"), 0);
}

// The face crop a worker sends before its event: stored under a server-chosen
// name, served by GET /api/v1/snapshots/{id}; a payload that is not a JPEG is
// refused without dropping the connection or the event; a duplicate event's
// crop leaves no file behind.
TEST_F(AppTest, WorkerSnapshotIsStoredServedAndValidated) {
  auto w = Connect("w1", 4, {{"cam-a", "a", "mock://a"}});
  ASSERT_FALSE(w.conn->WaitForType("welcome").is_null());
  auto acked = [&](const std::string& id) {
    return w.conn->WaitUntil([&](const std::vector<Json>& msgs) {
      for (const auto& m : msgs) {
        if (m.value("type", "") != "ack") continue;
        for (const auto& x : m["event_ids"]) {
          if (x == id) return true;
        }
      }
      return false;
    });
  };
  auto event_json = [&](const std::string& id) { return CallJson("GET", "/api/v1/events/" + id, "", 200); };
  auto files = [&] {
    size_t n = 0;
    for (const auto& f : std::filesystem::directory_iterator(std::filesystem::path(dir_.path()) / "snapshots")) {
      n += f.is_regular_file() ? 1 : 0;
    }
    return n;
  };
  const std::string jpeg = std::string("\xFF\xD8\xFF\xE0", 4) + "face crop bytes" + std::string("\xFF\xD9", 2);

  proto::Event e = MakeEvent("w1", "cam-a", 4);
  e.has_snapshot = true;
  app_->hub().OnBinary(w.id, proto::EncodeSnapshot({e.event_id, "image/jpeg"}, jpeg));
  app_->hub().OnText(w.id, proto::Encode(e));
  ASSERT_TRUE(acked(e.event_id));
  Json stored = event_json(e.event_id);
  ASSERT_TRUE(stored.is_object());
  ASSERT_TRUE(stored["snapshot_id"].is_string()) << stored.dump();
  Response snap = Call("GET", "/api/v1/snapshots/" + stored["snapshot_id"].get<std::string>());
  EXPECT_EQ(snap.status, 200);
  EXPECT_EQ(snap.content_type, "image/jpeg");
  EXPECT_EQ(snap.body, jpeg);
  EXPECT_EQ(files(), 1u);

  // Not a JPEG: a clear error, the connection stays, the event is stored without a crop.
  proto::Event gif = MakeEvent("w1", "cam-a", 5);
  gif.has_snapshot = true;
  app_->hub().OnBinary(w.id, proto::EncodeSnapshot({gif.event_id, "image/jpeg"}, "GIF89a not a jpeg"));
  Json err = w.conn->WaitFor([](const Json& j) { return j.value("type", "") == "error"; });
  ASSERT_FALSE(err.is_null());
  EXPECT_EQ(err["code"], std::string(proto::kErrorBadMessage));
  EXPECT_NE(err["message"].get<std::string>().find("not a JPEG"), std::string::npos) << err.dump();
  EXPECT_EQ(w.conn->close_code(), 0);
  app_->hub().OnText(w.id, proto::Encode(gif));
  ASSERT_TRUE(acked(gif.event_id));
  Json gif_event = event_json(gif.event_id);
  ASSERT_TRUE(gif_event.is_object());
  EXPECT_TRUE(gif_event["snapshot_id"].is_null()) << gif_event.dump();
  EXPECT_EQ(files(), 1u);

  // The first event again, with its crop again (a worker resending after a lost ack):
  // acked, still one event, and the second copy of the crop is not kept.
  app_->hub().OnBinary(w.id, proto::EncodeSnapshot({e.event_id, "image/jpeg"}, jpeg));
  const size_t acks_before = w.conn->Messages().size();
  app_->hub().OnText(w.id, proto::Encode(e));
  ASSERT_TRUE(w.conn->WaitUntil([&](const std::vector<Json>& msgs) {
    for (size_t i = acks_before; i < msgs.size(); ++i) {
      if (msgs[i].value("type", "") != "ack") continue;
      for (const auto& x : msgs[i]["event_ids"]) {
        if (x == e.event_id) return true;
      }
    }
    return false;
  }));
  EXPECT_EQ(*app_->repo().CountRows("events"), 2);
  EXPECT_EQ(files(), 1u);
  EXPECT_EQ(Call("GET", "/api/v1/snapshots/" + stored["snapshot_id"].get<std::string>()).body, jpeg);
}

TEST_F(AppTest, MalformedMessagesThreeInARowClose) {
  auto w = Connect("w1");
  ASSERT_FALSE(w.conn->WaitForType("welcome").is_null());
  app_->hub().OnText(w.id, R"({"type":"mystery"})");
  Json unknown = w.conn->WaitFor([](const Json& j) { return j.value("code", "") == "unknown_type"; });
  EXPECT_FALSE(unknown.is_null());
  EXPECT_EQ(w.conn->close_code(), 0);
  for (int i = 0; i < 3; ++i) app_->hub().OnText(w.id, "{not json");
  ASSERT_TRUE(w.conn->WaitClosed());
  EXPECT_EQ(w.conn->close_code(), proto::kCloseProtocolViolation);
}

TEST_F(AppTest, MetricsAndOpenApi) {
  Call("GET", "/api/v1/sites");
  Response m = Call("GET", "/metrics", "", false);
  EXPECT_EQ(m.status, 200);
  EXPECT_NE(m.body.find("vigil_http_requests_total{route=\"/api/v1/sites\",method=\"GET\",status=\"200\"} 1"),
            std::string::npos);
  EXPECT_NE(m.body.find("vigil_workers_connected 0"), std::string::npos);
  // The database's WAL and checkpoint counters (the test's database is a file).
  EXPECT_NE(m.body.find("# TYPE vigil_sqlite_wal_frames gauge\nvigil_sqlite_wal_frames "), std::string::npos);
  EXPECT_NE(m.body.find("# TYPE vigil_sqlite_checkpoints_total counter\nvigil_sqlite_checkpoints_total "),
            std::string::npos);
  EXPECT_NE(m.body.find("# TYPE vigil_sqlite_writer_checkpoints_total counter\n"), std::string::npos);

  // The ingest thread's time per batch, wall clock and CPU, once an event is in.
  auto w = Connect("w1", 4, {{"cam-a", "a", "mock://a"}});
  ASSERT_FALSE(w.conn->WaitForType("welcome").is_null());
  proto::Event e = MakeEvent("w1", "cam-a", 4);
  app_->hub().OnText(w.id, proto::Encode(e));
  ASSERT_FALSE(w.conn->WaitForType("ack").is_null());
  auto value = [&](const std::string& name) {
    const std::string key = "\n" + name + " ";
    auto at = m.body.find(key);
    return at == std::string::npos ? -1.0 : std::atof(m.body.c_str() + at + key.size());
  };
  // The ingest thread records a batch's times just after sending its acks.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  do {
    m = Call("GET", "/metrics", "", false);
    if (value("vigil_ingest_batch_cpu_seconds_count") >= 1) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  } while (std::chrono::steady_clock::now() < deadline);
  EXPECT_NE(m.body.find("# TYPE vigil_ingest_batch_cpu_seconds histogram\n"), std::string::npos);
  EXPECT_GE(value("vigil_ingest_batch_cpu_seconds_count"), 1);
  EXPECT_EQ(value("vigil_ingest_batch_cpu_seconds_count"), value("vigil_ingest_batch_seconds_count"));
  EXPECT_GT(value("vigil_ingest_batch_cpu_seconds_sum"), 0);
  // One thread's CPU time cannot much exceed the wall time it ran in.
  EXPECT_LE(value("vigil_ingest_batch_cpu_seconds_sum"), value("vigil_ingest_batch_seconds_sum") + 0.001);

  Json doc = CallJson("GET", "/api/v1/openapi.json", "", 200);
  EXPECT_EQ(doc["openapi"], "3.0.3");
  EXPECT_TRUE(doc["paths"].contains("/api/v1/staff/{id}/faces"));
  EXPECT_TRUE(doc["paths"]["/api/v1/recognize"].contains("post"));
}

}  // namespace
}  // namespace vigil::api
