#include "storage/timezone.h"

#include <gtest/gtest.h>

#include <filesystem>

namespace vigil::storage {
namespace {

TEST(TimeZoneTest, UtcAndFixedOffsets) {
  EXPECT_EQ(TimeZone::Load("UTC")->OffsetSeconds(1'790'000'000'000), 0);
  EXPECT_EQ(TimeZone::Load("")->OffsetSeconds(0), 0);
  EXPECT_EQ(TimeZone::Load("+02:00")->OffsetSeconds(0), 7200);
  EXPECT_EQ(TimeZone::Load("-0530")->OffsetSeconds(0), -(5 * 3600 + 30 * 60));
  EXPECT_FALSE(TimeZone::Load("../../etc/passwd").ok());
  EXPECT_FALSE(TimeZone::Load("Not/AZone").ok());
}

TEST(TimeZoneTest, IanaZoneFollowsDaylightSaving) {
  if (!std::filesystem::exists("/usr/share/zoneinfo/Europe/Berlin")) GTEST_SKIP() << "no system zoneinfo";
  auto tz = TimeZone::Load("Europe/Berlin");
  ASSERT_TRUE(tz.ok()) << tz.status().ToString();
  EXPECT_EQ(tz->OffsetSeconds(1'768'478'400'000), 3600);  // 2026-01-15T12:00Z, CET
  EXPECT_EQ(tz->OffsetSeconds(1'784'116'800'000), 7200);  // 2026-07-15T12:00Z, CEST
  auto ny = TimeZone::Load("America/New_York");
  ASSERT_TRUE(ny.ok());
  EXPECT_EQ(ny->OffsetSeconds(1'768'478'400'000), -5 * 3600);
  EXPECT_EQ(ny->OffsetSeconds(1'784'116'800'000), -4 * 3600);
}

TEST(TimeZoneTest, CacheFallsBackToUtcForUnknownZones) {
  TimeZoneCache cache;
  bool known = true;
  EXPECT_EQ(cache.Get("Nowhere/Special", &known).OffsetSeconds(0), 0);
  EXPECT_FALSE(known);
  EXPECT_EQ(cache.Get("+01:00", &known).OffsetSeconds(0), 3600);
  EXPECT_TRUE(known);
}

}  // namespace
}  // namespace vigil::storage
