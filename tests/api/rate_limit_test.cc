// RateLimiter (token buckets per client, bounded memory) driven by FakeClock,
// the N/unit config parser, and the limits as ApiApp applies them to sign-in
// and /recognize. Also pins two upload rules: the image type comes from the
// bytes (never the Content-Type header) and snapshot paths never come from
// the client.
#include "api/rate_limit.h"

#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <thread>
#include <vector>

#include "api/app.h"
#include "api_test_helpers.h"
#include "core/clock.h"
#include "core/config.h"

namespace vigil::api {
namespace {

using namespace std::chrono_literals;

RateLimitOptions Opts(double burst, double per_second, size_t max_keys = 100) {
  RateLimitOptions o;
  o.rate = RateSpec{burst, per_second};
  o.max_keys = max_keys;
  return o;
}

TEST(RateLimiterTest, AllowsBurstThenRefusesWithRetryAfter) {
  FakeClock clock;
  RateLimiter rl(Opts(3, 1.0), clock);  // 3 at once, one more per second
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(rl.Acquire("10.0.0.1").allowed) << i;
  auto d = rl.Acquire("10.0.0.1");
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.retry_after, 1000ms);
  clock.Advance(400ms);
  d = rl.Acquire("10.0.0.1");
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.retry_after, 600ms);
  clock.Advance(600ms);
  EXPECT_TRUE(rl.Acquire("10.0.0.1").allowed);
  EXPECT_FALSE(rl.Acquire("10.0.0.1").allowed);
}

TEST(RateLimiterTest, RefillIsCappedAtBurst) {
  FakeClock clock;
  RateLimiter rl(Opts(2, 10.0), clock);
  EXPECT_TRUE(rl.Acquire("a").allowed);
  clock.Advance(1h);  // far more than needed: still only `burst` tokens
  EXPECT_TRUE(rl.Acquire("a").allowed);
  EXPECT_TRUE(rl.Acquire("a").allowed);
  EXPECT_FALSE(rl.Acquire("a").allowed);
}

TEST(RateLimiterTest, ClientsHaveSeparateBuckets) {
  FakeClock clock;
  RateLimiter rl(Opts(1, 0.1), clock);
  EXPECT_TRUE(rl.Acquire("10.0.0.1").allowed);
  EXPECT_FALSE(rl.Acquire("10.0.0.1").allowed);
  EXPECT_TRUE(rl.Acquire("10.0.0.2").allowed);
  EXPECT_TRUE(rl.Acquire("::1").allowed);
  EXPECT_EQ(rl.size(), 3u);
}

TEST(RateLimiterTest, RefilledBucketsAreEvicted) {
  FakeClock clock;
  RateLimiter rl(Opts(2, 1.0), clock);  // empty → full in 2 s
  for (int i = 0; i < 50; ++i) rl.Acquire("10.0.0." + std::to_string(i));
  EXPECT_EQ(rl.size(), 50u);
  clock.Advance(1999ms);
  rl.Acquire("other");
  EXPECT_EQ(rl.size(), 51u);  // not yet full: they still carry state
  clock.Advance(1ms);
  rl.Acquire("other");
  EXPECT_EQ(rl.size(), 1u);  // only the one touched within the refill time stays
}

TEST(RateLimiterTest, EvictionLosesNothing) {
  FakeClock clock;
  RateLimiter rl(Opts(2, 1.0), clock);
  EXPECT_TRUE(rl.Acquire("a").allowed);
  EXPECT_TRUE(rl.Acquire("a").allowed);
  clock.Advance(2s);
  rl.Acquire("b");  // evicts a's (now full) bucket
  EXPECT_EQ(rl.size(), 1u);
  // A fresh bucket is exactly what a full one would have allowed: 2, then no.
  EXPECT_TRUE(rl.Acquire("a").allowed);
  EXPECT_TRUE(rl.Acquire("a").allowed);
  EXPECT_FALSE(rl.Acquire("a").allowed);
}

