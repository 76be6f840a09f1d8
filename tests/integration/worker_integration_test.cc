// End-to-end tests of `vigil worker` against a real `vigil api` (MOCK_MODE):
// registration and camera sharing, outbound-only sockets, events becoming
// staff sightings and visits, exactly-once storage across an API crash,
// spool replay after a worker crash, clean shutdown, and a wrong key.
//
// Every wait is on a condition with a deadline; each test stays under 60 s.
#include <gtest/gtest.h>
#include <signal.h>

#include <filesystem>
#include <fstream>
#include <opencv2/imgcodecs.hpp>
#include <set>

#include "core/json_util.h"
#include "integration/worker_process_helpers.h"
#include "vision/mock_faces.h"

namespace vigil::worker_it {
namespace {

using namespace std::chrono_literals;

constexpr const char* kAdminToken = "admin-token-for-tests";
constexpr const char* kWorkerKey = "worker-key-for-tests";

class WorkerIntegrationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(dir_.path().empty());
    std::filesystem::create_directories(data_dir());
    StartApi(0);
  }

  std::string data_dir() const { return dir_.path() + "/api-data"; }
  std::string state_dir() const { return dir_.path() + "/worker-state"; }

  // Starts `vigil api` on `port` (0: any) and waits until it listens.
  void StartApi(int port) {
    std::map<std::string, std::string> env = {
        {"API_PORT", std::to_string(port)}, {"API_BIND", "127.0.0.1"},      {"VIGIL_DATA_DIR", data_dir()},
        {"API_ADMIN_TOKEN", kAdminToken},   {"WORKER_API_KEY", kWorkerKey}, {"MOCK_MODE", "true"},
        {"HEARTBEAT_INTERVAL", "1s"},       {"LOG_LEVEL", "info"},
    };
    std::string log = dir_.path() + "/api-" + std::to_string(++api_starts_) + ".log";
    const ApiStartup started = worker_it::StartApi(api_, env, log, 20s);
    VIGIL_ASSERT_API_UP(started);
    port_ = started.port;
  }

  Process StartWorker(const std::string& id, std::map<std::string, std::string> extra = {}) {
    extra.try_emplace("TRACK_MAX_AGE", "10s");
    extra.try_emplace("WORKER_SHUTDOWN_DEADLINE", "5s");
    return StartMockWorker(port_, kWorkerKey, id, state_dir(),
                           dir_.path() + "/" + id + "-" + std::to_string(++worker_starts_) + ".log", extra);
  }

  Json Workers() { return ListWorkers(port_, kAdminToken); }

  bool WorkerStatus(const std::string& id, const std::string& status) {
    return WorkerById(port_, kAdminToken, id).value("status", "") == status;
  }

  Json Counters(const std::string& id) { return SpoolCounters(state_dir(), id); }

  std::vector<Json> Events() { return ListAll(port_, "/api/v1/events", kAdminToken); }

  ScratchDir dir_;
  Process api_;
  int port_ = 0;
  int api_starts_ = 0;
  int worker_starts_ = 0;
};

TEST_F(WorkerIntegrationTest, ThreeWorkersRegisterShareCamerasAndListenOnNothing) {
  for (int i = 0; i < 3; ++i) {
    Json cam = {{"name", "door-" + std::to_string(i)}, {"url", "mock://shared-" + std::to_string(i)}};
    ASSERT_EQ(Http(port_, "POST", "/api/v1/cameras", kAdminToken, cam.dump()).status, 201);
  }
  std::vector<Process> workers;
  for (const char* id : {"worker-001", "worker-002", "worker-003"}) workers.push_back(StartWorker(id));
  ASSERT_TRUE(WaitUntil(
      [&] {
        return WorkerStatus("worker-001", "online") && WorkerStatus("worker-002", "online") &&
               WorkerStatus("worker-003", "online");
      },
      30s))
      << Workers().dump();
  // The three API cameras are spread over the workers, not piled on one.
  std::set<std::string> owners;
  ASSERT_TRUE(WaitUntil(
      [&] {
        owners.clear();
        int assigned = 0;
        for (const auto& c : ListAll(port_, "/api/v1/cameras", kAdminToken)) {
          if (c.value("url", "").rfind("mock://shared-", 0) != 0) continue;
          if (c.contains("worker_id") && c["worker_id"].is_string()) {
            owners.insert(c["worker_id"].get<std::string>());
            ++assigned;
          }
        }
        return assigned == 3 && owners.size() >= 2;
      },
      20s));
  // Pure workers: no listening TCP/UDP/Unix socket, from /proc directly and
  // through scripts/check-worker-ports.
  std::string pids;
  for (auto& w : workers) {
    ASSERT_TRUE(w.running()) << w.Log();
    EXPECT_TRUE(ListeningSockets(w.pid()).empty());
    pids += " " + std::to_string(w.pid());
  }
  std::string script = std::string(VIGIL_SOURCE_DIR) + "/scripts/check-worker-ports";
  EXPECT_EQ(std::system((script + pids + " > /dev/null").c_str()), 0);
  // The script does catch a listener: the API holds one.
  EXPECT_NE(std::system((script + " " + std::to_string(api_.pid()) + " > /dev/null").c_str()), 0);
}

