// Bad input on every REST route (issue #4 acceptance), route by route and
// table-driven so a new route cannot slip through: no or a wrong token (401
// before any work), unknown routes (404), unknown ids (404), wrong methods
// (405 with Allow), malformed JSON, wrong types and missing fields (400), and
// non-image uploads (415). After all of it the server still answers and the
// data is unchanged. Oversized bodies (413) are refused by the transport
// before routing, for every route alike; server_test covers that over a real
// socket.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "api/app.h"
#include "api_test_helpers.h"

namespace vigil::api {
namespace {

using testing::MakeRequest;

class BadInputTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto app = ApiApp::Create(testing::TestConfig(dir_.path()), clock_, nullptr);
    ASSERT_TRUE(app.ok()) << app.status().ToString();
    app_ = std::move(*app);
    ASSERT_TRUE(app_->Start().ok());
    site_ = Create("/api/v1/sites", R"({"name":"Shop"})");
    camera_ = Create("/api/v1/cameras", R"({"name":"door","url":"mock://door"})");
    staff_ = Create("/api/v1/staff", R"({"name":"Ann"})");
  }
  void TearDown() override {
    if (app_) app_->Shutdown();
  }

  Response Call(const std::string& method, const std::string& target, const std::string& body = "",
                bool auth = true) {
    return app_->Handle(MakeRequest(method, target, body, auth));
  }
  std::string Create(const std::string& path, const std::string& body) {
    Response r = Call("POST", path, body);
    EXPECT_EQ(r.status, 201) << path << ": " << r.body;
    auto j = ParseJson(r.body);
    return j.ok() && j->contains("id") ? (*j)["id"].get<std::string>() : std::string();
  }
  // Every error body has the documented shape.
  static void ExpectErrorShape(const Response& r, const std::string& what) {
    auto j = ParseJson(r.body);
    ASSERT_TRUE(j.ok()) << what << ": not JSON: " << r.body;
    ASSERT_TRUE(j->contains("error")) << what << ": " << r.body;
    EXPECT_TRUE((*j)["error"]["code"].is_string()) << what;
    EXPECT_TRUE((*j)["error"]["message"].is_string()) << what;
  }
  // Every /api/v1 route with real ids filled in.
  std::vector<std::pair<std::string, std::string>> ApiRoutes() const {
    return {
        {"GET", "/api/v1/session"},
        {"DELETE", "/api/v1/session"},
        {"GET", "/api/v1/sites"},
        {"POST", "/api/v1/sites"},
        {"GET", "/api/v1/sites/" + site_},
        {"PATCH", "/api/v1/sites/" + site_},
        {"PUT", "/api/v1/sites/" + site_},
        {"DELETE", "/api/v1/sites/" + site_},
        {"GET", "/api/v1/cameras"},
        {"POST", "/api/v1/cameras"},
        {"GET", "/api/v1/cameras/" + camera_},
        {"PATCH", "/api/v1/cameras/" + camera_},
        {"PUT", "/api/v1/cameras/" + camera_},
        {"DELETE", "/api/v1/cameras/" + camera_},
        {"POST", "/api/v1/cameras/" + camera_ + "/stream"},
        {"GET", "/api/v1/cameras/" + camera_ + "/stream.mjpeg"},
        {"GET", "/api/v1/workers"},
        {"GET", "/api/v1/workers/w1"},
        {"GET", "/api/v1/staff"},
        {"POST", "/api/v1/staff"},
        {"GET", "/api/v1/staff/" + staff_},
        {"PATCH", "/api/v1/staff/" + staff_},
        {"PUT", "/api/v1/staff/" + staff_},
        {"DELETE", "/api/v1/staff/" + staff_},
        {"GET", "/api/v1/staff/" + staff_ + "/faces"},
        {"POST", "/api/v1/staff/" + staff_ + "/faces"},
        {"DELETE", "/api/v1/staff/" + staff_ + "/faces/f1"},
        {"GET", "/api/v1/staff/" + staff_ + "/faces/f1/image"},
        {"GET", "/api/v1/customers"},
        {"GET", "/api/v1/customers/c1"},
        {"PATCH", "/api/v1/customers/c1"},
        {"PUT", "/api/v1/customers/c1"},
        {"DELETE", "/api/v1/customers/c1"},
        {"GET", "/api/v1/visits"},
        {"GET", "/api/v1/visits/v1"},
        {"GET", "/api/v1/events"},
        {"GET", "/api/v1/events/e1"},
        {"GET", "/api/v1/reports/visitors"},
        {"POST", "/api/v1/recognize"},
        {"GET", "/api/v1/snapshots/s1"},
        {"GET", "/api/v1/openapi.json"},
    };
  }
  void ExpectDataIntact() {
    auto site = ParseJson(Call("GET", "/api/v1/sites/" + site_).body);
    ASSERT_TRUE(site.ok());
    EXPECT_EQ((*site)["name"], "Shop");
    auto cam = ParseJson(Call("GET", "/api/v1/cameras/" + camera_).body);
    ASSERT_TRUE(cam.ok());
    EXPECT_EQ((*cam)["name"], "door");
    EXPECT_EQ((*cam)["url"], "mock://door");
    auto staff = ParseJson(Call("GET", "/api/v1/staff/" + staff_).body);
    ASSERT_TRUE(staff.ok());
    EXPECT_EQ((*staff)["name"], "Ann");
    for (const char* list : {"/api/v1/sites", "/api/v1/cameras", "/api/v1/staff"}) {
      auto j = ParseJson(Call("GET", list).body);
      ASSERT_TRUE(j.ok());
      EXPECT_EQ((*j)["items"].size(), 1u) << list;
    }
    EXPECT_EQ(Call("GET", "/healthz", "", false).status, 200);
  }