TEST(RateLimiterTest, MemoryIsBoundedUnderManyActiveClients) {
  FakeClock clock;
  RateLimiter rl(Opts(1, 1.0 / 3600, /*max_keys=*/100), clock);  // nothing refills within the test
  for (int i = 0; i < 10000; ++i) {
    rl.Acquire("client-" + std::to_string(i));
    ASSERT_LE(rl.size(), 100u);
  }
  // The most recent clients are still tracked (and limited) ...
  EXPECT_FALSE(rl.Acquire("client-9999").allowed);
  // ... the least recent one was forgotten and gets a fresh bucket.
  EXPECT_TRUE(rl.Acquire("client-0").allowed);
}

TEST(RateLimiterTest, DisabledAllowsEverythingAndTracksNothing) {
  FakeClock clock;
  RateLimiter rl(Opts(0, 0), clock);
  EXPECT_FALSE(rl.enabled());
  for (int i = 0; i < 1000; ++i) ASSERT_TRUE(rl.Acquire("a").allowed);
  EXPECT_EQ(rl.size(), 0u);
}

TEST(RateLimiterTest, CheckRateLimitAnswers429WithRetryAfterAndJson) {
  FakeClock clock;
  RateLimiter rl(Opts(1, 1.0 / 30), clock);  // one per 30 s
  Request req;
  req.remote = "192.0.2.7";
  EXPECT_FALSE(CheckRateLimit(&rl, req, "sign-in").has_value());
  auto r = CheckRateLimit(&rl, req, "sign-in");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 429);
  std::string retry;
  for (const auto& [k, v] : r->headers) {
    if (k == "Retry-After") retry = v;
  }
  EXPECT_EQ(retry, "30");
  auto j = ParseJson(r->body);
  ASSERT_TRUE(j.ok());
  EXPECT_EQ((*j)["error"]["code"], "rate_limited");
  EXPECT_NE((*j)["error"]["message"].get<std::string>().find("sign-in"), std::string::npos);
  EXPECT_FALSE(CheckRateLimit(nullptr, req, "x").has_value());
}

TEST(RateLimiterTest, ConcurrentCallersNeverExceedTheBurst) {
  FakeClock clock;  // frozen: no refill while the threads run
  RateLimiter rl(Opts(100, 1.0), clock);
  std::atomic<int> allowed{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 200; ++i) {
        if (rl.Acquire("same").allowed) ++allowed;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(allowed.load(), 100);
}

TEST(ParseRateVarTest, Forms) {
  auto r = ParseRateVar("X", "10/min");
  ASSERT_TRUE(r.ok());
  EXPECT_DOUBLE_EQ(r->burst, 10);
  EXPECT_DOUBLE_EQ(r->per_second, 10.0 / 60);
  r = ParseRateVar("X", " 5/s ");
  ASSERT_TRUE(r.ok());
  EXPECT_DOUBLE_EQ(r->per_second, 5);
  r = ParseRateVar("X", "100/H");
  ASSERT_TRUE(r.ok());
  EXPECT_DOUBLE_EQ(r->per_second, 100.0 / 3600);
  for (const char* off : {"0", "off", "0/min"}) {
    r = ParseRateVar("X", off);
    ASSERT_TRUE(r.ok()) << off;
    EXPECT_FALSE(r->enabled()) << off;
  }
  for (const char* bad : {"", "10", "ten/min", "10/day", "-1/s", "10/"}) {
    auto b = ParseRateVar("SIGNIN_RATE_LIMIT", bad);
    EXPECT_FALSE(b.ok()) << bad;
    if (!b.ok()) {
      EXPECT_NE(b.status().message().find("SIGNIN_RATE_LIMIT"), std::string::npos);
    }
  }
}

// ---- as ApiApp applies them ----------------------------------------------------

class AppLimitsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ApiConfig c = testing::TestConfig(dir_.path());
    c.signin_rate = RateSpec{3, 3.0 / 60};
    c.recognize_rate = RateSpec{2, 2.0 / 60};
    auto app = ApiApp::Create(c, clock_, nullptr);
    ASSERT_TRUE(app.ok()) << app.status().ToString();
    app_ = std::move(*app);
    ASSERT_TRUE(app_->Start().ok());
  }
  void TearDown() override {
    if (app_) app_->Shutdown();
  }
  Response Call(const std::string& method, const std::string& target, const std::string& body, bool auth,
                const std::string& remote, const std::string& content_type = "") {
    Request r = testing::MakeRequest(method, target, body, auth);
    r.remote = remote;
    if (!content_type.empty()) r.headers["content-type"] = content_type;
    return app_->Handle(std::move(r));
  }
  static std::string Header(const Response& r, const std::string& name) {
    for (const auto& [k, v] : r.headers) {
      if (k == name) return v;
    }
    return "";
  }

  testing::TempDir dir_;
  FakeClock clock_;
  std::unique_ptr<ApiApp> app_;
};

