// No secret in any log line: runs a real `vigil api` and `vigil worker`
// (MOCK_MODE, debug logging, text and JSON formats) with distinctive secret
// values, drives every path that handles them (sign-in right and wrong,
// wrong bearer tokens, a worker with the right key and one with a wrong key),
// then searches both processes' stdout and stderr for each secret and for its
// first 8 characters.
//
// Every wait is on a condition with a deadline; each case stays under 60 s.
#include <gtest/gtest.h>
#include <signal.h>

#include <filesystem>

#include "core/json_util.h"
#include "integration/worker_process_helpers.h"

namespace vigil::worker_it {
namespace {

using namespace std::chrono_literals;

// Distinctive values: any of them (or its first 8 characters) in a log line
// is a leak. The wrong ones matter too: a mistyped key is often a real one.
constexpr const char* kAdminToken = "AdmTokQ7f3c9e1b5d2a4c6e8f0a1b3c5d7e9f21";
constexpr const char* kWorkerKey = "WrkKeyZ4e6a8c0e2b4d6f8a0c2e4a6b8d0f2a4c";
constexpr const char* kWrongToken = "BadTokX2c4e6a8c0e2a4c6e8a0c2e4a6c8e0a2c";
constexpr const char* kWrongKey = "BadKeyJ9d1f3b5d7f9b1d3f5b7d9f1b3d5f7b9d";

class SecretsLogTest : public ::testing::TestWithParam<std::string> {
 protected:
  std::string LogFormat() const { return GetParam(); }

  void StartApi() {
    std::filesystem::create_directories(dir_.path() + "/api-data");
    std::map<std::string, std::string> env = {
        {"API_PORT", "0"},
        {"API_BIND", "127.0.0.1"},
        {"VIGIL_DATA_DIR", dir_.path() + "/api-data"},
        {"API_ADMIN_TOKEN", kAdminToken},
        {"WORKER_API_KEY", kWorkerKey},
        {"MOCK_MODE", "true"},
        {"HEARTBEAT_INTERVAL", "1s"},
        {"LOG_LEVEL", "debug"},
        {"LOG_FORMAT", LogFormat()},
    };
    const ApiStartup started = worker_it::StartApi(api_, env, dir_.path() + "/api.log", 20s);
    VIGIL_ASSERT_API_UP(started);
    port_ = started.port;
  }

  Process StartWorker(const std::string& id, const std::string& key) {
    std::map<std::string, std::string> env = {
        {"API_URL", "http://127.0.0.1:" + std::to_string(port_)},
        {"WORKER_API_KEY", key},
        {"WORKER_ID", id},
        {"MOCK_MODE", "true"},
        {"VIGIL_STATE_DIR", dir_.path() + "/worker-state"},
        {"WORKER_FPS", "8"},
        {"EVENT_COOLDOWN", "1s"},
        {"TRACK_MAX_AGE", "2s"},
        {"WORKER_SHUTDOWN_DEADLINE", "3s"},
        {"LOG_LEVEL", "debug"},
        {"LOG_FORMAT", LogFormat()},
    };
    return Process::Start({VIGIL_BINARY, "worker"}, env, dir_.path() + "/" + id + ".log");
  }

  bool WorkerOnline(const std::string& id) {
    auto j = Http(port_, "GET", "/api/v1/workers", kAdminToken).json();
    if (!j.ok() || !j->contains("items")) return false;
    for (const auto& w : (*j)["items"]) {
      if (w.value("id", "") == id && w.value("status", "") == "online") return true;
    }
    return false;
  }

  static void ExpectNoSecret(const std::string& what, const std::string& log) {
    for (const std::string secret : {kAdminToken, kWorkerKey, kWrongToken, kWrongKey}) {
      EXPECT_EQ(log.find(secret.substr(0, 8)), std::string::npos)
          << what << " logs (a prefix of) secret " << secret.substr(0, 6) << "…:\n"
          << log;
    }
  }

  ScratchDir dir_;
  Process api_;
  int port_ = 0;
};

TEST_P(SecretsLogTest, NeitherProcessLogsASecret) {
  ASSERT_FALSE(dir_.path().empty());
  StartApi();
  if (HasFatalFailure()) return;

  // Sign-in: right, wrong, malformed; bearer: right, wrong, on several routes.
  Json right = {{"token", kAdminToken}}, wrong = {{"token", kWrongToken}};
  EXPECT_EQ(Http(port_, "POST", "/api/v1/session", "", right.dump()).status, 200);
  EXPECT_EQ(Http(port_, "POST", "/api/v1/session", "", wrong.dump()).status, 401);
  EXPECT_EQ(Http(port_, "POST", "/api/v1/session", "", std::string("{\"token\": ") + kWrongToken).status, 400);
  EXPECT_EQ(Http(port_, "GET", "/api/v1/sites", kAdminToken).status, 200);
  EXPECT_EQ(Http(port_, "GET", "/api/v1/sites", kWrongToken).status, 401);
  EXPECT_EQ(Http(port_, "GET", "/api/v1/workers", kWorkerKey).status, 401);  // a worker key is no admin token
  EXPECT_EQ(Http(port_, "GET", "/ws/worker", kWrongKey).status / 100, 4);    // not an upgrade: refused
  EXPECT_EQ(Http(port_, "GET", "/api/v1/nope?token=" + std::string(kWrongToken), kWrongToken).status, 401);

  // A worker with the right key registers; one with a wrong key is refused.
  auto good = StartWorker("worker-good", kWorkerKey);
  ASSERT_TRUE(WaitUntil([&] { return WorkerOnline("worker-good"); }, 30s)) << good.Log();
  auto bad = StartWorker("worker-bad", kWrongKey);
  auto bad_rc = bad.Wait(20s);
  ASSERT_TRUE(bad_rc.has_value()) << "the worker with a wrong key kept retrying\n" << bad.Log();
  EXPECT_NE(*bad_rc, 0);

  good.Signal(SIGTERM);
  EXPECT_EQ(good.Wait(15s), 0) << good.Log();
  api_.Signal(SIGTERM);
  EXPECT_EQ(api_.Wait(15s), 0) << api_.Log();

  std::string api_log = api_.Log(), good_log = good.Log(), bad_log = bad.Log();
  // The logs did record these events (so the search below looks at real output).
  EXPECT_NE(api_log.find("listening"), std::string::npos);
  EXPECT_NE(good_log.find("running"), std::string::npos) << good_log;
  EXPECT_NE(bad_log.find("401"), std::string::npos) << bad_log;
  if (LogFormat() == "json") {
    // Every line is one JSON object, so a secret cannot hide in an unparsed tail.
    std::istringstream lines(api_log);
    std::string line;
    int n = 0;
    while (std::getline(lines, line)) {
      if (line.empty()) continue;
      ++n;
      EXPECT_TRUE(ParseJson(line).ok()) << "not JSON: " << line;
    }
    EXPECT_GT(n, 2);
  }
  ExpectNoSecret("vigil api", api_log);
  ExpectNoSecret("vigil worker (right key)", good_log);
  ExpectNoSecret("vigil worker (wrong key)", bad_log);
}

INSTANTIATE_TEST_SUITE_P(LogFormats, SecretsLogTest, ::testing::Values("text", "json"),
                         [](const auto& param_info) { return param_info.param; });

}  // namespace
}  // namespace vigil::worker_it
