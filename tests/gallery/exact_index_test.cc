#include "gallery/exact_index.h"

#include <gtest/gtest.h>

#include <map>

#include "gallery/dot_kernels.h"
#include "gallery/gallery_test_helpers.h"

namespace vigil::gallery {
namespace {

using testing::BruteForceOrder;
using testing::Dot;
using testing::RandomUnit;

TEST(DotKernels, MatchReferenceForAllShapesAndTails) {
  std::mt19937 rng(1);
  for (size_t dim : {1u, 3u, 7u, 8u, 9u, 15u, 16u, 17u, 31u, 128u, 130u, 512u}) {
    for (size_t n : {1u, 2u, 3u, 4u, 5u, 7u, 8u, 9u, 13u}) {
      std::vector<std::vector<float>> rows;
      std::vector<float> flat;
      for (size_t i = 0; i < n; ++i) {
        rows.push_back(RandomUnit(rng, dim));
        flat.insert(flat.end(), rows.back().begin(), rows.back().end());
      }
      auto q = RandomUnit(rng, dim);
      std::vector<float> out(n, -99.0f);
      InnerProducts(flat.data(), n, dim, q.data(), out.data());
      for (size_t i = 0; i < n; ++i) {
        EXPECT_NEAR(out[i], Dot(rows[i], q), 1e-5) << "dim " << dim << " n " << n << " row " << i;
        EXPECT_NEAR(InnerProduct(rows[i].data(), q.data(), dim), Dot(rows[i], q), 1e-5);
      }
    }
  }
  EXPECT_NE(std::string(KernelIsa()), "");
}

TEST(DotKernels, MultiQueryMatchesReferenceForAllShapesAndTails) {
  std::mt19937 rng(2);
  for (size_t dim : {1u, 7u, 8u, 9u, 128u, 130u}) {
    for (size_t n : {1u, 3u, 4u, 5u, 13u}) {
      for (size_t nq : {1u, 3u, 4u, 5u, 8u, 9u}) {  // whole tiles of four and remainders
        std::vector<std::vector<float>> rows, queries;
        std::vector<float> flat_rows, flat_queries;
        for (size_t i = 0; i < n; ++i) {
          rows.push_back(RandomUnit(rng, dim));
          flat_rows.insert(flat_rows.end(), rows.back().begin(), rows.back().end());
        }
        for (size_t i = 0; i < nq; ++i) {
          queries.push_back(RandomUnit(rng, dim));
          flat_queries.insert(flat_queries.end(), queries.back().begin(), queries.back().end());
        }
        std::vector<float> out(n * nq, -99.0f);
        InnerProductsMulti(flat_rows.data(), n, dim, flat_queries.data(), nq, out.data());
        for (size_t q = 0; q < nq; ++q) {
          for (size_t i = 0; i < n; ++i) {
            EXPECT_NEAR(out[q * n + i], Dot(rows[i], queries[q]), 1e-5)
                << "dim " << dim << " n " << n << " nq " << nq << " query " << q << " row " << i;
          }
        }
      }
    }
  }
}

// Rows in transposed blocks of eight (dot_kernels.h), unused lanes zero.
std::vector<float> ToBlocks(const std::vector<std::vector<float>>& rows, size_t dim) {
  const size_t nblocks = (rows.size() + kBlockLanes - 1) / kBlockLanes;
  std::vector<float> blocks(nblocks * dim * kBlockLanes, 0.0f);
  for (size_t r = 0; r < rows.size(); ++r) {
    for (size_t j = 0; j < dim; ++j) blocks[((r / kBlockLanes) * dim + j) * kBlockLanes + r % kBlockLanes] = rows[r][j];
  }
  return blocks;
}

TEST(DotKernels, BlockedMatchesReferenceForAllShapesBothVersions) {
  std::mt19937 rng(11);
  for (size_t dim : {1u, 3u, 8u, 128u, 131u}) {
    for (size_t n : {1u, 8u, 9u, 17u, 40u, 75u}) {  // whole and partial blocks, group remainders
      for (size_t nq : {1u, 4u, 5u, 11u}) {         // query groups of four and the rest
        std::vector<std::vector<float>> rows, queries;
        std::vector<float> flat_queries;
        for (size_t i = 0; i < n; ++i) rows.push_back(RandomUnit(rng, dim));
        for (size_t q = 0; q < nq; ++q) {
          queries.push_back(RandomUnit(rng, dim));
          flat_queries.insert(flat_queries.end(), queries.back().begin(), queries.back().end());
        }
        const auto blocks = ToBlocks(rows, dim);
        const size_t nblocks = blocks.size() / (dim * kBlockLanes);
        const size_t stride = nblocks * kBlockLanes;
        std::vector<float> fast(nq * stride, -7.f), portable(nq * stride, -7.f);
        BlockedInnerProducts(blocks.data(), nblocks, dim, flat_queries.data(), nq, fast.data());
        BlockedInnerProductsPortable(blocks.data(), nblocks, dim, flat_queries.data(), nq, portable.data());
        for (size_t q = 0; q < nq; ++q) {
          for (size_t i = 0; i < stride; ++i) {
            const double want = i < n ? Dot(rows[i], queries[q]) : 0.0;  // padding lanes hold zeros
            EXPECT_NEAR(fast[q * stride + i], want, 1e-5) << "dim " << dim << " n " << n << " q " << q << " row " << i;
            EXPECT_NEAR(portable[q * stride + i], want, 1e-5) << "dim " << dim << " n " << n << " q " << q;
          }
        }
      }
    }
  }
}

class ExactIndexTest : public ::testing::Test {
 protected:
  static constexpr size_t kDim = 128;
  std::mt19937 rng{42};
};

TEST_F(ExactIndexTest, TopKEqualsBruteForce) {
  ExactIndex index(kDim);
  std::vector<std::vector<float>> rows;
  for (size_t i = 0; i < 1000; ++i) {  // not a multiple of the kernel's block or row group
    rows.push_back(RandomUnit(rng, kDim));
    ASSERT_TRUE(index.Upsert("id" + std::to_string(i), "owner" + std::to_string(i % 10), rows.back()).ok());
  }
  ASSERT_EQ(index.size(), 1000u);
  for (int t = 0; t < 20; ++t) {
    auto q = RandomUnit(rng, kDim);
    auto order = BruteForceOrder(rows, q);
    for (size_t k : {1u, 5u, 37u}) {
      auto r = index.Search(q, k);
      ASSERT_TRUE(r.ok()) << r.status().ToString();
      ASSERT_EQ(r->size(), k);
      for (size_t i = 0; i < k; ++i) {
        EXPECT_EQ((*r)[i].id, "id" + std::to_string(order[i])) << "rank " << i;
        EXPECT_EQ((*r)[i].owner, "owner" + std::to_string(order[i] % 10));
        EXPECT_NEAR((*r)[i].similarity, Dot(rows[order[i]], q), 1e-5);
        if (i > 0) {
          EXPECT_GE((*r)[i - 1].similarity, (*r)[i].similarity);
        }
      }
    }
  }
}

TEST_F(ExactIndexTest, EdgeCases) {
  ExactIndex index(kDim);
  auto q = RandomUnit(rng, kDim);
  auto empty = index.Search(q, 5);
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->empty());
  ASSERT_TRUE(index.Upsert("a", "", q).ok());
  auto r = index.Search(q, 10);  // k larger than the index
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->size(), 1u);
  EXPECT_NEAR((*r)[0].similarity, 1.0, 1e-5);
  EXPECT_TRUE(index.Search(q, 0)->empty());