TEST_F(WorkerIntegrationTest, EventsBecomeStaffSightingsAndCustomerVisits) {
  // Enroll two of the mock cast as staff.
  for (int person : {0, 1}) {
    Json staff = {{"name", vision::MockPersonName(person)}};
    auto r = Http(port_, "POST", "/api/v1/staff", kAdminToken, staff.dump());
    ASSERT_EQ(r.status, 201) << r.body;
    std::string id = (*r.json())["id"].get<std::string>();
    std::vector<uchar> jpeg;
    ASSERT_TRUE(cv::imencode(".jpg", vision::RenderMockFacePhoto(person), jpeg));
    auto e = Http(port_, "POST", "/api/v1/staff/" + id + "/faces", kAdminToken, std::string(jpeg.begin(), jpeg.end()),
                  "image/jpeg");
    ASSERT_EQ(e.status, 201) << e.body;
  }
  auto w = StartWorker("worker-events");
  bool staff_seen = false, customer_seen = false;
  ASSERT_TRUE(WaitUntil(
      [&] {
        for (const auto& e : Events()) {
          if (e.contains("staff_id") && e["staff_id"].is_string()) staff_seen = true;
          if (e.contains("customer_id") && e["customer_id"].is_string()) customer_seen = true;
        }
        return staff_seen && customer_seen;
      },
      45s))
      << "staff=" << staff_seen << " customer=" << customer_seen << "\n"
      << w.Log();
  EXPECT_TRUE(WaitUntil([&] { return !ListAll(port_, "/api/v1/visits", kAdminToken).empty(); }, 10s));
  EXPECT_FALSE(ListAll(port_, "/api/v1/customers", kAdminToken).empty());
}

TEST_F(WorkerIntegrationTest, ApiKilledMidStreamEveryEventIsStoredExactlyOnce) {
  auto a = StartWorker("worker-a");
  auto b = StartWorker("worker-b");
  ASSERT_TRUE(WaitUntil([&] { return Events().size() >= 2; }, 30s)) << a.Log();
  int port = port_;
  api_.Signal(SIGKILL);
  ASSERT_TRUE(api_.Wait(5s).has_value());
  // While the API is down the workers keep creating events into their spools.
  int64_t before = Counters("worker-a").value("created", 0) + Counters("worker-b").value("created", 0);
  ASSERT_TRUE(WaitUntil(
      [&] { return Counters("worker-a").value("created", 0) + Counters("worker-b").value("created", 0) >= before + 2; },
      30s));
  StartApi(port);
  ASSERT_EQ(port_, port);
  // After reconnecting they drain; a clean stop flushes the rest.
  // Their reconnect backoff may be at its 15 s cap by now.
  ASSERT_TRUE(WaitUntil([&] { return WorkerStatus("worker-a", "online") && WorkerStatus("worker-b", "online"); },
                        15s + Scaled(20s)));
  a.Signal(SIGTERM);
  b.Signal(SIGTERM);
  ASSERT_EQ(a.Wait(15s), 0) << a.Log();
  ASSERT_EQ(b.Wait(15s), 0) << b.Log();
  int64_t created = 0, acked = 0, dropped = 0, spooled = 0;
  for (const char* id : {"worker-a", "worker-b"}) {
    Json c = Counters(id);
    created += c.value("created", 0);
    acked += c.value("acked", 0);
    dropped += c.value("dropped", 0);
  }
  spooled = created - acked - dropped;
  EXPECT_EQ(dropped, 0);
  EXPECT_EQ(spooled, 0);
  auto events = Events();
  std::set<std::string> ids;
  for (const auto& e : events) ids.insert(e.value("event_id", e.value("id", "")));
  EXPECT_EQ(ids.size(), events.size()) << "an event was stored twice";
  EXPECT_EQ(static_cast<int64_t>(events.size()), created);
}

