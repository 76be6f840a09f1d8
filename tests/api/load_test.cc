// The load generator against an in-process server on port 0: every event sent
// is acked exactly once and stored. Prints the throughput it saw.
#include <gtest/gtest.h>

#include <iostream>

#include "api/load_generator.h"
#include "api/server.h"
#include "api_test_helpers.h"

namespace vigil::api {
namespace {

TEST(LoadGenerator, AllEventsAckedAndStored) {
  testing::TempDir dir;
  SystemClock clock;
  ApiConfig cfg = testing::TestConfig(dir.path());
  auto server = ApiServer::Create(cfg, clock, nullptr);
  ASSERT_TRUE(server.ok()) << server.status().ToString();
  ASSERT_TRUE((*server)->Start().ok());
  LoadOptions o;
  o.port = (*server)->port();
  o.worker_key = testing::kWorkerKey;
  o.workers = 20;
  o.rate = 2000;
  o.duration_s = 2;
  o.people = 200;
  auto r = RunLoad(o);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  std::cout << "loadgen: workers=" << r->workers_connected << " sent=" << r->events_sent << " acked=" << r->events_acked
            << " rate=" << r->acked_per_second << "/s p50=" << r->p50_ms << "ms p99=" << r->p99_ms << "ms\n";
  EXPECT_EQ(r->workers_connected, o.workers);
  EXPECT_GT(r->events_sent, 0);
  EXPECT_EQ(r->events_acked, r->events_sent);
  EXPECT_EQ(*(*server)->app().repo().CountRows("events"), r->events_sent);
  (*server)->RequestStop();
  (*server)->Wait();
}

}  // namespace
}  // namespace vigil::api
