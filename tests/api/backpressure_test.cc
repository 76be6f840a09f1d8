// WorkerHub back-pressure: with the ingest thread held up (a customer index
// whose Match blocks until the test opens a gate), the queue fills, the hub
// tells the transport to stop reading, a paused worker is not timed out for
// its silence, and once the queue drains every reader is resumed and every
// event read is acked exactly once.
#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <map>
#include <mutex>
#include <thread>

#include "api/worker_hub.h"
#include "api_test_helpers.h"
#include "core/uuid.h"
#include "protocol/codec.h"
#include "vision/mock_faces.h"

namespace vigil::api {
namespace {

using testing::FakeConnection;
namespace proto = vigil::protocol;

// Polls `done` until it holds or 20 s pass.
template <class Pred>
bool PollUntil(Pred done) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

// Blocks every Match until Open(); counts calls so the test knows the ingest
// thread is inside a batch.
class GatedIndex final : public storage::CustomerIndex {
 public:
  std::optional<storage::CustomerMatch> Match(const std::string&, const std::vector<float>&, double) const override {
    std::unique_lock lock(mu_);
    ++entered_;
    cv_.notify_all();
    cv_.wait(lock, [&] { return open_; });
    return std::nullopt;
  }
  void Apply(const storage::IndexDelta&) override {}
  void Open() {
    std::lock_guard lock(mu_);
    open_ = true;
    cv_.notify_all();
  }
  bool WaitEntered(std::chrono::milliseconds timeout) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, timeout, [&] { return entered_ > 0; });
  }

 private:
  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  mutable int entered_ = 0;
  bool open_ = false;
};

class BackpressureTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto r = storage::OpenRepository("sqlite://" + dir_.path() + "/vigil.db");
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    repo_ = std::move(*r);
    ingestor_ = std::make_unique<storage::EventIngestor>(*repo_, &index_, clock_, storage::IngestOptions{});
    HubOptions o;
    o.heartbeat_interval = std::chrono::milliseconds(1000);
    o.data_dir = dir_.path();
    o.max_batch = 5;
    o.pause_queue_high = 10;
    o.resume_queue_low = 4;
    hub_ = std::make_unique<WorkerHub>(*repo_, *ingestor_, clock_, metrics_, o);
    ASSERT_TRUE(hub_->Start().ok());
  }
  void TearDown() override {
    index_.Open();
    if (hub_) hub_->Shutdown();
  }

  WorkerHub::SessionId Connect(const std::shared_ptr<FakeConnection>& conn, const std::string& worker_id) {
    auto id = hub_->Open(conn);
    proto::Hello h;
    h.worker_id = worker_id;
    h.host = "test";
    h.pid = 1;
    h.version = "0.1.0";
    h.capabilities = {"mock", "mock", {vision::kMockEmbedderModel}, 1};
    h.cameras = {{worker_id + "-cam", "cam", "mock://" + worker_id}};
    hub_->OnText(id, proto::Encode(h));
    return id;
  }
  std::string SendEvent(WorkerHub::SessionId id, const std::string& worker_id, int person) {
    proto::Event e;
    e.event_id = NewUuid();
    e.worker_id = worker_id;
    e.camera_id = worker_id + "-cam";
    e.captured_at_ms = clock_.NowUnixMs();
    e.track_id = person;
    e.bbox = {10, 10, 100, 100};
    e.det_score = 0.9;
    e.quality = 0.8;
    e.model = vision::kMockEmbedderModel;
    e.embedding = vision::MockPersonVector(person);
    hub_->OnText(id, proto::Encode(e));
    return e.event_id;
  }
  static std::map<std::string, int> Acks(const std::vector<Json>& msgs) {
    std::map<std::string, int> n;
    for (const auto& m : msgs) {
      if (m.value("type", "") != "ack") continue;
      for (const auto& x : m["event_ids"]) ++n[x.get<std::string>()];
    }
    return n;
  }

  testing::TempDir dir_;
  FakeClock clock_;
  Metrics metrics_;
  GatedIndex index_;
  storage::RepositoryPtr repo_;
  std::unique_ptr<storage::EventIngestor> ingestor_;
  std::unique_ptr<WorkerHub> hub_;
};

