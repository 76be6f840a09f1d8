#include "gallery/gallery.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "gallery/gallery_test_helpers.h"

namespace vigil::gallery {
namespace {

using testing::RandomUnit;

constexpr const char* kFaceApi = "faceapi-recognition-128";
constexpr const char* kArcFace = "insightface-arcface-512";

TEST(Gallery, ModelsAreIsolated) {
  Gallery g;
  std::mt19937 rng(1);
  auto v128 = RandomUnit(rng, 128);
  auto v512 = RandomUnit(rng, 512);
  ASSERT_TRUE(g.Upsert(kFaceApi, "f1", "ann", v128).ok());
  ASSERT_TRUE(g.Upsert(kArcFace, "f2", "ann", v512).ok());
  // Another 128-D model: same dimension, still never compared with kFaceApi.
  ASSERT_TRUE(g.Upsert("other-128", "f3", "bob", v128).ok());
  EXPECT_EQ(g.size(), 3u);
  EXPECT_EQ(g.size(kFaceApi), 1u);
  EXPECT_EQ(g.Dimension(kArcFace), 512u);
  EXPECT_EQ(g.Models(), (std::vector<std::string>{kFaceApi, kArcFace, "other-128"}));

  auto r = g.Search(kFaceApi, v128, 10);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->size(), 1u);
  EXPECT_EQ((*r)[0].id, "f1");
  EXPECT_EQ((*r)[0].owner, "ann");