  testing::TempDir dir_;
  FakeClock clock_;
  std::unique_ptr<ApiApp> app_;
  std::string site_, camera_, staff_;
};

TEST_F(BadInputTest, EveryApiRouteWantsTheToken) {
  for (const auto& [method, path] : ApiRoutes()) {
    // Signing in and out works without a token by design (app.cc).
    if (path == "/api/v1/session" && method != "GET") continue;
    Response none = Call(method, path, R"({"name":"x"})", false);
    EXPECT_EQ(none.status, 401) << method << " " << path;
    ExpectErrorShape(none, method + " " + path);
    Request wrong = MakeRequest(method, path, R"({"name":"x"})", false);
    wrong.headers["authorization"] = "Bearer not-the-admin-token";
    EXPECT_EQ(app_->Handle(wrong).status, 401) << method << " " << path;
    Request basic = MakeRequest(method, path, "", false);
    basic.headers["authorization"] = std::string("Basic ") + testing::kAdminToken;
    EXPECT_EQ(app_->Handle(basic).status, 401) << method << " " << path;
  }
  ExpectDataIntact();  // nothing was deleted or changed by the refused calls
}

TEST_F(BadInputTest, UnknownRoutesAndWrongMethods) {
  for (const char* path : {"/api/v1/nothing", "/api/v1/sites/" "x/extra", "/api/v2/sites", "/api/v1/staff/x/faces/y/z"}) {
    Response r = Call("GET", path);
    EXPECT_EQ(r.status, 404) << path;
    ExpectErrorShape(r, path);
  }
  struct WrongMethod {
    std::string method, path;
  };
  std::vector<WrongMethod> wrong = {
      {"PUT", "/api/v1/sites"},        {"DELETE", "/api/v1/cameras"},      {"PATCH", "/api/v1/staff"},
      {"POST", "/api/v1/customers"},   {"POST", "/api/v1/visits"},         {"DELETE", "/api/v1/events"},
      {"POST", "/api/v1/workers"},     {"GET", "/api/v1/recognize"},       {"POST", "/api/v1/reports/visitors"},
      {"DELETE", "/api/v1/snapshots/s1"}, {"POST", "/api/v1/sites/" + site_}, {"PUT", "/api/v1/staff/" + staff_ + "/faces"},
      {"POST", "/metrics"},            {"DELETE", "/healthz"},             {"POST", "/api/v1/openapi.json"},
  };
  for (const auto& w : wrong) {
    Response r = Call(w.method, w.path);
    EXPECT_EQ(r.status, 405) << w.method << " " << w.path << ": " << r.body;
    bool allow = false;
    for (const auto& [k, v] : r.headers) allow |= (k == "Allow" && !v.empty());
    EXPECT_TRUE(allow) << w.method << " " << w.path;
  }
  ExpectDataIntact();
}

TEST_F(BadInputTest, UnknownIdsAre404) {
  for (const auto& [method, path] : std::vector<std::pair<std::string, std::string>>{
           {"GET", "/api/v1/sites/nope"},
           {"PATCH", "/api/v1/sites/nope"},
           {"DELETE", "/api/v1/sites/nope"},
           {"GET", "/api/v1/cameras/nope"},
           {"PATCH", "/api/v1/cameras/nope"},
           {"DELETE", "/api/v1/cameras/nope"},
           {"POST", "/api/v1/cameras/nope/stream"},
           {"GET", "/api/v1/workers/nope"},
           {"GET", "/api/v1/staff/nope"},
           {"PATCH", "/api/v1/staff/nope"},
           {"DELETE", "/api/v1/staff/nope"},
           {"GET", "/api/v1/staff/nope/faces"},
           {"POST", "/api/v1/staff/nope/faces"},
           {"DELETE", "/api/v1/staff/" + staff_ + "/faces/nope"},
           {"GET", "/api/v1/staff/" + staff_ + "/faces/nope/image"},
           {"GET", "/api/v1/customers/nope"},
           {"PATCH", "/api/v1/customers/nope"},
           {"DELETE", "/api/v1/customers/nope"},
           {"GET", "/api/v1/visits/nope"},
           {"GET", "/api/v1/events/nope"},
           {"GET", "/api/v1/snapshots/nope"},
       }) {
    // A valid body for the writing routes, so only the id is wrong.
    std::string body = method == "PATCH" ? R"({"name":"Zed"})"
                       : path.ends_with("/stream") ? R"({"action":"start"})"
                                                   : "";
    Response r = Call(method, path, body);
    EXPECT_EQ(r.status, 404) << method << " " << path << ": " << r.body;
    ExpectErrorShape(r, method + " " + path);
  }
  ExpectDataIntact();
}

TEST_F(BadInputTest, MalformedJsonWrongTypesAndMissingFields) {
  struct Case {
    std::string method, path, body;
  };
  std::vector<std::string> json_routes_post = {"/api/v1/sites", "/api/v1/cameras", "/api/v1/staff"};
  std::vector<std::pair<std::string, std::string>> json_routes_update = {
      {"PATCH", "/api/v1/sites/" + site_},   {"PUT", "/api/v1/sites/" + site_},
      {"PATCH", "/api/v1/cameras/" + camera_}, {"PUT", "/api/v1/cameras/" + camera_},
      {"PATCH", "/api/v1/staff/" + staff_},  {"PUT", "/api/v1/staff/" + staff_},
  };
  const std::vector<std::string> malformed = {"{", "{\"name\":", "not json", "{\"name\":\"x\"}}", "\xff\xfe{}", "[]",
                                              "\"a string\"", "42", "null"};
  std::vector<Case> cases;
  for (const auto& p : json_routes_post) {
    for (const auto& b : malformed) cases.push_back({"POST", p, b});
    cases.push_back({"POST", p, ""});                      // missing body
    cases.push_back({"POST", p, "{}"});                    // missing fields
    cases.push_back({"POST", p, R"({"name":5})"});         // wrong type
    cases.push_back({"POST", p, R"({"name":["a"]})"});     // wrong type
    cases.push_back({"POST", p, R"({"name":""})"});        // empty required field
  }
  for (const auto& [m, p] : json_routes_update) {
    for (const auto& b : malformed) cases.push_back({m, p, b});
    cases.push_back({m, p, R"({"name":5})"});
    cases.push_back({m, p, R"({"name":{"first":"x"}})"});
  }
  for (const auto& b : malformed) cases.push_back({"POST", "/api/v1/cameras/" + camera_ + "/stream", b});
  cases.push_back({"POST", "/api/v1/cameras/" + camera_ + "/stream", R"({"action":5})"});
  cases.push_back({"POST", "/api/v1/cameras/" + camera_ + "/stream", "{}"});
  cases.push_back({"POST", "/api/v1/cameras", R"({"name":"door2","url":5})"});
  cases.push_back({"POST", "/api/v1/cameras", R"({"name":"door2"})"});  // url missing
  cases.push_back({"POST", "/api/v1/cameras", R"({"name":"d","url":"mock://d","enabled":"yes"})"});
  cases.push_back({"POST", "/api/v1/cameras", R"({"name":"d","url":"mock://d","site_id":7})"});
  cases.push_back({"POST", "/api/v1/sites", R"({"name":"s","timezone":3})"});
  cases.push_back({"PATCH", "/api/v1/cameras/" + camera_, R"({"fps":"fast"})"});
  cases.push_back({"PATCH", "/api/v1/sites/" + site_, R"({"timezone":"Not/AZone"})"});
  // Query parameters of the list routes, wrong type or value.
  for (const char* q : {"/api/v1/events?from=soon", "/api/v1/events?limit=many", "/api/v1/events?limit=-3",
                        "/api/v1/visits?to=x", "/api/v1/visits?cursor=bm90LWEtY3Vyc29y" /* base64 of "not-a-cursor" */, "/api/v1/customers?limit=0",
                        "/api/v1/cameras?limit=abc", "/api/v1/reports/visitors?from=tomorrow",
                        "/api/v1/reports/visitors?bucket=century"}) {
    cases.push_back({"GET", q, ""});
  }
  for (const auto& c : cases) {
    Response r = Call(c.method, c.path, c.body);
    EXPECT_EQ(r.status, 400) << c.method << " " << c.path << " body=" << c.body << ": " << r.body;
    ExpectErrorShape(r, c.method + " " + c.path);
  }
  ExpectDataIntact();
}

TEST_F(BadInputTest, NonImageUploadsAre415) {
  const std::vector<std::string> not_images = {
      "",  // empty body
      "plain text",
      "GIF89a\x01\x00\x01\x00",
      "%PDF-1.4\n",
      std::string("\xff\xd8", 2),  // two bytes of a JPEG marker, nothing else
      R"({"image":"base64..."})",
  };
  for (const auto& body : not_images) {
    for (const std::string& path : {"/api/v1/staff/" + staff_ + "/faces", std::string("/api/v1/recognize")}) {
      Response r = Call("POST", path, body);
      EXPECT_TRUE(r.status == 415 || r.status == 400) << path << " body of " << body.size() << " bytes: " << r.status;
      ExpectErrorShape(r, path);
    }
  }
  // A body that starts like a JPEG but does not decode.
  std::string broken = std::string("\xff\xd8\xff\xe0", 4) + std::string(200, 'x');
  for (const std::string& path : {"/api/v1/staff/" + staff_ + "/faces", std::string("/api/v1/recognize")}) {
    Response r = Call("POST", path, broken);
    EXPECT_EQ(r.status, 400) << path << ": " << r.body;
    ExpectErrorShape(r, path);
  }
  auto faces = ParseJson(Call("GET", "/api/v1/staff/" + staff_ + "/faces").body);
  ASSERT_TRUE(faces.ok());
  EXPECT_TRUE((*faces)["items"].empty()) << faces->dump();
  ExpectDataIntact();
}

}  // namespace
}  // namespace vigil::api
