#include "worker/tracker.h"

#include <gtest/gtest.h>

namespace vigil::worker {
namespace {

vision::Detection Box(float x, float y, float s = 80) {
  vision::Detection d;
  d.box = cv::Rect2f(x, y, s, s);
  d.score = 0.9f;
  return d;
}

TrackerOptions Opts() {
  TrackerOptions o;
  o.max_missed = std::chrono::milliseconds(1000);
  o.max_age = std::chrono::milliseconds(10000);
  return o;
}

TEST(IouTrackerTest, KeepsIdsForMovingFacesAndSeparatesTwoPeople) {
  IouTracker t(Opts());
  auto u0 = t.Update({Box(100, 100), Box(400, 100)}, 0);
  ASSERT_EQ(u0.track_of.size(), 2u);
  EXPECT_NE(u0.track_of[0], u0.track_of[1]);
  // Both move a little, listed in the other order.
  auto u1 = t.Update({Box(410, 105), Box(108, 102)}, 200);
  EXPECT_EQ(u1.track_of[0], u0.track_of[1]);
  EXPECT_EQ(u1.track_of[1], u0.track_of[0]);
  EXPECT_TRUE(u1.ended.empty());
  EXPECT_EQ(t.live().size(), 2u);
  EXPECT_EQ(t.live().at(u0.track_of[0]).hits, 2);
}

TEST(IouTrackerTest, TrackEndsAfterMaxMissedAndOnlyOnce) {
  IouTracker t(Opts());
  auto u0 = t.Update({Box(100, 100)}, 0);
  EXPECT_TRUE(t.Update({}, 500).ended.empty());
  auto u = t.Update({}, 1200);
  ASSERT_EQ(u.ended.size(), 1u);
  EXPECT_EQ(u.ended[0].id, u0.track_of[0]);
  EXPECT_FALSE(u.ended[0].reached_max_age);
  EXPECT_TRUE(t.Update({}, 5000).ended.empty());
  // The same place later is a new person.
  auto again = t.Update({Box(100, 100)}, 6000);
  EXPECT_NE(again.track_of[0], u0.track_of[0]);
}

TEST(IouTrackerTest, ShortGapDoesNotSplitATrack) {
  IouTracker t(Opts());
  auto a = t.Update({Box(100, 100)}, 0);
  t.Update({}, 400);  // detector missed one frame
  auto b = t.Update({Box(104, 100)}, 800);
  EXPECT_EQ(a.track_of[0], b.track_of[0]);
}

TEST(IouTrackerTest, LongStayEndsAtMaxAgeAndStartsAFreshTrack) {
  IouTracker t(Opts());
  auto first = t.Update({Box(100, 100)}, 0);
  int64_t now = 0;
  TrackUpdate u;
  while (u.ended.empty()) {
    now += 200;
    u = t.Update({Box(100, 100)}, now);
  }
  EXPECT_EQ(now, 10000);
  ASSERT_EQ(u.ended.size(), 1u);
  EXPECT_TRUE(u.ended[0].reached_max_age);
  EXPECT_NE(u.track_of[0], first.track_of[0]);
}

TEST(IouTrackerTest, NonOverlappingJumpIsANewTrack) {
  IouTracker t(Opts());
  auto a = t.Update({Box(0, 0)}, 0);
  auto b = t.Update({Box(300, 300)}, 200);
  EXPECT_NE(a.track_of[0], b.track_of[0]);
  EXPECT_EQ(t.EndAll().size(), 2u);
  EXPECT_TRUE(t.live().empty());
}

}  // namespace
}  // namespace vigil::worker
