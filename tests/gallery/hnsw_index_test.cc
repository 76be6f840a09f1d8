#include "gallery/hnsw_index.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "gallery/exact_index.h"
#include "gallery/gallery_test_helpers.h"

namespace vigil::gallery {
namespace {

using testing::RandomUnit;

TEST(HnswIndex, RecallAtOneAgainstExactSearch) {
  constexpr size_t kDim = 32, kN = 5000, kQueries = 400;
  std::mt19937 rng(7);
  HnswOptions opts;
  opts.initial_capacity = 16;  // exercise growth
  HnswIndex hnsw(kDim, opts);
  ExactIndex exact(kDim);
  for (size_t i = 0; i < kN; ++i) {
    auto v = RandomUnit(rng, kDim);
    std::string id = "id" + std::to_string(i);
    ASSERT_TRUE(hnsw.Upsert(id, "", v).ok());
    ASSERT_TRUE(exact.Upsert(id, "", v).ok());
  }
  ASSERT_EQ(hnsw.size(), kN);
  hnsw.SetEf(128);
  size_t hits = 0;
  for (size_t t = 0; t < kQueries; ++t) {
    auto q = RandomUnit(rng, kDim);
    auto a = hnsw.Search(q, 1);
    auto e = exact.Search(q, 1);
    ASSERT_TRUE(a.ok() && e.ok());
    ASSERT_EQ(a->size(), 1u);
    if ((*a)[0].id == (*e)[0].id) ++hits;
  }
  const double recall = double(hits) / kQueries;
  EXPECT_GE(recall, 0.99) << "recall@1 " << recall;
}

TEST(HnswIndex, RemoveUpdateAndSlotReuse) {
  constexpr size_t kDim = 32;
  std::mt19937 rng(3);
  HnswIndex index(kDim);
  std::vector<std::vector<float>> vs;
  for (int i = 0; i < 300; ++i) {
    vs.push_back(RandomUnit(rng, kDim));
    ASSERT_TRUE(index.Upsert("id" + std::to_string(i), "owner" + std::to_string(i % 3), vs.back()).ok());
  }
  // Each vector finds itself.
  for (int i = 0; i < 300; i += 17) {
    auto r = index.Search(vs[i], 1);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ((*r)[0].id, "id" + std::to_string(i));
    EXPECT_NEAR((*r)[0].similarity, 1.0, 1e-5);
  }
  // Removed ids never come back.
  ASSERT_TRUE(index.Remove("id5"));
  EXPECT_FALSE(index.Remove("id5"));
  EXPECT_FALSE(index.Contains("id5"));
  auto r = index.Search(vs[5], 300);
  ASSERT_TRUE(r.ok());
  for (const auto& m : *r) EXPECT_NE(m.id, "id5");
  EXPECT_EQ(index.size(), 299u);

  // A new id reuses the freed slot and is found.
  auto fresh = RandomUnit(rng, kDim);
  ASSERT_TRUE(index.Upsert("new", "someone", fresh).ok());
  EXPECT_EQ(index.size(), 300u);
  r = index.Search(fresh, 1);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ((*r)[0].id, "new");
  EXPECT_EQ((*r)[0].owner, "someone");

  // Updating moves a vector.
  ASSERT_TRUE(index.Upsert("id7", "owner1", vs[8]).ok());
  r = index.Search(vs[8], 2);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->size(), 2u);
  EXPECT_NEAR((*r)[0].similarity, 1.0, 1e-5);
  EXPECT_NEAR((*r)[1].similarity, 1.0, 1e-5);

  // Owner removal.
  EXPECT_EQ(index.RemoveOwner("owner0"), 100u);
  r = index.Search(vs[0], 300);
  ASSERT_TRUE(r.ok());
  for (const auto& m : *r) EXPECT_NE(m.owner, "owner0");

  // Bad input is an error, not a crash.
  EXPECT_EQ(index.Search(std::vector<float>(kDim + 1, 0.1f), 1).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(index.Upsert("x", "", std::vector<float>(3, 0.1f)).code(), StatusCode::kInvalidArgument);
}

TEST(HnswIndex, EmptyAndAllRemoved) {
  HnswIndex index(8);
  std::vector<float> q(8, 0.5f);
  EXPECT_TRUE(index.Search(q, 3)->empty());
  ASSERT_TRUE(index.Upsert("a", "", q).ok());
  ASSERT_TRUE(index.Remove("a"));
  auto r = index.Search(q, 3);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->empty());
  ASSERT_TRUE(index.Upsert("a", "", q).ok());  // back again, via the freed slot
  EXPECT_EQ(index.Search(q, 3)->size(), 1u);
}

}  // namespace
}  // namespace vigil::gallery

