// Pure logic of the API server: router, auth, camera assignment, static files.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "api/auth.h"
#include "api/camera_assigner.h"
#include "api/router.h"
#include "api/static_files.h"
#include "api_test_helpers.h"

namespace vigil::api {
namespace {

Response Ok(const Request&) { return JsonResponse(200, Json::object()); }

TEST(Router, MatchesPatternsAndExtractsParams) {
  Router r;
  r.Add("GET", "/api/v1/cameras", Ok);
  r.Add("GET", "/api/v1/cameras/{id}", Ok);
  r.Add("DELETE", "/api/v1/cameras/{id}", Ok);
  r.Add("DELETE", "/api/v1/staff/{id}/faces/{face_id}", Ok);
  auto m = r.Find("GET", "/api/v1/cameras/abc");
  ASSERT_EQ(m.status, 200);
  EXPECT_EQ(m.params.at("id"), "abc");
  EXPECT_EQ(m.pattern, "/api/v1/cameras/{id}");
  m = r.Find("DELETE", "/api/v1/staff/s1/faces/f2");
  ASSERT_EQ(m.status, 200);
  EXPECT_EQ(m.params.at("id"), "s1");
  EXPECT_EQ(m.params.at("face_id"), "f2");
}

TEST(Router, UnknownIs404WrongMethodIs405WithAllow) {
  Router r;
  r.Add("GET", "/api/v1/cameras/{id}", Ok);
  r.Add("DELETE", "/api/v1/cameras/{id}", Ok);
  EXPECT_EQ(r.Find("GET", "/api/v1/nothing").status, 404);
  EXPECT_EQ(r.Find("GET", "/api/v1/cameras/a/b").status, 404);
  auto m = r.Find("POST", "/api/v1/cameras/x");
  EXPECT_EQ(m.status, 405);
  EXPECT_EQ(m.allow, "GET, DELETE");
  EXPECT_EQ(r.Find("HEAD", "/api/v1/cameras/x").status, 200);
}

TEST(Auth, ConstantTimeCompareAndBearer) {
  EXPECT_TRUE(SecretEquals("abc", "abc"));
  EXPECT_FALSE(SecretEquals("abc", "abd"));
  EXPECT_FALSE(SecretEquals("abc", "abcd"));
  EXPECT_FALSE(SecretEquals("", "x"));
  Request r;
  r.headers["authorization"] = "Bearer tok en";
  EXPECT_EQ(BearerToken(r).value(), "tok en");
  r.headers["authorization"] = "Basic abc";
  EXPECT_FALSE(BearerToken(r).has_value());
}

TEST(Auth, AdminTokenAndSessionCookie) {
  Authenticator auth("admin-secret-1", "worker-secret-1");
  Request r;
  EXPECT_FALSE(auth.IsAdmin(r, 1000));
  r.headers["authorization"] = "Bearer admin-secret-1";
  EXPECT_TRUE(auth.IsAdmin(r, 1000));
  EXPECT_FALSE(auth.IsWorker(r));
  r.headers["authorization"] = "Bearer worker-secret-1";
  EXPECT_TRUE(auth.IsWorker(r));
  EXPECT_FALSE(auth.IsAdmin(r, 1000));

  std::string session = auth.IssueSession(1000);
  Request c;
  c.headers["cookie"] = "a=b; vigil_session=" + session + "; x=y";
  EXPECT_TRUE(auth.IsAdmin(c, 2000));
  EXPECT_FALSE(auth.IsAdmin(c, 1000 + kSessionLifetimeMs + 1));  // expired
  std::string forged = session;
  forged[forged.size() - 1] = forged.back() == 'a' ? 'b' : 'a';
  c.headers["cookie"] = "vigil_session=" + forged;
  EXPECT_FALSE(auth.IsAdmin(c, 2000));
  // A cookie from another admin token is worthless.
  Authenticator other("admin-secret-2", "w");
  c.headers["cookie"] = "vigil_session=" + other.IssueSession(1000);
  EXPECT_FALSE(auth.IsAdmin(c, 2000));
  EXPECT_NE(Authenticator::SessionCookieHeader("v", false).find("HttpOnly; SameSite=Strict"), std::string::npos);
}

TEST(Auth, GeneratedSecretIsKeptWithMode0600) {
  testing::TempDir dir;
  std::string path = dir.path() + "/admin_token";
  bool created = false;
  auto a = LoadOrCreateSecret(path, "", &created);
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_TRUE(created);
  EXPECT_EQ(a->size(), 64u);
  auto perms = std::filesystem::status(path).permissions();
  EXPECT_EQ(perms & std::filesystem::perms::all, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  auto b = LoadOrCreateSecret(path, "", &created);
  EXPECT_FALSE(created);
  EXPECT_EQ(*a, *b);
  EXPECT_EQ(*LoadOrCreateSecret(path, "configured-value", &created), "configured-value");
}

std::map<std::string, int> Loads(const std::map<std::string, std::optional<std::string>>& a) {
  std::map<std::string, int> n;
  for (const auto& [c, w] : a) {
    if (w) ++n[*w];
  }
  return n;
}

TEST(CameraAssigner, EveryEnabledCameraToExactlyOneWorkerLeastLoaded) {
  std::vector<AssignableCamera> cams;
  for (int i = 0; i < 7; ++i) cams.push_back({"c" + std::to_string(i), true, false, std::nullopt});
  cams.push_back({"off", false, false, std::string("w1")});
  auto a = AssignCameras(cams, {{"w1", 0}, {"w2", 0}, {"w3", 0}});
  EXPECT_FALSE(a.at("off").has_value());
  auto n = Loads(a);
  EXPECT_EQ(n["w1"] + n["w2"] + n["w3"], 7);
  for (auto& [w, k] : n) EXPECT_TRUE(k == 2 || k == 3) << w;
}

TEST(CameraAssigner, RespectsMaxCamerasAndPins) {
  std::vector<AssignableCamera> cams = {{"p1", true, true, std::string("w1")},
                                        {"p2", true, true, std::string("w9")},  // pinned to an offline worker
                                        {"a", true, false, std::nullopt},
                                        {"b", true, false, std::nullopt},
                                        {"c", true, false, std::nullopt}};
  auto a = AssignCameras(cams, {{"w1", 1}, {"w2", 1}});
  EXPECT_EQ(a.at("p1"), "w1");
  EXPECT_FALSE(a.at("p2").has_value());
  auto n = Loads(a);
  EXPECT_EQ(n["w1"], 1);
  EXPECT_EQ(n["w2"], 1);  // two of a, b, c stay unassigned: no room
}

TEST(CameraAssigner, StableThenRebalancesWhenAWorkerJoins) {
  std::vector<AssignableCamera> cams;
  for (int i = 0; i < 4; ++i) cams.push_back({"c" + std::to_string(i), true, false, std::string("w1")});
  auto a = AssignCameras(cams, {{"w1", 0}});
  for (auto& [c, w] : a) EXPECT_EQ(w, "w1");
  auto b = AssignCameras(cams, {{"w1", 0}, {"w2", 0}});
  auto n = Loads(b);
  EXPECT_EQ(n["w1"], 2);
  EXPECT_EQ(n["w2"], 2);
  // Worker w1 leaves: everything moves to w2.
  std::vector<AssignableCamera> after;
  for (auto& c : cams) after.push_back({c.id, true, false, b.at(c.id)});
  auto c2 = AssignCameras(after, {{"w2", 0}});
  for (auto& [c, w] : c2) EXPECT_EQ(w, "w2");
}

TEST(StaticFiles, ServesFilesAndRefusesTraversal) {
  testing::TempDir dir;
  std::filesystem::create_directories(dir.path() + "/web/js");
  std::ofstream(dir.path() + "/web/index.html") << "<html>hi</html>";
  std::ofstream(dir.path() + "/web/js/app.js") << "console.log(1)";
  std::ofstream(dir.path() + "/secret.txt") << "secret";
  StaticFiles files(dir.path() + "/web");
  Request r;
  r.method = "GET";
  r.path = "/";
  auto res = files.Serve(r);
  EXPECT_EQ(res.status, 200);
  EXPECT_EQ(res.body, "<html>hi</html>");
  EXPECT_EQ(res.content_type, "text/html; charset=utf-8");
  r.path = "/js/app.js";
  res = files.Serve(r);
  EXPECT_EQ(res.status, 200);
  EXPECT_EQ(res.content_type, "text/javascript; charset=utf-8");
  for (const char* bad : {"/../secret.txt", "/js/../../secret.txt", "/..", "/.hidden", "/js//app.js", "/nope.html"}) {
    r.path = bad;
    EXPECT_EQ(files.Serve(r).status, 404) << bad;
  }
  std::filesystem::create_symlink(dir.path() + "/secret.txt", dir.path() + "/web/link.txt");
  r.path = "/link.txt";
  EXPECT_EQ(files.Serve(r).status, 404);
}

TEST(HttpTypes, QueryAndPercentDecoding) {
  bool malformed = false;
  auto q = ParseQuery("a=1&b=x%20y&c=a+b&=skip", &malformed);
  EXPECT_EQ(q["a"], "1");
  EXPECT_EQ(q["b"], "x y");
  EXPECT_EQ(q["c"], "a b");
  EXPECT_FALSE(malformed);
  q = ParseQuery("a=1&bad=%zz", &malformed);
  EXPECT_EQ(q.count("bad"), 0u);
  EXPECT_TRUE(malformed);  // the caller answers 400 (AppTest.MalformedQueryEscapeIs400)
  malformed = false;
  ParseQuery("k%4=v", &malformed);
  EXPECT_TRUE(malformed);
  std::string out;
  EXPECT_FALSE(PercentDecode("%4", false, &out));
  EXPECT_TRUE(PercentDecode("/a%2Fb", false, &out));
  EXPECT_EQ(out, "/a/b");
}

}  // namespace
}  // namespace vigil::api