  std::vector<float> short_q(kDim - 1, 0.1f);
  EXPECT_EQ(index.Search(short_q, 1).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(index.Upsert("b", "", short_q).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(index.Upsert("", "", q).code(), StatusCode::kInvalidArgument);
  auto nan = q;
  nan[3] = std::nanf("");
  EXPECT_EQ(index.Upsert("c", "", nan).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(index.Search(nan, 1).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(index.size(), 1u);
}

TEST_F(ExactIndexTest, UpdateRemoveAndOwnerRemovalMatchAModel) {
  // Random upserts, updates and removes, checked against a std::map model.
  ExactIndex index(16);
  std::map<std::string, std::pair<std::string, std::vector<float>>> model;
  std::uniform_int_distribution<int> op(0, 9), pick(0, 59);
  for (int step = 0; step < 3000; ++step) {
    std::string id = "f" + std::to_string(pick(rng));
    int o = op(rng);
    if (o < 6) {
      auto v = RandomUnit(rng, 16);
      std::string owner = "p" + std::to_string(pick(rng) % 7);
      ASSERT_TRUE(index.Upsert(id, owner, v).ok());
      model[id] = {owner, v};
    } else if (o < 9) {
      EXPECT_EQ(index.Remove(id), model.erase(id) == 1);
    } else {
      std::string owner = "p" + std::to_string(pick(rng) % 7);
      size_t expected = std::erase_if(model, [&](const auto& kv) { return kv.second.first == owner; });
      EXPECT_EQ(index.RemoveOwner(owner), expected);
    }
    ASSERT_EQ(index.size(), model.size());
    if (step % 50 == 0 && !model.empty()) {
      auto q = RandomUnit(rng, 16);
      auto r = index.Search(q, model.size());
      ASSERT_TRUE(r.ok());
      ASSERT_EQ(r->size(), model.size());
      for (const auto& m : *r) {
        auto it = model.find(m.id);
        ASSERT_NE(it, model.end()) << m.id;
        EXPECT_EQ(m.owner, it->second.first);
        EXPECT_NEAR(m.similarity, Dot(it->second.second, q), 1e-5);
      }
    }
  }
  // ForEach sees exactly the model.
  size_t seen = 0;
  index.ForEach([&](const std::string& id, const std::string& owner, std::span<const float> v) {
    ++seen;
    ASSERT_TRUE(model.count(id));
    EXPECT_EQ(owner, model[id].first);
    EXPECT_TRUE(std::equal(v.begin(), v.end(), model[id].second.begin()));
  });
  EXPECT_EQ(seen, model.size());
  index.Clear();
  EXPECT_EQ(index.size(), 0u);
  EXPECT_FALSE(index.Contains("f1"));
}

TEST_F(ExactIndexTest, BestManyEqualsSearchTopOneForEveryQuery) {
  ExactIndex index(kDim);
  std::vector<float> none_yet(3 * kDim, 0.1f);
  for (const auto& m : index.BestMany(none_yet, 3)) EXPECT_FALSE(m.has_value()) << "empty index";
  std::vector<std::vector<float>> rows;
  for (size_t i = 0; i < 700; ++i) {  // spans several row blocks, not a multiple of any
    rows.push_back(RandomUnit(rng, kDim));
    ASSERT_TRUE(index.Upsert("id" + std::to_string(i), "owner" + std::to_string(i % 7), rows.back()).ok());
  }
  std::vector<std::vector<float>> queries;
  std::vector<float> flat;
  for (size_t q = 0; q < 71; ++q) {  // more than one query tile, with a remainder
    // Half the queries are near a stored row, half are random.
    auto v = q % 2 ? RandomUnit(rng, kDim) : rows[(q * 37) % rows.size()];
    if (q % 2 == 0) v[q % kDim] += 0.05f;
    queries.push_back(v);
    flat.insert(flat.end(), v.begin(), v.end());
  }
  auto best = index.BestMany(flat, queries.size());
  ASSERT_EQ(best.size(), queries.size());
  for (size_t q = 0; q < queries.size(); ++q) {
    auto one = index.Search(queries[q], 1);
    ASSERT_TRUE(one.ok());
    ASSERT_TRUE(best[q].has_value()) << q;
    EXPECT_EQ(best[q]->id, (*one)[0].id) << "query " << q;
    EXPECT_EQ(best[q]->owner, (*one)[0].owner);
    EXPECT_NEAR(best[q]->similarity, (*one)[0].similarity, 1e-5);
    if (q % 2 == 0) {
      EXPECT_EQ(best[q]->id, "id" + std::to_string((q * 37) % rows.size()));
    }
  }
}

}  // namespace
}  // namespace vigil::gallery