TEST_F(WorkerIntegrationTest, WorkerKilledAndRestartedReplaysItsSpool) {
  // No API reachable at first: a port nothing listens on.
  auto w = StartWorker("worker-r", {{"API_URL", "http://127.0.0.1:1"}});
  ASSERT_TRUE(WaitUntil([&] { return Counters("worker-r").value("created", 0) >= 2; }, 40s)) << w.Log();
  w.Signal(SIGKILL);
  ASSERT_TRUE(w.Wait(5s).has_value());
  int64_t spooled = Counters("worker-r").value("created", 0);
  ASSERT_GE(spooled, 2);
  auto again = StartWorker("worker-r");
  ASSERT_TRUE(WaitUntil([&] { return static_cast<int64_t>(Events().size()) >= spooled; }, 30s)) << again.Log();
  again.Signal(SIGTERM);
  ASSERT_EQ(again.Wait(15s), 0);
  Json c = Counters("worker-r");
  EXPECT_EQ(c.value("created", 0), c.value("acked", 0) + c.value("dropped", 0));
  EXPECT_EQ(static_cast<int64_t>(Events().size()), c.value("created", 0));
  EXPECT_NE(again.Log().find("spool recovered"), std::string::npos);
}

TEST_F(WorkerIntegrationTest, SigtermExitsZeroWithinTheDeadlineAndApiShowsOffline) {
  auto w = StartWorker("worker-t", {{"WORKER_SHUTDOWN_DEADLINE", "3s"}});
  ASSERT_TRUE(WaitUntil([&] { return WorkerStatus("worker-t", "online"); }, 20s)) << w.Log();
  auto t0 = std::chrono::steady_clock::now();
  w.Signal(SIGTERM);
  auto rc = w.Wait(8s);
  auto took = std::chrono::steady_clock::now() - t0;
  ASSERT_TRUE(rc.has_value()) << "worker did not exit\n" << w.Log();
  EXPECT_EQ(*rc, 0) << w.Log();
  // The drain deadline, the bounded close handshake after the goodbye, and
  // process start-up and teardown (slow under the sanitizers).
  EXPECT_LT(took, 3s + 2s + Scaled(1s));
  // Offline because it said goodbye, not after three missed heartbeats (the
  // API logs which; a slow sanitized API may take a while to show it).
  EXPECT_TRUE(WaitUntil([&] { return WorkerStatus("worker-t", "offline"); }, Scaled(2s))) << Workers().dump();
  EXPECT_NE(api_.Log().find("worker said goodbye worker_id=worker-t"), std::string::npos) << api_.Log();
  EXPECT_EQ(api_.Log().find("worker missed heartbeats worker_id=worker-t"), std::string::npos) << api_.Log();
  EXPECT_NE(w.Log().find("state draining -> stopped"), std::string::npos) << w.Log();
}

TEST_F(WorkerIntegrationTest, WrongWorkerKeyExitsNonZeroWithAClearMessage) {
  auto w = StartWorker("worker-k", {{"WORKER_API_KEY", "not-the-key"}});
  auto rc = w.Wait(15s);
  ASSERT_TRUE(rc.has_value()) << "worker kept retrying\n" << w.Log();
  EXPECT_NE(*rc, 0);
  EXPECT_NE(w.Log().find("API refused the worker key (401): check WORKER_API_KEY"), std::string::npos) << w.Log();
}

}  // namespace
}  // namespace vigil::worker_it
