#include "worker/camera_pipeline.h"

#include <gtest/gtest.h>

#include <set>

#include "core/clock.h"
#include "vision/mock_faces.h"

namespace vigil::worker {
namespace {

int PersonOf(const std::vector<float>& emb) {
  int best = -1;
  float best_sim = -2;
  for (int p = 0; p < vision::kMockCastSize; ++p) {
    auto v = vision::MockPersonVector(p);
    float s = 0;
    for (size_t i = 0; i < v.size() && i < emb.size(); ++i) s += v[i] * emb[i];
    if (s > best_sim) {
      best_sim = s;
      best = p;
    }
  }
  return best;
}

class CameraPipelineTest : public ::testing::Test {
 protected:
  std::unique_ptr<CameraPipeline> Make(std::chrono::milliseconds cooldown) {
    PipelineOptions o;
    o.worker_id = "w1";
    o.camera_id = "cam-1";
    o.site_id = "site-1";
    o.tracker.max_missed = std::chrono::milliseconds(1000);
    o.tracker.max_age = std::chrono::milliseconds(60000);
    o.event_cooldown = cooldown;
    return std::make_unique<CameraPipeline>(o, vision::CreateMockDetector(), vision::CreateMockEmbedder(), staff_);
  }
  // Runs `seconds` of the synthetic camera at 5 fps on a fake clock.
  std::vector<ReadyEvent> Run(CameraPipeline& p, int seconds) {
    auto src = vision::OpenFrameSource("mock://pipeline-test", clock_);
    EXPECT_TRUE(src.ok()) << src.status().ToString();
    std::vector<ReadyEvent> events;
    for (int i = 0; i < seconds * 5; ++i) {
      auto f = (*src)->Read();
      EXPECT_TRUE(f.ok());
      auto r = p.Process(*f);
      EXPECT_TRUE(r.ok()) << r.status().ToString();
      for (auto& e : r->events) events.push_back(std::move(e));
      clock_.Advance(std::chrono::milliseconds(200));
    }
    for (auto& e : p.Finish(clock_.NowUnixMs()).events) events.push_back(std::move(e));
    return events;
  }

  FakeClock clock_;
  StaffDirectory staff_;
};

TEST_F(CameraPipelineTest, OneEventPerVisitWithCropEmbeddingAndStaffMatch) {
  protocol::Gallery g;
  g.version = 1;
  g.full = true;
  g.model = vision::kMockEmbedderModel;
  g.upsert.push_back({"staff-0", "Ann", "face-0", vision::MockPersonVector(0)});
  g.upsert.push_back({"staff-1", "Bob", "face-1", vision::MockPersonVector(1)});
  ASSERT_TRUE(staff_.Apply(g).ok());

  auto p = Make(std::chrono::milliseconds(1));
  auto events = Run(*p, 120);
  vision::MockScene scene("pipeline-test");
  auto visits = scene.VisitsBetween(0, 120 * 1000);
  ASSERT_FALSE(visits.empty());
  ASSERT_FALSE(events.empty());
  // Every event is one visit: no more events than visits, and at least most
  // visits produce one (the last may be cut by the end of the run).
  EXPECT_LE(events.size(), visits.size());
  EXPECT_GE(events.size() + 2, visits.size());
  std::set<std::string> ids;
  for (const auto& ev : events) {
    const auto& e = ev.event;
    EXPECT_TRUE(ids.insert(e.event_id).second);
    EXPECT_EQ(e.camera_id, "cam-1");
    EXPECT_EQ(e.site_id, "site-1");
    EXPECT_EQ(e.model, vision::kMockEmbedderModel);
    EXPECT_EQ(e.embedding.size(), static_cast<size_t>(vision::kMockEmbeddingDim));
    EXPECT_TRUE(e.has_snapshot);
    ASSERT_GT(ev.jpeg.size(), 100u);
    EXPECT_EQ(static_cast<unsigned char>(ev.jpeg[0]), 0xFF);  // JPEG SOI
    EXPECT_GT(e.quality, 0);
    int person = PersonOf(e.embedding);
    if (person == 0) {
      EXPECT_EQ(e.staff_id, "staff-0");
    } else if (person == 1) {
      EXPECT_EQ(e.staff_id, "staff-1");
    } else {
      EXPECT_FALSE(e.staff_id.has_value()) << person;
    }
    if (e.staff_id) {
      EXPECT_GT(*e.staff_similarity, 0.8);
    }
  }
}

TEST_F(CameraPipelineTest, CooldownSuppressesRepeatEventsOfOnePerson) {
  auto without = Make(std::chrono::milliseconds(1));
  auto all = Run(*without, 180);
  clock_.SetUnixMs(1'700'000'000'000);
  auto with = Make(std::chrono::hours(1));
  auto few = Run(*with, 180);
  std::set<int> people;
  for (const auto& e : all) people.insert(PersonOf(e.event.embedding));
  // With a long cooldown each person yields exactly one event.
  EXPECT_EQ(few.size(), people.size());
  std::set<int> few_people;
  for (const auto& e : few) EXPECT_TRUE(few_people.insert(PersonOf(e.event.embedding)).second);
  EXPECT_LT(few.size(), all.size());
}

TEST_F(CameraPipelineTest, CurrentTracksCarryStaffNames) {
  protocol::Gallery g;
  g.full = true;
  g.model = vision::kMockEmbedderModel;
  for (int p = 0; p < vision::kMockCastSize; ++p) {
    g.upsert.push_back({"s" + std::to_string(p), "P" + std::to_string(p), "f" + std::to_string(p),
                        vision::MockPersonVector(p)});
  }
  ASSERT_TRUE(staff_.Apply(g).ok());
  auto p = Make(std::chrono::milliseconds(1));
  auto src = vision::OpenFrameSource("mock://pipeline-test", clock_);
  ASSERT_TRUE(src.ok());
  bool saw_named = false;
  for (int i = 0; i < 300 && !saw_named; ++i) {
    auto f = (*src)->Read();
    ASSERT_TRUE(f.ok());
    ASSERT_TRUE(p->Process(*f).ok());
    for (const auto& t : p->CurrentTracks()) saw_named |= t.name.has_value() && t.staff_id.has_value();
    clock_.Advance(std::chrono::milliseconds(200));
  }
  EXPECT_TRUE(saw_named);
}

}  // namespace
}  // namespace vigil::worker
