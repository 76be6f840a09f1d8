// The load generator against an in-process server on port 0: every event sent
// is acked exactly once and stored. Prints the throughput it saw.
#include <gtest/gtest.h>

#include <cstdlib>
#include <iostream>
#include <memory>

#include "api/load_generator.h"
#include "api/server.h"
#include "api_test_helpers.h"
#include "time_scale.h"

namespace vigil::api {
namespace {

// Under TSan the server acks ~20x fewer events per second, so the offered
// load shrinks and the wait for the last acks grows by the time scale.
using test::TimeScale;

// A real server on port 0 (tests may adjust its config first) and load
// options aimed at it.
class LoadGeneratorTest : public ::testing::Test {
 protected:
  void StartServer(ApiConfig cfg) {
    auto server = ApiServer::Create(cfg, clock_, nullptr);
    ASSERT_TRUE(server.ok()) << server.status().ToString();
    server_ = std::move(*server);
    ASSERT_TRUE(server_->Start().ok());
  }
  void TearDown() override {
    if (server_) {
      server_->RequestStop();
      server_->Wait();
    }
  }
  LoadOptions Options(int workers, double rate, double drain_s, int people) const {
    LoadOptions o;
    o.port = server_->port();
    o.worker_key = testing::kWorkerKey;
    o.workers = workers;
    o.rate = rate / TimeScale();
    o.duration_s = 2;
    o.drain_s = drain_s * TimeScale();
    o.people = people;
    return o;
  }
  int64_t StoredEvents() { return *server_->app().repo().CountRows("events"); }

  testing::TempDir dir_;
  SystemClock clock_;
  std::unique_ptr<ApiServer> server_;
};

TEST_F(LoadGeneratorTest, AllEventsAckedAndStored) {
  StartServer(testing::TestConfig(dir_.path()));
  if (HasFatalFailure()) return;
  const LoadOptions o = Options(20, 2000, 10, 200);
  auto r = RunLoad(o);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  std::cout << "loadgen: workers=" << r->workers_connected << " sent=" << r->events_sent << " acked=" << r->events_acked
            << " rate=" << r->acked_per_second << "/s p50=" << r->p50_ms << "ms p99=" << r->p99_ms << "ms\n";
  EXPECT_EQ(r->workers_connected, o.workers);
  EXPECT_GT(r->events_sent, 0);
  EXPECT_EQ(r->events_acked, r->events_sent);
  EXPECT_EQ(StoredEvents(), r->events_sent);
}

// Back-pressure over real sockets: with a tiny pause mark the API stops and
// resumes reading worker sockets many times during the run, and still every
// event is acked once and stored once.
TEST_F(LoadGeneratorTest, TinyIngestQueueMarksPauseReadsAndLoseNothing) {
  ApiConfig cfg = testing::TestConfig(dir_.path());
  cfg.ingest_pause_queue = 2;
  cfg.ingest_resume_queue = 1;
  StartServer(cfg);
  if (HasFatalFailure()) return;
  const LoadOptions o = Options(8, 3000, 20, 100);
  auto r = RunLoad(o);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const int64_t pauses = server_->app().metrics().Counter("vigil_worker_read_pauses_total");
  std::cout << "loadgen with pause mark 2: sent=" << r->events_sent << " acked=" << r->events_acked
            << " read pauses=" << pauses << " p99=" << r->p99_ms << "ms\n";
  EXPECT_GT(pauses, 0) << "a queue of 2 events should have paused reading";
  EXPECT_EQ(r->workers_connected, o.workers);
  EXPECT_EQ(r->reconnects, 0) << "a paused worker must not be dropped";
  EXPECT_EQ(r->events_acked, r->events_sent);
  EXPECT_EQ(StoredEvents(), r->events_sent);
}

}  // namespace
}  // namespace vigil::api