TEST_F(BackpressureTest, PausesReadingAboveHighWaterAndResumesBelowLowWater) {
  auto c1 = std::make_shared<FakeConnection>();
  auto c2 = std::make_shared<FakeConnection>();
  auto s1 = Connect(c1, "w1");
  auto s2 = Connect(c2, "w2");
  ASSERT_FALSE(c1->WaitForType("welcome").is_null());
  ASSERT_FALSE(c2->WaitForType("welcome").is_null());
  std::atomic<int> resumed1{0}, resumed2{0};

  // The first event reaches the ingest thread, which blocks in Match.
  std::vector<std::string> sent{SendEvent(s1, "w1", 1)};
  ASSERT_TRUE(index_.WaitEntered(std::chrono::seconds(10)));
  // Below the high-water mark the transport keeps reading.
  for (int i = 0; i < 9; ++i) {
    ASSERT_TRUE(hub_->ReadyForMore(s1, [&] { ++resumed1; }));
    sent.push_back(SendEvent(s1, "w1", 2 + i));
  }
  // 9 queued behind the batch in flight, one more reaches 10: pause.
  sent.push_back(SendEvent(s2, "w2", 20));
  EXPECT_FALSE(hub_->ReadyForMore(s2, [&] { ++resumed2; }));
  EXPECT_FALSE(hub_->ReadyForMore(s1, [&] { ++resumed1; }));
  EXPECT_EQ(hub_->PausedSessions(), 2u);
  EXPECT_EQ(metrics_.Counter("vigil_worker_read_pauses_total"), 2);

  // Long silence while paused (the API is not reading): not a dead worker.
  clock_.Advance(std::chrono::seconds(10));
  hub_->CheckHeartbeats();
  EXPECT_TRUE(hub_->IsOnline("w1"));
  EXPECT_TRUE(hub_->IsOnline("w2"));
  EXPECT_EQ(resumed1.load(), 0);
  EXPECT_EQ(resumed2.load(), 0);

  // Let the ingest thread go: the queue drains, both readers resume once.
  index_.Open();
  EXPECT_TRUE(PollUntil([&] { return resumed1.load() > 0 && resumed2.load() > 0; }));
  EXPECT_EQ(resumed1.load(), 1);
  EXPECT_EQ(resumed2.load(), 1);
  EXPECT_EQ(hub_->PausedSessions(), 0u);

  // Resuming counted as a sign of life: no timeout right after it...
  hub_->CheckHeartbeats();
  EXPECT_TRUE(hub_->IsOnline("w1"));
  // ...and the hub reads on below the low-water mark.
  EXPECT_TRUE(hub_->ReadyForMore(s1, [&] { ++resumed1; }));

  // Every event read was committed and acked exactly once.
  auto all_acked = [&] {
    auto a1 = Acks(c1->Messages());
    auto a2 = Acks(c2->Messages());
    for (const auto& id : sent) {
      if (a1[id] + a2[id] != 1) return false;
    }
    return true;
  };
  EXPECT_TRUE(PollUntil(all_acked));
  EXPECT_EQ(*repo_->CountRows("events"), static_cast<int64_t>(sent.size()));

  // A worker that stays silent after resuming still times out.
  clock_.Advance(std::chrono::seconds(4));
  hub_->CheckHeartbeats();
  EXPECT_FALSE(hub_->IsOnline("w1"));
  EXPECT_TRUE(c1->WaitClosed());
  EXPECT_EQ(c1->close_code(), kCloseHeartbeatTimeout);
}

TEST_F(BackpressureTest, ShutdownResumesPausedReaders) {
  auto c1 = std::make_shared<FakeConnection>();
  auto s1 = Connect(c1, "w1");
  ASSERT_FALSE(c1->WaitForType("welcome").is_null());
  SendEvent(s1, "w1", 1);
  ASSERT_TRUE(index_.WaitEntered(std::chrono::seconds(10)));
  for (int i = 0; i < 10; ++i) SendEvent(s1, "w1", 2 + i);
  std::atomic<int> resumed{0};
  ASSERT_FALSE(hub_->ReadyForMore(s1, [&] { ++resumed; }));
  // Shutdown resumes readers before it waits for the queue to drain (the
  // ingest thread is still held here).
  std::thread stopper([&] { hub_->Shutdown(); });
  EXPECT_TRUE(PollUntil([&] { return resumed.load() > 0; }));
  index_.Open();
  stopper.join();
  EXPECT_EQ(resumed.load(), 1);
  EXPECT_EQ(hub_->PausedSessions(), 0u);
  EXPECT_TRUE(hub_->ReadyForMore(s1, [] {}));
}

}  // namespace
}  // namespace vigil::api
