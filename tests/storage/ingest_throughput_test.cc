// Ingest throughput measurement. Disabled by default (timing on a shared
// machine is not a pass/fail signal); run it with
//   storage_test --gtest_also_run_disabled_tests --gtest_filter='*Throughput*'
// It prints events/s for batched and single-event ingestion of 512-d
// embeddings from 100 simulated workers, 1,000 distinct people, and then
// for batches in which every face is a new person (as with random mock
// embeddings).
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <random>
#include <unordered_map>

#include "core/uuid.h"
#include "storage/event_ingestor.h"
#include "storage/storage_test_helpers.h"

namespace vigil::storage {
namespace {

// Recognises a person by the integer stored in embedding[0], so the index
// costs O(1) and the measurement is of the storage path alone.
class KeyedIndex final : public CustomerIndex {
 public:
  std::optional<CustomerMatch> Match(const std::string&, const std::vector<float>& e, double) const override {
    auto it = by_person_.find(static_cast<int>(e[0]));
    if (it == by_person_.end()) return std::nullopt;
    return CustomerMatch{it->second, 0.95};
  }
  void Apply(const IndexDelta& delta) override {
    for (const auto& e : delta.added) by_person_[static_cast<int>(e.embedding[0])] = e.customer_id;
  }

 private:
  std::unordered_map<int, std::string> by_person_;
};

class ThroughputTest : public testing::RepoTest {};

TEST_F(ThroughputTest, DISABLED_IngestThroughput) {
  KeyedIndex index;
  IngestOptions opts;
  opts.customer_match_threshold = 0.9;  // in-batch matching uses cosine; persons are far apart
  EventIngestor ingestor(*repo_, &index, clock_, opts);
  std::mt19937 rng(7);
  bool everyone_new = false;  // second scenario: every face is a new person (random embeddings)
  auto make = [&](int i) {
    IngestEvent e;
    e.event_id = NewUuid();
    e.worker_id = "worker-" + std::to_string(i % 100);
    e.camera_id = "cam-" + std::to_string(i % 100);
    e.site_id = "site-" + std::to_string(i % 5);
    e.captured_at = 1'790'000'000'000 + i * 10;
    e.model = "sface";
    const int person = everyone_new ? 1000 + i : static_cast<int>(rng() % 1000);
    e.embedding.assign(512, 0.f);
    e.embedding[0] = static_cast<float>(person);
    e.embedding[1 + static_cast<size_t>(person) % 500] = 1000.f;  // distinct directions per person
    e.quality = static_cast<double>(rng() % 100) / 100.0;
    e.snapshot_path = "snapshots/" + e.event_id + ".jpg";
    e.snapshot_size = 4000;
    return e;
  };

  for (int batch_size : {1, 50, 200, -200}) {
    everyone_new = batch_size < 0;
    batch_size = std::abs(batch_size);
    const int total = batch_size == 1 ? 2000 : 20000;
    std::vector<std::vector<IngestEvent>> batches;
    for (int i = 0; i < total; i += batch_size) {
      std::vector<IngestEvent> b;
      for (int j = 0; j < batch_size; ++j) b.push_back(make(i + j));
      batches.push_back(std::move(b));
    }
    const auto start = std::chrono::steady_clock::now();
    const std::clock_t cpu_start = std::clock();
    for (const auto& b : batches) {
      auto r = ingestor.IngestBatch(b);
      ASSERT_TRUE(r.ok()) << r.status().ToString();
    }
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    // CPU time matters more than wall time on a shared machine: it says how
    // many events/s one core could take.
    const double cpu = static_cast<double>(std::clock() - cpu_start) / CLOCKS_PER_SEC;
    std::printf("batch=%d people=%s events=%d seconds=%.2f events_per_s=%.0f cpu_us_per_event=%.1f\n", batch_size,
                everyone_new ? "all-new" : "1000", total, s, total / s, 1e6 * cpu / total);
  }
  std::printf("events=%lld customers=%lld visits=%lld\n", static_cast<long long>(*repo_->CountRows("events")),
              static_cast<long long>(*repo_->CountRows("customers")),
              static_cast<long long>(*repo_->CountRows("visits")));
}

}  // namespace
}  // namespace vigil::storage
