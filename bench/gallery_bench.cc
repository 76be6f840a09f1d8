// Gallery search: exact (vectorised scan) and HNSW, 128-D, k = 1.
//
// Two data sets. "random": unit vectors drawn uniformly on the sphere, the
// hardest case for HNSW (no structure, near neighbours barely nearer than the
// rest). "clustered": closer to face embeddings, n/4 identities with 4 noisy
// samples each (same-identity cosine around 0.6), queried with a fresh sample of
// a random identity. HNSW benchmarks report recall@1 against exact search over
// kRecallQueries queries, and the build time (AddBatch, serial).
//
//   ninja -C build-<you> gallery_bench
//   build-<you>/gallery_bench --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
//
// Environment: VIGIL_BENCH_MAX_N (default 1000000) caps the gallery sizes;
// VIGIL_BENCH_HNSW_MAX_N (default 100000) caps the HNSW sizes, since building a
// 1M-vector graph takes long on a small machine. Graphs of 100k and more are
// cached under VIGIL_BENCH_CACHE_DIR (default <build>/bench-cache); see Hnsw().
#include <benchmark/benchmark.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <random>
#include <span>
#include <string>
#include <vector>

#include "gallery/dot_kernels.h"
#include "gallery/exact_index.h"
#include "gallery/hnsw_index.h"

