// Storage cost of event ingestion: EventIngestor on a SQLite file database,
// the path the API's ingest thread runs for every worker event, without the
// network and without the customer gallery (a keyed index answers each match
// in O(1), so the figures are of the storage path alone).
//
// Each run starts from an empty database in a fresh temporary directory and
// ingests the same events: 512-D embeddings from 100 workers and cameras at
// 5 sites, a snapshot row each, either 1,000 returning people ("returning")
// or a new person for every face ("all_new"). Batches of 1, 50 and 200 events
// are one transaction each, like the API's ingest batches. The database grows
// during a run, as it does in production.
//
//   ninja -C build-<you> ingest_bench
//   build-<you>/ingest_bench --benchmark_repetitions=3 --benchmark_report_aggregates_only=true
//
// Read `cpu_us_per_event` (the ingesting thread's CPU per event: how many
// events/s one free core could take) and `items_per_second` (events per
// second of wall-clock time). LOG_LEVEL (default warn) sets the log level.
#include <benchmark/benchmark.h>
#include <stdlib.h>
#include <time.h>

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <random>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/clock.h"
#include "core/logging.h"
#include "core/uuid.h"
#include "storage/event_ingestor.h"

namespace vigil::storage {
namespace {

constexpr int kPeople = 1000;
constexpr int kEventsPerRun = 20'000;
constexpr int kSingleEventsPerRun = 2'000;  // one transaction each: slower, fewer

// Recognises a person by the integer stored in embedding[0].
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

class ScratchDir {
 public:
  ScratchDir() {
    std::error_code ec;
    const auto base = std::filesystem::temp_directory_path(ec);
    if (ec) return;  // path() stays empty: the benchmark reports the error
    std::string tmpl = (base / "vigil-ingest-bench-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) != nullptr) path_ = tmpl;
  }
  ~ScratchDir() {
    std::error_code ec;
    if (!path_.empty()) std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

std::vector<std::vector<IngestEvent>> MakeBatches(int total, int batch_size, bool all_new) {
  std::mt19937 rng(7);
  std::vector<std::vector<IngestEvent>> batches;
  std::vector<IngestEvent> batch;
  for (int i = 0; i < total; ++i) {
    IngestEvent e;
    e.captured_at = 1'790'000'000'000 + int64_t{i} * 10;
    e.event_id = NewTimeOrderedUuid(e.captured_at);  // as workers make them
    e.worker_id = "worker-" + std::to_string(i % 100);
    e.camera_id = "cam-" + std::to_string(i % 100);
    e.site_id = "site-" + std::to_string(i % 5);
    e.model = "sface";
    const int person = all_new ? kPeople + i : static_cast<int>(rng() % kPeople);
    e.embedding.assign(512, 0.f);
    e.embedding[0] = static_cast<float>(person);
    e.embedding[1 + static_cast<size_t>(person) % 500] = 1000.f;  // distinct directions per person
    e.quality = static_cast<double>(rng() % 100) / 100.0;
    e.snapshot_path = "snapshots/" + e.event_id + ".jpg";
    e.snapshot_size = 4000;
    batch.push_back(std::move(e));
    if (static_cast<int>(batch.size()) == batch_size) batches.push_back(std::exchange(batch, {}));
  }
  if (!batch.empty()) batches.push_back(std::move(batch));
  return batches;
}

// One run's database, index and ingestor, in a directory removed afterwards
// (members are destroyed in reverse order: the database closes first).
struct Run {
  ScratchDir dir;
  FakeClock clock{1'790'000'000'000};
  RepositoryPtr repo;
  KeyedIndex index;
  std::unique_ptr<EventIngestor> ingestor;

  Status Open() {
    if (dir.path().empty()) return Unavailable("cannot create a temporary directory");
    RepositoryOptions ro;
    ro.clock = &clock;
    VIGIL_ASSIGN_OR_RETURN(repo, OpenRepository("sqlite://" + dir.path() + "/vigil.db", ro));
    IngestOptions io;
    io.customer_match_threshold = 0.9;  // in-batch matching is cosine; persons are far apart
    ingestor = std::make_unique<EventIngestor>(*repo, &index, clock, io);
    return Status::Ok();
  }
};

// Arguments: events per transaction, and 1 when every face is a new person.
void BM_Ingest(benchmark::State& state) {
  const int batch_size = static_cast<int>(state.range(0));
  const bool all_new = state.range(1) != 0;
  const int total = batch_size == 1 ? kSingleEventsPerRun : kEventsPerRun;
  const auto batches = MakeBatches(total, batch_size, all_new);
  int64_t events = 0;
  double cpu_s = 0;
  for (auto _ : state) {
    // A fresh database per run, opened and removed outside the measurement.
    state.PauseTiming();
    auto run = std::make_unique<Run>();
    Status opened = run->Open();
    state.ResumeTiming();
    if (!opened.ok()) {
      state.SkipWithError(opened.ToString().c_str());
      return;
    }

    timespec c0{}, c1{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &c0);
    for (const auto& b : batches) {
      auto r = batch_size == 1 ? run->ingestor->Ingest(b.front()).status() : run->ingestor->IngestBatch(b).status();
      if (!r.ok()) {
        state.SkipWithError(r.ToString().c_str());
        return;
      }
    }
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &c1);
    cpu_s += static_cast<double>(c1.tv_sec - c0.tv_sec) + static_cast<double>(c1.tv_nsec - c0.tv_nsec) / 1e9;
    events += total;

    state.PauseTiming();
    run.reset();  // closing (final checkpoint) and removing the files are not ingestion
    state.ResumeTiming();
  }
  state.SetItemsProcessed(events);
  state.counters["cpu_us_per_event"] = events > 0 ? 1e6 * cpu_s / static_cast<double>(events) : 0;
}
BENCHMARK(BM_Ingest)
    ->ArgNames({"batch", "all_new"})
    ->Args({1, 0})
    ->Args({50, 0})
    ->Args({200, 0})
    ->Args({200, 1})
    ->Iterations(1)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

}  // namespace
}  // namespace vigil::storage

int main(int argc, char** argv) {
  vigil::LogOptions log = vigil::LogOptionsFromEnv();
  if (std::getenv("LOG_LEVEL") == nullptr) log.level = "warn";  // not a line per migration per run
  vigil::InitLogging(log);
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