namespace vigil::gallery {
namespace {

TEST(HnswIndex, AddBatchMatchesExact) {
  constexpr size_t kDim = 48, kN = 3000;
  std::mt19937 rng(21);
  HnswIndex hnsw(kDim);
  ExactIndex exact(kDim);
  std::vector<std::string> ids, owners;
  std::vector<float> rows;
  for (size_t i = 0; i < kN; ++i) {
    auto v = testing::RandomUnit(rng, kDim);
    ids.push_back("b" + std::to_string(i));
    owners.push_back("o" + std::to_string(i % 10));
    rows.insert(rows.end(), v.begin(), v.end());
    ASSERT_TRUE(exact.Upsert(ids.back(), owners.back(), v).ok());
  }
  // Validation happens before any insert.
  auto dup = ids;
  dup[10] = dup[0];
  EXPECT_EQ(hnsw.AddBatch(dup, owners, rows).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(hnsw.AddBatch(ids, owners, std::span<const float>(rows).first(rows.size() - 1)).code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(hnsw.size(), 0u);

  ASSERT_TRUE(hnsw.AddBatch(ids, owners, rows).ok());
  ASSERT_EQ(hnsw.size(), kN);
  EXPECT_EQ(hnsw.AddBatch(std::vector<std::string>{"b1"}, {}, std::span<const float>(rows).first(kDim)).code(),
            StatusCode::kInvalidArgument);
  hnsw.SetEf(128);
  size_t hits = 0;
  for (int t = 0; t < 200; ++t) {
    auto q = testing::RandomUnit(rng, kDim);
    auto a = hnsw.Search(q, 1);
    auto e = exact.Search(q, 1);
    ASSERT_TRUE(a.ok() && e.ok());
    if ((*a)[0].id == (*e)[0].id) {
      ++hits;
      EXPECT_EQ((*a)[0].owner, (*e)[0].owner);
    }
  }
  EXPECT_GE(hits, 198u);
}

}  // namespace
}  // namespace vigil::gallery

namespace vigil::gallery {
namespace {

// A saved and reloaded index answers exactly as the original, keeps owners,
// deletions and free slots, and bad files are errors, not crashes.
TEST(HnswIndex, SaveAndLoadRoundTrip) {
  constexpr size_t kDim = 16;
  std::mt19937 rng(5);
  HnswIndex index(kDim);
  std::vector<std::vector<float>> vs;
  for (int i = 0; i < 500; ++i) {
    vs.push_back(testing::RandomUnit(rng, kDim));
    ASSERT_TRUE(index.Upsert("v" + std::to_string(i), "o" + std::to_string(i % 7), vs.back()).ok());
  }
  ASSERT_TRUE(index.Remove("v3"));
  const auto dir = std::filesystem::path(::testing::TempDir()) / ("vigil-hnsw-save-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const std::string path = (dir / "graph.hnsw").string();
  ASSERT_TRUE(index.Save(path).ok());

  HnswOptions opts;
  opts.ef_search = 32;
  auto loaded = HnswIndex::Load(path, kDim, opts);
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  EXPECT_EQ(loaded->size(), 499u);
  EXPECT_EQ(loaded->ef(), 32u);
  EXPECT_FALSE(loaded->Contains("v3"));
  index.SetEf(32);
  for (int i = 0; i < 500; i += 11) {
    auto a = index.Search(vs[i], 3);
    auto b = loaded->Search(vs[i], 3);
    ASSERT_TRUE(a.ok() && b.ok());
    ASSERT_EQ(a->size(), b->size());
    for (size_t k = 0; k < a->size(); ++k) {
      EXPECT_EQ((*a)[k].id, (*b)[k].id);
      EXPECT_EQ((*a)[k].owner, (*b)[k].owner);
      EXPECT_FLOAT_EQ((*a)[k].similarity, (*b)[k].similarity);
    }
  }
  // The freed slot of v3 is reused and the loaded index stays writable.
  ASSERT_TRUE(loaded->Upsert("fresh", "x", vs[3]).ok());
  EXPECT_EQ((*loaded->Search(vs[3], 1))[0].id, "fresh");
  EXPECT_EQ(loaded->size(), 500u);

  EXPECT_EQ(HnswIndex::Load(path, kDim + 1).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(HnswIndex::Load((dir / "absent").string(), kDim).status().code(), StatusCode::kNotFound);
  // Truncated graph and truncated id table.
  std::filesystem::resize_file(path, std::filesystem::file_size(path) / 2);
  EXPECT_EQ(HnswIndex::Load(path, kDim).status().code(), StatusCode::kDataLoss);
  ASSERT_TRUE(index.Save(path).ok());
  std::filesystem::resize_file(path + ".ids", std::filesystem::file_size(path + ".ids") - 3);
  EXPECT_EQ(HnswIndex::Load(path, kDim).status().code(), StatusCode::kDataLoss);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace vigil::gallery
