#include <gtest/gtest.h>

#include <filesystem>
#include <map>

#include "core/clock.h"
#include "storage/repository.h"
#include "storage/storage_test_helpers.h"

namespace vigil::storage {
namespace {

int64_t At(const std::string& iso) {
  int64_t ms = 0;
  EXPECT_TRUE(ParseIso8601Ms(iso, &ms)) << iso;
  return ms;
}

class ReportTest : public testing::RepoTest {
 protected:
  void SetUp() override {
    RepoTest::SetUp();
    if (!std::filesystem::exists("/usr/share/zoneinfo/Europe/Berlin")) GTEST_SKIP() << "no system zoneinfo";
    ASSERT_TRUE(repo_->CreateSite({"berlin", "Berlin", "Europe/Berlin", 0}).ok());
    ASSERT_TRUE(repo_->CreateSite({"london", "UTC shop", "UTC", 0}).ok());
    for (const char* id : {"A", "B", "C", "D"}) {
      Customer c;
      c.id = id;
      ASSERT_TRUE(repo_->CreateCustomer(c).ok());
    }
    Staff s;
    s.id = "S";
    s.name = "staff";
    ASSERT_TRUE(repo_->CreateStaff(s).ok());
    AddVisit("berlin", "D", "2026-07-01T10:00:00Z");  // before the range: makes D a returning visitor
    AddVisit("berlin", "A", "2026-07-15T22:30:00Z");  // local 2026-07-16 00:30 (Thursday)
    AddVisit("berlin", "B", "2026-07-15T10:00:00Z");  // local 2026-07-15 12:00 (Wednesday)
    AddVisit("berlin", "A", "2026-07-16T09:00:00Z");  // local 11:00, A's second visit
    AddVisit("berlin", "D", "2026-07-16T09:30:00Z");  // local 11:30
    AddVisit("london", "C", "2026-07-16T09:15:00Z");
    AddVisit("london", "C", "2026-07-16T09:45:00Z");
    AddVisit("berlin", "A", "2026-07-17T09:00:00Z");  // after the range
    Visit staff;
    staff.site_id = "berlin";
    staff.person_kind = "staff";
    staff.staff_id = "S";
    staff.started_at = staff.ended_at = At("2026-07-16T09:00:00Z");
    ASSERT_TRUE(repo_->CreateVisit(staff).ok());
  }

  void AddVisit(const std::string& site, const std::string& customer, const std::string& iso) {
    Visit v;
    v.site_id = site;
    v.person_kind = "customer";
    v.customer_id = customer;
    v.started_at = v.ended_at = At(iso);
    v.event_count = 1;
    ASSERT_TRUE(repo_->CreateVisit(v).ok());
  }

  // "site|bucket" -> {visits, visitors, new, returning}
  std::map<std::string, std::vector<int64_t>> Run(ReportBucket bucket, std::optional<std::string> site = {}) {
    ReportQuery q;
    q.bucket = bucket;
    q.site_id = std::move(site);
    q.from = At("2026-07-15T00:00:00Z");
    q.to = At("2026-07-17T00:00:00Z");
    auto rows = repo_->VisitorReport(q);
    EXPECT_TRUE(rows.ok()) << rows.status().ToString();
    std::map<std::string, std::vector<int64_t>> out;
    if (!rows.ok()) return out;
    for (const auto& r : *rows) {
      out[r.site_id + "|" + r.bucket] = {r.visits, r.visitors, r.new_visitors, r.returning_visitors};
    }
    return out;
  }
};

using Counts = std::map<std::string, std::vector<int64_t>>;

TEST_F(ReportTest, PerDayInSiteLocalTime) {
  EXPECT_EQ(Run(ReportBucket::kDay), (Counts{
                                         {"berlin|2026-07-15", {1, 1, 1, 0}},
                                         {"berlin|2026-07-16", {3, 2, 1, 1}},
                                         {"london|2026-07-16", {2, 1, 1, 0}},
                                     }));
}

TEST_F(ReportTest, PerHourForOneSite) {
  EXPECT_EQ(Run(ReportBucket::kHour, "berlin"), (Counts{
                                                    {"berlin|2026-07-15T12", {1, 1, 1, 0}},
                                                    {"berlin|2026-07-16T00", {1, 1, 1, 0}},
                                                    {"berlin|2026-07-16T11", {2, 2, 0, 2}},
                                                }));
}

TEST_F(ReportTest, PerWeekday) {
  EXPECT_EQ(Run(ReportBucket::kWeekday), (Counts{
                                             {"berlin|3", {1, 1, 1, 0}},
                                             {"berlin|4", {3, 2, 1, 1}},
                                             {"london|4", {2, 1, 1, 0}},
                                         }));
}

TEST_F(ReportTest, EmptyRangeIsRejected) {
  ReportQuery q;
  q.from = q.to = 5;
  EXPECT_EQ(repo_->VisitorReport(q).status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace vigil::storage