  // A 128-D query against the 512-D model, or a vector of the wrong size: errors.
  EXPECT_EQ(g.Search(kArcFace, v128, 1).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(g.Upsert(kArcFace, "f4", "x", v128).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(g.Upsert(kFaceApi, "f5", "x", v512).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(g.Search("unknown-model", v128, 1).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(g.SearchOwners("unknown-model", v128, 1).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(g.size(), 3u);
}

TEST(Gallery, NormalisesSoScoresAreCosine) {
  Gallery g;
  ASSERT_TRUE(g.Upsert("m", "a", "", std::vector<float>{3, 4}).ok());
  ASSERT_TRUE(g.Upsert("m", "b", "", std::vector<float>{0, -10}).ok());
  auto r = g.Search("m", std::vector<float>{6, 8}, 2);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->size(), 2u);
  EXPECT_EQ((*r)[0].id, "a");
  EXPECT_NEAR((*r)[0].similarity, 1.0, 1e-6);
  EXPECT_NEAR((*r)[1].similarity, -0.8, 1e-6);
  EXPECT_EQ(g.Upsert("m", "z", "", std::vector<float>{0, 0}).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(g.Search("m", std::vector<float>{0, 0}, 1).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(g.Upsert("", "y", "", std::vector<float>{1, 0}).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(g.Upsert("m", "", "", std::vector<float>{1, 0}).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(g.Upsert("m", "w", "", std::vector<float>{}).code(), StatusCode::kInvalidArgument);
}

TEST(Gallery, RegisterModelFixesTheDimension) {
  Gallery g;
  ASSERT_TRUE(g.RegisterModel("m", 4).ok());
  EXPECT_TRUE(g.RegisterModel("m", 4).ok());
  EXPECT_EQ(g.RegisterModel("m", 5).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(g.RegisterModel("m2", 0).code(), StatusCode::kInvalidArgument);
  auto r = g.Search("m", std::vector<float>{1, 0, 0, 0}, 3);  // known but empty
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->empty());
  EXPECT_EQ(g.Upsert("m", "a", "", std::vector<float>{1, 0, 0}).code(), StatusCode::kInvalidArgument);
}

TEST(Gallery, UpdateRemoveAndMoveBetweenModels) {
  Gallery g;
  ASSERT_TRUE(g.Upsert("m", "a", "ann", std::vector<float>{1, 0}).ok());
  ASSERT_TRUE(g.Upsert("m", "b", "bob", std::vector<float>{0, 1}).ok());
  // Update: a now points where b does, and changes owner.
  ASSERT_TRUE(g.Upsert("m", "a", "amy", std::vector<float>{0, 2}).ok());
  auto r = g.Search("m", std::vector<float>{0, 1}, 2);
  ASSERT_TRUE(r.ok());
  EXPECT_NEAR((*r)[1].similarity, 1.0, 1e-6);
  EXPECT_EQ(g.size(), 2u);
  // Moving an id to another model removes it from the first.
  ASSERT_TRUE(g.Upsert("m3", "a", "amy", std::vector<float>{1, 0, 0}).ok());
  EXPECT_EQ(g.size("m"), 1u);
  EXPECT_EQ(g.size("m3"), 1u);
  EXPECT_EQ(g.size(), 2u);
  EXPECT_TRUE(g.Remove("a"));
  EXPECT_FALSE(g.Remove("a"));
  EXPECT_EQ(g.size("m3"), 0u);
  EXPECT_TRUE(g.RemoveModel("m"));
  EXPECT_FALSE(g.RemoveModel("m"));
  EXPECT_EQ(g.size(), 0u);
  EXPECT_EQ(g.Search("m", std::vector<float>{1, 0}, 1).status().code(), StatusCode::kNotFound);
}

TEST(Gallery, OwnersGroupVectors) {
  Gallery g;
  std::mt19937 rng(5);
  // Ann has three faces close to a direction, Bob one a bit further away.
  auto base = RandomUnit(rng, 64);
  auto near = [&](float noise) {
    auto v = base;
    auto n = RandomUnit(rng, 64);
    for (size_t i = 0; i < v.size(); ++i) v[i] += noise * n[i];
    return v;
  };
  ASSERT_TRUE(g.Upsert("m", "ann-1", "ann", near(0.05f)).ok());
  ASSERT_TRUE(g.Upsert("m", "ann-2", "ann", near(0.06f)).ok());
  ASSERT_TRUE(g.Upsert("m", "ann-3", "ann", near(0.07f)).ok());
  ASSERT_TRUE(g.Upsert("m", "bob-1", "bob", near(0.5f)).ok());
  ASSERT_TRUE(g.Upsert("other", "ann-x", "ann", std::vector<float>{1, 0}).ok());
  for (int i = 0; i < 50; ++i) {
    ASSERT_TRUE(g.Upsert("m", "noise-" + std::to_string(i), "n" + std::to_string(i), RandomUnit(rng, 64)).ok());
  }
  auto r = g.SearchOwners("m", base, 2);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->size(), 2u);
  EXPECT_EQ((*r)[0].owner, "ann");
  EXPECT_EQ((*r)[0].id, "ann-1");
  EXPECT_EQ((*r)[1].owner, "bob");

  // More owners asked than exist: every owner once.
  auto all = g.SearchOwners("m", base, 1000);
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->size(), 52u);

  EXPECT_EQ(g.RemoveOwner("ann"), 4u);  // in both models
  EXPECT_EQ(g.size("other"), 0u);
  r = g.SearchOwners("m", base, 1);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ((*r)[0].owner, "bob");
}

TEST(Gallery, ReplaceModelIsAllOrNothing) {
  Gallery g;
  ASSERT_TRUE(g.Upsert("m", "old", "ann", std::vector<float>{1, 0}).ok());
  ASSERT_TRUE(g.Upsert("x", "moved", "cat", std::vector<float>{1, 0, 0}).ok());
  std::vector<GalleryEntry> bad = {{"n1", "bob", {0, 1}}, {"n2", "bob", {0, 1, 2}}};
  Status st = g.ReplaceModel("m", bad);
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(st.message().find("entry 1"), std::string::npos) << st.message();
  EXPECT_EQ(g.size("m"), 1u);

  std::vector<GalleryEntry> good = {{"n1", "bob", {0, 1}}, {"moved", "cat", {1, 1}}};
  ASSERT_TRUE(g.ReplaceModel("m", good).ok());
  EXPECT_EQ(g.size("m"), 2u);
  EXPECT_EQ(g.size("x"), 0u);  // "moved" left model x
  EXPECT_EQ(g.size(), 2u);
  auto r = g.Search("m", std::vector<float>{1, 0}, 5);
  ASSERT_TRUE(r.ok());
  for (const auto& m : *r) EXPECT_NE(m.id, "old");
  EXPECT_FALSE(g.Remove("old"));

  ASSERT_TRUE(g.ReplaceModel("m", {}).ok());  // an empty snapshot empties the model
  EXPECT_EQ(g.size("m"), 0u);
  ASSERT_TRUE(g.ReplaceModel("new", {{"a", "", {0.5f, 0.5f, 0.5f}}}).ok());
  EXPECT_EQ(g.Dimension("new"), 3u);
}

TEST(Gallery, SwitchesToHnswAndStaysCorrect) {
  GalleryOptions opts;
  opts.hnsw_min_size = 200;
  Gallery g(opts);
  std::mt19937 rng(11);
  std::vector<std::vector<float>> vs;
  for (int i = 0; i < 600; ++i) {
    vs.push_back(RandomUnit(rng, 32));
    ASSERT_TRUE(g.Upsert("m", "id" + std::to_string(i), "o" + std::to_string(i / 2), vs.back()).ok());
  }
  g.SetHnswEf(100);
  for (int i = 0; i < 600; i += 31) {
    auto r = g.Search("m", vs[i], 1);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ((*r)[0].id, "id" + std::to_string(i));
  }
  ASSERT_TRUE(g.Remove("id0"));
  auto r = g.Search("m", vs[0], 1);
  ASSERT_TRUE(r.ok());
  EXPECT_NE((*r)[0].id, "id0");
  EXPECT_EQ(g.RemoveOwner("o1"), 2u);
  auto owners = g.SearchOwners("m", vs[2], 3);
  ASSERT_TRUE(owners.ok());
  for (const auto& m : *owners) EXPECT_NE(m.owner, "o1");
  // A full snapshot big enough gets its HNSW index built before the swap.
  std::vector<GalleryEntry> snap;
  for (int i = 0; i < 300; ++i) snap.push_back({"s" + std::to_string(i), "", vs[i]});
  ASSERT_TRUE(g.ReplaceModel("m", snap).ok());
  r = g.Search("m", vs[123], 1);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ((*r)[0].id, "s123");
}

TEST(Gallery, ConcurrentSearchesAndWrites) {
  Gallery g;
  std::mt19937 rng(9);
  auto probe = RandomUnit(rng, 64);
  ASSERT_TRUE(g.Upsert("m", "probe", "p", probe).ok());
  std::atomic<bool> stop{false};
  std::atomic<int> bad{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < 3; ++t) {
    readers.emplace_back([&] {
      while (!stop.load()) {
        auto r = g.Search("m", probe, 1);
        // The probe is never removed, so it is always the best match.
        if (!r.ok() || r->empty() || (*r)[0].id != "probe") bad.fetch_add(1);
      }
    });
  }
  std::mt19937 wrng(10);
  for (int i = 0; i < 2000; ++i) {
    std::string id = "w" + std::to_string(i % 100);
    if (i % 3 == 0) {
      g.Remove(id);
    } else {
      auto v = RandomUnit(wrng, 64);
      // Keep writers' vectors away from the probe so the expectation holds.
      for (size_t j = 0; j < v.size(); ++j) v[j] -= 0.9f * probe[j];
      ASSERT_TRUE(g.Upsert("m", id, "w", v).ok());
    }
  }
  stop.store(true);
  for (auto& t : readers) t.join();
  EXPECT_EQ(bad.load(), 0);
}

TEST(Gallery, BestOwnerManyAgreesWithSearchOwnersAndSkipsBadQueries) {
  std::mt19937 rng(5);
  Gallery g;
  EXPECT_FALSE(g.BestOwnerMany("m", {}).size());
  std::vector<std::vector<float>> stored;
  for (int i = 0; i < 300; ++i) {
    stored.push_back(testing::RandomUnit(rng, 16));
    for (auto& x : stored.back()) x *= 3.0f;  // not normalised: the gallery normalises
    ASSERT_TRUE(g.Upsert("m", "v" + std::to_string(i), "person" + std::to_string(i / 3), stored.back()).ok());
  }
  std::vector<std::vector<float>> queries;
  for (int i = 0; i < 9; ++i) queries.push_back(testing::RandomUnit(rng, 16));
  queries.push_back(stored[42]);
  queries.push_back(std::vector<float>(16, 0.0f));  // zero: invalid
  queries.push_back(std::vector<float>(8, 1.0f));   // wrong dimension
  std::vector<std::span<const float>> spans(queries.begin(), queries.end());
  auto best = g.BestOwnerMany("m", spans);
  ASSERT_EQ(best.size(), queries.size());
  for (size_t i = 0; i + 2 < queries.size(); ++i) {
    auto one = g.SearchOwners("m", queries[i], 1);
    ASSERT_TRUE(one.ok());
    ASSERT_TRUE(best[i].has_value()) << i;
    EXPECT_EQ(best[i]->owner, (*one)[0].owner) << i;
    EXPECT_NEAR(best[i]->similarity, (*one)[0].similarity, 1e-5);
  }
  EXPECT_EQ(best[9]->owner, "person14");
  EXPECT_NEAR(best[9]->similarity, 1.0, 1e-5);
  EXPECT_FALSE(best[10].has_value());
  EXPECT_FALSE(best[11].has_value());
  for (const auto& m : g.BestOwnerMany("other-model", spans)) EXPECT_FALSE(m.has_value());
}

TEST(Gallery, BestOwnerManyOnAGalleryPastTheHnswSize) {
  std::mt19937 rng(6);
  GalleryOptions options;
  options.hnsw_min_size = 200;
  Gallery g(options);
  std::vector<std::vector<float>> stored;
  for (int i = 0; i < 400; ++i) {
    stored.push_back(testing::RandomUnit(rng, 16));
    ASSERT_TRUE(g.Upsert("m", "v" + std::to_string(i), "p" + std::to_string(i), stored.back()).ok());
  }
  g.SetHnswEf(100);
  std::vector<std::span<const float>> spans;
  for (int i = 0; i < 400; i += 50) spans.emplace_back(stored[i]);
  auto best = g.BestOwnerMany("m", spans);
  for (size_t j = 0; j < spans.size(); ++j) {
    ASSERT_TRUE(best[j].has_value());
    EXPECT_EQ(best[j]->owner, "p" + std::to_string(j * 50));  // a stored vector finds itself
  }
}

}  // namespace
}  // namespace vigil::gallery
