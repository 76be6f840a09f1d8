#include "worker/event_spool.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "core/uuid.h"
#include "worker/test_env_helpers.h"

namespace vigil::worker {
namespace {

using testing::FaultInjectionEnv;
using testing::TempDir;

SpooledEvent MakeEvent(size_t snapshot_bytes = 100) {
  SpooledEvent e;
  e.event_id = NewUuid();
  e.json = R"({"type":"event","event_id":")" + e.event_id + R"("})";
  e.snapshot = std::string(snapshot_bytes, '\xAB');
  return e;
}

std::vector<std::string> PendingIds(const EventSpool& s) {
  std::vector<std::string> ids;
  for (auto& [seq, id] : s.PendingAfter(0, 1 << 20)) ids.push_back(id);
  return ids;
}

std::vector<std::filesystem::path> Segments(const std::string& dir) {
  std::vector<std::filesystem::path> out;
  for (auto& e : std::filesystem::directory_iterator(dir)) {
    if (e.path().extension() == ".log") out.push_back(e.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

TEST(EventSpoolTest, AppendReadAckAndCounters) {
  TempDir dir;
  auto spool = EventSpool::Open({dir.path(), 1 << 20}, DefaultEnv());
  ASSERT_TRUE(spool.ok()) << spool.status().ToString();
  auto e1 = MakeEvent();
  auto e2 = MakeEvent();
  ASSERT_TRUE((*spool)->Append(e1).ok());
  ASSERT_TRUE((*spool)->Append(e2).ok());
  EXPECT_EQ(PendingIds(**spool), (std::vector<std::string>{e1.event_id, e2.event_id}));
  auto back = (*spool)->Read(e2.event_id);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->json, e2.json);
  EXPECT_EQ(back->snapshot, e2.snapshot);

  EXPECT_EQ((*spool)->Ack({e1.event_id, "not-a-known-id", e1.event_id}), 1);
  EXPECT_EQ((*spool)->Ack({e1.event_id}), 0);  // a repeated ack is harmless
  EXPECT_EQ(PendingIds(**spool), (std::vector<std::string>{e2.event_id}));
  EXPECT_EQ((*spool)->Read(e1.event_id).status().code(), StatusCode::kNotFound);
  auto c = (*spool)->counters();
  EXPECT_EQ(c.created, 2);
  EXPECT_EQ(c.acked, 1);
  EXPECT_EQ(c.spooled, 1);
  EXPECT_EQ(c.dropped, 0);
}

TEST(EventSpoolTest, ReplaysUnackedEventsAfterRestartWithCumulativeCounters) {
  TempDir dir;
  std::vector<SpooledEvent> events;
  {
    auto spool = EventSpool::Open({dir.path(), 1 << 20}, DefaultEnv());
    ASSERT_TRUE(spool.ok());
    for (int i = 0; i < 5; ++i) {
      events.push_back(MakeEvent());
      ASSERT_TRUE((*spool)->Append(events.back()).ok());
    }
    (*spool)->Ack({events[0].event_id, events[3].event_id});
  }
  auto spool = EventSpool::Open({dir.path(), 1 << 20}, DefaultEnv());
  ASSERT_TRUE(spool.ok());
  EXPECT_EQ((*spool)->recovery().pending, 3);
  EXPECT_EQ(PendingIds(**spool),
            (std::vector<std::string>{events[1].event_id, events[2].event_id, events[4].event_id}));
  auto e4 = (*spool)->Read(events[4].event_id);
  ASSERT_TRUE(e4.ok());
  EXPECT_EQ(e4->json, events[4].json);
  auto c = (*spool)->counters();
  EXPECT_EQ(c.created, 5);
  EXPECT_EQ(c.acked, 2);
  EXPECT_EQ(c.spooled, 3);
  // New events get sequence numbers after the replayed ones.
  auto e6 = MakeEvent();
  ASSERT_TRUE((*spool)->Append(e6).ok());
  EXPECT_EQ(PendingIds(**spool).back(), e6.event_id);
  EXPECT_EQ((*spool)->counters().created, 6);
}

TEST(EventSpoolTest, CountersSurviveALostCountersFile) {
  TempDir dir;
  {
    auto spool = EventSpool::Open({dir.path(), 1 << 20}, DefaultEnv());
    ASSERT_TRUE(spool.ok());
    auto a = MakeEvent();
    ASSERT_TRUE((*spool)->Append(a).ok());
    ASSERT_TRUE((*spool)->Append(MakeEvent()).ok());
    (*spool)->Ack({a.event_id});
  }
  // As after a crash before the counters were written: the records carry them.
  std::filesystem::remove(dir.path() + "/counters.json");
  auto spool = EventSpool::Open({dir.path(), 1 << 20}, DefaultEnv());
  ASSERT_TRUE(spool.ok());
  auto c = (*spool)->counters();
  EXPECT_EQ(c.created, 2);
  EXPECT_EQ(c.acked, 1);
  EXPECT_EQ(c.spooled, 1);
}

TEST(EventSpoolTest, AckedSegmentsAreDeleted) {
  TempDir dir;
  SpoolOptions opt{dir.path(), 1 << 20};
  opt.segment_bytes = 16 << 10;
  auto spool = EventSpool::Open(opt, DefaultEnv());
  ASSERT_TRUE(spool.ok());
  std::vector<std::string> ids;
  for (int i = 0; i < 40; ++i) {
    auto e = MakeEvent(2000);
    ids.push_back(e.event_id);
    ASSERT_TRUE((*spool)->Append(e).ok());
  }
  EXPECT_GT(Segments(dir.path()).size(), 3u);
  EXPECT_EQ((*spool)->Ack(ids), 40);
  EXPECT_LE(Segments(dir.path()).size(), 2u);
  EXPECT_LT((*spool)->bytes(), 20 << 10);
}

TEST(EventSpoolTest, CompactionCopiesAStragglerForward) {
  TempDir dir;
  SpoolOptions opt{dir.path(), 1 << 20};
  opt.segment_bytes = 16 << 10;
  auto spool = EventSpool::Open(opt, DefaultEnv());
  ASSERT_TRUE(spool.ok());
  auto straggler = MakeEvent(500);
  ASSERT_TRUE((*spool)->Append(straggler).ok());
  std::vector<std::string> ids;
  for (int i = 0; i < 60; ++i) {
    auto e = MakeEvent(2000);
    ids.push_back(e.event_id);
    ASSERT_TRUE((*spool)->Append(e).ok());
  }
  EXPECT_EQ((*spool)->Ack(ids), 60);
  // The one unacknowledged event no longer pins the old segments.
  EXPECT_LE(Segments(dir.path()).size(), 2u);
  auto back = (*spool)->Read(straggler.event_id);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->snapshot, straggler.snapshot);
  spool->reset();
  auto reopened = EventSpool::Open(opt, DefaultEnv());
  ASSERT_TRUE(reopened.ok());
  EXPECT_EQ(PendingIds(**reopened), std::vector<std::string>{straggler.event_id});
  EXPECT_EQ((*reopened)->recovery().corrupted_records, 0);
}

TEST(EventSpoolTest, BoundDropsTheOldestAndCountsThem) {
  TempDir dir;
  SpoolOptions opt{dir.path(), 64 << 10};
  opt.segment_bytes = 16 << 10;
  auto spool = EventSpool::Open(opt, DefaultEnv());
  ASSERT_TRUE(spool.ok());
  std::vector<std::string> ids;
  for (int i = 0; i < 100; ++i) {
    auto e = MakeEvent(2000);
    ids.push_back(e.event_id);
    ASSERT_TRUE((*spool)->Append(e).ok());
    EXPECT_LE((*spool)->bytes(), opt.max_bytes);
  }
  auto c = (*spool)->counters();
  EXPECT_EQ(c.created, 100);
  EXPECT_GT(c.dropped, 0);
  EXPECT_EQ(c.created, c.spooled + c.dropped);
  auto pending = PendingIds(**spool);
  // What is kept is the newest events, in order.
  ASSERT_FALSE(pending.empty());
  EXPECT_EQ(pending.back(), ids.back());
  EXPECT_EQ(pending.front(), ids[static_cast<size_t>(c.dropped)]);
}

TEST(EventSpoolTest, TornTailIsToleratedAndNewRecordsGoToANewSegment) {
  TempDir dir;
  std::vector<SpooledEvent> events;
  {
    auto spool = EventSpool::Open({dir.path(), 1 << 20}, DefaultEnv());
    ASSERT_TRUE(spool.ok());
    for (int i = 0; i < 3; ++i) {
      events.push_back(MakeEvent());
      ASSERT_TRUE((*spool)->Append(events.back()).ok());
    }
  }
  auto segs = Segments(dir.path());
  ASSERT_EQ(segs.size(), 1u);
  // Cut the last record in half, as a crash in the middle of a write does.
  auto size = std::filesystem::file_size(segs[0]);
  std::filesystem::resize_file(segs[0], size - 40);
  auto spool = EventSpool::Open({dir.path(), 1 << 20}, DefaultEnv());
  ASSERT_TRUE(spool.ok());
  EXPECT_EQ((*spool)->recovery().torn_tails, 1);
  EXPECT_EQ((*spool)->recovery().corrupted_records, 0);
  EXPECT_EQ(PendingIds(**spool), (std::vector<std::string>{events[0].event_id, events[1].event_id}));
  auto e = MakeEvent();
  ASSERT_TRUE((*spool)->Append(e).ok());
  spool->reset();
  auto again = EventSpool::Open({dir.path(), 1 << 20}, DefaultEnv());
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(PendingIds(**again), (std::vector<std::string>{events[0].event_id, events[1].event_id, e.event_id}));
}

TEST(EventSpoolTest, CorruptedRecordIsSkippedAndCounted) {
  TempDir dir;
  std::vector<SpooledEvent> events;
  {
    auto spool = EventSpool::Open({dir.path(), 1 << 20}, DefaultEnv());
    ASSERT_TRUE(spool.ok());
    for (int i = 0; i < 3; ++i) {
      events.push_back(MakeEvent(300));
      ASSERT_TRUE((*spool)->Append(events.back()).ok());
    }
  }
  auto segs = Segments(dir.path());
  ASSERT_EQ(segs.size(), 1u);
  auto size = std::filesystem::file_size(segs[0]);
  {
    // Flip a byte inside the middle record's snapshot.
    std::fstream f(segs[0], std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(static_cast<std::streamoff>(size / 2));
    char c = 0;
    f.read(&c, 1);
    f.seekp(static_cast<std::streamoff>(size / 2));
    c = static_cast<char>(c ^ 0x5A);
    f.write(&c, 1);
  }
  auto spool = EventSpool::Open({dir.path(), 1 << 20}, DefaultEnv());
  ASSERT_TRUE(spool.ok());
  EXPECT_EQ((*spool)->recovery().corrupted_records, 1);
  EXPECT_EQ((*spool)->recovery().torn_tails, 0);
  EXPECT_EQ(PendingIds(**spool), (std::vector<std::string>{events[0].event_id, events[2].event_id}));
}

TEST(EventSpoolTest, WriteFailureDropsOnlyThatEventAndTheSpoolRecovers) {
  TempDir dir;
  FaultInjectionEnv env;
  auto spool = EventSpool::Open({dir.path(), 1 << 20}, env);
  ASSERT_TRUE(spool.ok());
  auto a = MakeEvent();
  ASSERT_TRUE((*spool)->Append(a).ok());
  env.fail_writes = true;
  Status st = (*spool)->Append(MakeEvent());
  EXPECT_EQ(st.code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(env.failed_appends.load(), 1);
  env.fail_writes = false;
  auto b = MakeEvent();
  ASSERT_TRUE((*spool)->Append(b).ok());
  auto c = (*spool)->counters();
  EXPECT_EQ(c.created, 3);
  EXPECT_EQ(c.dropped, 1);
  EXPECT_EQ(c.spooled, 2);
  spool->reset();
  // The half-written record is skipped on replay; both good events survive.
  auto again = EventSpool::Open({dir.path(), 1 << 20}, DefaultEnv());
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(PendingIds(**again), (std::vector<std::string>{a.event_id, b.event_id}));
  EXPECT_EQ((*again)->counters().dropped, 1);
  EXPECT_EQ((*again)->counters().created, 3);
}

}  // namespace
}  // namespace vigil::worker