namespace vigil::gallery {
namespace {

constexpr size_t kDim = 128;
constexpr size_t kQueries = 256;
constexpr size_t kRecallQueries = 1000;

size_t EnvSize(const char* name, size_t fallback) {
  const char* v = std::getenv(name);
  return v != nullptr ? static_cast<size_t>(std::strtoull(v, nullptr, 10)) : fallback;
}

std::vector<float> RandomUnitRows(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> rows(n * kDim);
  for (size_t i = 0; i < n; ++i) {
    float* r = rows.data() + i * kDim;
    double s = 0;
    for (size_t j = 0; j < kDim; ++j) {
      r[j] = normal(rng);
      s += double(r[j]) * r[j];
    }
    const float inv = static_cast<float>(1.0 / std::sqrt(s));
    for (size_t j = 0; j < kDim; ++j) r[j] *= inv;
  }
  return rows;
}

// n/4 identity centres; each row is its centre plus Gaussian noise, normalised.
// Queries are further samples of the first kRecallQueries identities (mod n/4).
std::vector<float> ClusteredRows(size_t n, size_t first_sample, uint32_t seed, size_t identities) {
  const std::vector<float> centres = RandomUnitRows(identities, seed);
  std::mt19937 rng(seed + 7 + static_cast<uint32_t>(first_sample));
  std::normal_distribution<float> normal(0.0f, 1.0f / std::sqrt(float(kDim)));
  std::vector<float> rows(n * kDim);
  for (size_t i = 0; i < n; ++i) {
    const float* c = centres.data() + ((first_sample + i) % identities) * kDim;
    float* r = rows.data() + i * kDim;
    double s = 0;
    for (size_t j = 0; j < kDim; ++j) {
      r[j] = c[j] + 0.8f * normal(rng);
      s += double(r[j]) * r[j];
    }
    const float inv = static_cast<float>(1.0 / std::sqrt(s));
    for (size_t j = 0; j < kDim; ++j) r[j] *= inv;
  }
  return rows;
}

std::span<const float> Row(const std::vector<float>& rows, size_t i) {
  return std::span<const float>(rows.data() + i * kDim, kDim);
}

struct Dataset {
  std::vector<float> rows;
  std::vector<std::string> ids;
  std::unique_ptr<ExactIndex> exact;
};

// Built once per size and shared by every benchmark of that size.
Dataset& Data(size_t n, bool clustered = false) {
  static std::map<std::pair<size_t, bool>, std::unique_ptr<Dataset>> cache;
  auto& d = cache[{n, clustered}];
  if (!d) {
    d = std::make_unique<Dataset>();
    d->rows = clustered ? ClusteredRows(n, 0, 1234, std::max<size_t>(n / 4, 1)) : RandomUnitRows(n, 1234);
    d->exact = std::make_unique<ExactIndex>(kDim);
    d->exact->Reserve(n);
    d->ids.reserve(n);
    for (size_t i = 0; i < n; ++i) {
      d->ids.push_back(std::to_string(i));
      (void)d->exact->Upsert(d->ids.back(), "", Row(d->rows, i));
    }
  }
  return *d;
}

const std::vector<float>& Queries() {
  static const std::vector<float> q = RandomUnitRows(kRecallQueries, 99);
  return q;
}

const std::vector<float>& ClusteredQueries(size_t n) {
  static std::map<size_t, std::vector<float>> cache;
  auto& q = cache[n];
  // Fresh samples (a different noise stream) of identities spread over the set.
  if (q.empty()) q = ClusteredRows(kRecallQueries, n, 1234, std::max<size_t>(n / 4, 1));
  return q;
}

struct Graph {
  std::unique_ptr<HnswIndex> index;
  double build_s = 0;              // total insertion time, summed over resumed builds
  std::string error;               // set when the graph is not complete
  std::vector<std::string> truth;  // exact best id per recall query
};

// Where built graphs are kept between runs (the graph files and a ".build_s"
// note of the time the build took). A 1M graph takes an hour or more to build
// on a small machine, so the build is also checkpointed: every kChunk
// insertions it is saved as "<name>.partial" and a later run resumes from
// there (the data are generated from fixed seeds, so they are the same).
// VIGIL_BENCH_HNSW_BUILD_BUDGET_S (default: unlimited) stops a build after
// that many seconds, leaving the checkpoint for the next run.
std::string CacheDir() {
  const char* v = std::getenv("VIGIL_BENCH_CACHE_DIR");
  return v != nullptr && *v != 0 ? std::string(v) : std::string(VIGIL_BENCH_CACHE_DIR);
}

double ReadSeconds(const std::string& path) {
  std::ifstream in(path);
  double s = 0;
  return (in >> s) ? s : 0;
}
void WriteSeconds(const std::string& path, double s) { std::ofstream(path) << s << "\n"; }

Graph& Hnsw(size_t n, bool clustered) {
  static std::map<std::pair<size_t, bool>, std::unique_ptr<Graph>> cache;
  auto& g = cache[{n, clustered}];
  if (g) return *g;
  g = std::make_unique<Graph>();
  HnswOptions opts;  // M 16, ef_construction 200
  const std::string name = std::string(clustered ? "clustered-" : "random-") + std::to_string(n) + "-m" +
                           std::to_string(opts.m) + "-efc" + std::to_string(opts.ef_construction) + ".hnsw";
  std::filesystem::create_directories(CacheDir());
  const std::string done = CacheDir() + "/" + name;
  const std::string partial = done + ".partial";
  auto loaded = HnswIndex::Load(done, kDim, opts);
  if (loaded.ok() && loaded->size() == n) {
    g->index = std::make_unique<HnswIndex>(std::move(*loaded));
    g->build_s = ReadSeconds(done + ".build_s");
  } else {
    Dataset& d = Data(n, clustered);
    auto resumed = HnswIndex::Load(partial, kDim, opts);
    g->index = std::make_unique<HnswIndex>(resumed.ok() ? std::move(*resumed) : HnswIndex(kDim, opts));
    g->build_s = resumed.ok() ? ReadSeconds(partial + ".build_s") : 0;
    const double budget = static_cast<double>(EnvSize("VIGIL_BENCH_HNSW_BUILD_BUDGET_S", 0));
    const size_t kChunk = n >= 500'000 ? 50'000 : n;
    const auto session_start = std::chrono::steady_clock::now();
    if (!g->index->Reserve(n).ok()) std::abort();
    while (g->index->size() < n) {
      const size_t from = g->index->size();
      const size_t count = std::min(kChunk, n - from);
      const auto t0 = std::chrono::steady_clock::now();
      if (!g->index->AddBatch(std::span<const std::string>(d.ids).subspan(from, count), {},
                              std::span<const float>(d.rows).subspan(from * kDim, count * kDim))
               .ok()) {
        std::abort();
      }
      g->build_s += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      std::fprintf(stderr, "hnsw %s: %zu / %zu inserted, %.0f s of build so far\n", name.c_str(), from + count, n,
                   g->build_s);
      if (g->index->size() < n) {
        if (!g->index->Save(partial).ok()) std::abort();
        WriteSeconds(partial + ".build_s", g->build_s);
        const double spent =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - session_start).count();
        if (budget > 0 && spent >= budget) {
          char msg[200];
          std::snprintf(msg, sizeof msg, "build incomplete: %zu of %zu inserted in %.0f s; rerun to resume",
                        g->index->size(), n, g->build_s);
          g->error = msg;
          return *g;
        }
      }
    }
    if (n >= 100'000) {  // small graphs are quicker to rebuild than to cache
      if (!g->index->Save(done).ok()) std::abort();
      WriteSeconds(done + ".build_s", g->build_s);
      std::error_code ec;
      std::filesystem::remove(partial, ec);
      std::filesystem::remove(partial + ".ids", ec);
      std::filesystem::remove(partial + ".build_s", ec);
    }
  }
  Dataset& d = Data(n, clustered);
  const std::vector<float>& queries = clustered ? ClusteredQueries(n) : Queries();
  for (size_t i = 0; i < kRecallQueries; ++i) g->truth.push_back((*d.exact->Search(Row(queries, i), 1))[0].id);
  return *g;
}

void BM_ExactSearch(benchmark::State& state) {
  const auto n = static_cast<size_t>(state.range(0));
  if (n > EnvSize("VIGIL_BENCH_MAX_N", 1'000'000)) {
    state.SkipWithError("size above VIGIL_BENCH_MAX_N");
    return;
  }
  Dataset& d = Data(n);
  size_t i = 0;
  for (auto _ : state) {
    auto r = d.exact->Search(Row(Queries(), i++ % kQueries), 1);
    benchmark::DoNotOptimize(r);
  }
  state.counters["vectors"] = static_cast<double>(n);
  state.SetLabel(KernelIsa());
}
BENCHMARK(BM_ExactSearch)->Arg(1'000)->Arg(10'000)->Arg(100'000)->Arg(1'000'000)->Unit(benchmark::kMicrosecond);

// Best match for a batch of 64 queries, as the API's ingest thread matches a
// batch of events against the customer gallery: one BestMany pass (`multi`
// = 1) against 64 Search(q, 1) calls (`multi` = 0). Time is per batch;
// items_per_second counts queries.
void BM_ExactBestBatch(benchmark::State& state) {
  const auto n = static_cast<size_t>(state.range(0));
  const bool multi = state.range(1) != 0;
  constexpr size_t kBatch = 64;
  Dataset& d = Data(n);
  std::vector<float> batch(Queries().begin(), Queries().begin() + kBatch * kDim);
  for (auto _ : state) {
    if (multi) {
      auto r = d.exact->BestMany(batch, kBatch);
      benchmark::DoNotOptimize(r);
    } else {
      for (size_t q = 0; q < kBatch; ++q) {
        auto r = d.exact->Search(Row(batch, q), 1);
        benchmark::DoNotOptimize(r);
      }
    }
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * kBatch));
  state.SetLabel(KernelIsa());
}
BENCHMARK(BM_ExactBestBatch)->ArgsProduct({{2'500, 10'000, 100'000}, {0, 1}})->Unit(benchmark::kMicrosecond);

// The scoring kernel alone (no top-k selection), to separate its cost from
// the search around it.
void BM_InnerProductsKernel(benchmark::State& state) {
  const auto n = static_cast<size_t>(state.range(0));
  Dataset& d = Data(n);
  std::vector<float> out(n);
  size_t i = 0;
  for (auto _ : state) {
    InnerProducts(d.rows.data(), n, kDim, Row(Queries(), i++ % kQueries).data(), out.data());
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  state.SetLabel(KernelIsa());
}
BENCHMARK(BM_InnerProductsKernel)->Arg(1'000)->Arg(10'000)->Unit(benchmark::kMicrosecond);

void HnswSearch(benchmark::State& state, bool clustered) {
  const auto n = static_cast<size_t>(state.range(0));
  const auto ef = static_cast<size_t>(state.range(1));
  if (n > EnvSize("VIGIL_BENCH_HNSW_MAX_N", 100'000) || n > EnvSize("VIGIL_BENCH_MAX_N", 1'000'000)) {
    state.SkipWithError("size above VIGIL_BENCH_HNSW_MAX_N");
    return;
  }
  Graph& g = Hnsw(n, clustered);
  if (!g.error.empty()) {
    state.SkipWithError(g.error.c_str());
    return;
  }
  const std::vector<float>& queries = clustered ? ClusteredQueries(n) : Queries();
  g.index->SetEf(ef);
  size_t hits = 0;
  for (size_t q = 0; q < kRecallQueries; ++q) {
    hits += (*g.index->Search(Row(queries, q), 1))[0].id == g.truth[q];
  }
  size_t i = 0;
  for (auto _ : state) {
    auto r = g.index->Search(Row(queries, i++ % kQueries), 1);
    benchmark::DoNotOptimize(r);
  }
  state.counters["recall@1"] = static_cast<double>(hits) / kRecallQueries;
  state.counters["build_s"] = g.build_s;
  state.SetLabel(KernelIsa());
}

void BM_HnswSearch(benchmark::State& state) { HnswSearch(state, false); }
BENCHMARK(BM_HnswSearch)
    ->ArgsProduct({{1'000, 10'000, 100'000, 1'000'000}, {64, 128, 256, 512}})
    ->Unit(benchmark::kMicrosecond);

void BM_HnswSearchClustered(benchmark::State& state) { HnswSearch(state, true); }
BENCHMARK(BM_HnswSearchClustered)
    ->ArgsProduct({{10'000, 100'000, 1'000'000}, {16, 32, 64, 128, 256, 384, 512}})
    ->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace vigil::gallery

BENCHMARK_MAIN();
