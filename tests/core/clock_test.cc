#include "core/clock.h"

#include <gtest/gtest.h>

namespace vigil {
namespace {

TEST(ClockTest, FakeClockAdvancesOnlyWhenTold) {
  FakeClock clock(1'000);
  auto s0 = clock.SteadyNow();
  EXPECT_EQ(clock.NowUnixMs(), 1'000);
  clock.Advance(std::chrono::milliseconds(250));
  EXPECT_EQ(clock.NowUnixMs(), 1'250);
  EXPECT_EQ(clock.SteadyNow() - s0, std::chrono::milliseconds(250));
}

TEST(ClockTest, Iso8601RoundTrip) {
  const int64_t ms = 1'796'000'000'123;  // 2026-11-30T...
  std::string s = FormatIso8601Ms(ms);
  EXPECT_EQ(s.size(), 24u);
  EXPECT_EQ(s.back(), 'Z');
  int64_t back = 0;
  ASSERT_TRUE(ParseIso8601Ms(s, &back));
  EXPECT_EQ(back, ms);
}

TEST(ClockTest, Iso8601Forms) {
  int64_t v = 0;
  ASSERT_TRUE(ParseIso8601Ms("1970-01-01T00:00:01Z", &v));
  EXPECT_EQ(v, 1000);
  ASSERT_TRUE(ParseIso8601Ms("1970-01-02", &v));
  EXPECT_EQ(v, 86'400'000);
  ASSERT_TRUE(ParseIso8601Ms("1970-01-01T01:00:00+01:00", &v));
  EXPECT_EQ(v, 0);
  ASSERT_TRUE(ParseIso8601Ms("1970-01-01T00:00:00.5Z", &v));
  EXPECT_EQ(v, 500);
  EXPECT_FALSE(ParseIso8601Ms("yesterday", &v));
  EXPECT_FALSE(ParseIso8601Ms("2026-13-01", &v));
  EXPECT_FALSE(ParseIso8601Ms("2026-01-01T10:00", &v));
  EXPECT_FALSE(ParseIso8601Ms("2026-01-01T10:00:00Zjunk", &v));
}

}  // namespace
}  // namespace vigil