TEST_F(AppLimitsTest, SignInIsLimitedPerClientIp) {
  const std::string wrong = R"({"token":"wrong"})";
  const std::string right = std::string(R"({"token":")") + testing::kAdminToken + "\"}";
  for (int i = 0; i < 3; ++i) EXPECT_EQ(Call("POST", "/api/v1/session", wrong, false, "198.51.100.1").status, 401);
  // Limited now, even with the right token: the guesser learns nothing.
  Response r = Call("POST", "/api/v1/session", right, false, "198.51.100.1");
  EXPECT_EQ(r.status, 429);
  EXPECT_EQ(Header(r, "Retry-After"), "20");
  EXPECT_TRUE(Header(r, "Set-Cookie").empty());
  // Another address is unaffected.
  EXPECT_EQ(Call("POST", "/api/v1/session", right, false, "198.51.100.2").status, 200);
  // A token comes back after 20 s.
  clock_.Advance(20s);
  EXPECT_EQ(Call("POST", "/api/v1/session", right, false, "198.51.100.1").status, 200);
  EXPECT_GE(app_->metrics().Counter("vigil_rate_limited_total"), 1);
}

TEST_F(AppLimitsTest, RecognizeIsLimitedPerClientIp) {
  std::string photo = testing::MockPhotoJpeg(3);
  EXPECT_EQ(Call("POST", "/api/v1/recognize", photo, true, "203.0.113.9").status, 200);
  EXPECT_EQ(Call("POST", "/api/v1/recognize", photo, true, "203.0.113.9").status, 200);
  Response r = Call("POST", "/api/v1/recognize", photo, true, "203.0.113.9");
  EXPECT_EQ(r.status, 429);
  EXPECT_EQ(Header(r, "Retry-After"), "30");
  auto j = ParseJson(r.body);
  ASSERT_TRUE(j.ok());
  EXPECT_EQ((*j)["error"]["code"], "rate_limited");
  EXPECT_EQ(Call("POST", "/api/v1/recognize", photo, true, "203.0.113.10").status, 200);
  // Other admin routes are not limited.
  for (int i = 0; i < 20; ++i) ASSERT_EQ(Call("GET", "/api/v1/sites", "", true, "203.0.113.9").status, 200);
}

TEST_F(AppLimitsTest, UploadTypeComesFromContentNotHeaders) {
  // Claims to be a JPEG, is not: refused.
  EXPECT_EQ(Call("POST", "/api/v1/recognize", "<html>not an image</html>", true, "a", "image/jpeg").status, 415);
  // Is a JPEG, labelled as text: accepted.
  EXPECT_EQ(Call("POST", "/api/v1/recognize", testing::MockPhotoJpeg(3), true, "b", "text/plain").status, 200);
  // Enrollment follows the same rule.
  Response staff = Call("POST", "/api/v1/staff", R"({"name":"Ann"})", true, "c");
  ASSERT_EQ(staff.status, 201);
  std::string id = ParseJson(staff.body)->at("id").get<std::string>();
  EXPECT_EQ(Call("POST", "/api/v1/staff/" + id + "/faces", "GIF89a fake", true, "c", "image/png").status, 415);
}

TEST_F(AppLimitsTest, SnapshotPathsNeverComeFromTheClient) {
  // Plant a file next to the data dir that a traversal would reach.
  std::ofstream(std::filesystem::path(dir_.path()) / "secret.txt") << "do not serve";
  for (const char* id : {"../secret.txt", "..%2Fsecret.txt", "/etc/passwd", "snapshots/../../secret.txt"}) {
    Response r = Call("GET", std::string("/api/v1/snapshots/") + id, "", true, "d");
    EXPECT_NE(r.status, 200) << id;
    EXPECT_EQ(r.body.find("do not serve"), std::string::npos) << id;
  }
}

}  // namespace
}  // namespace vigil::api
