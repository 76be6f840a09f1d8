#include "storage/repository.h"

#include <gtest/gtest.h>

#include <future>
#include <map>
#include <set>
#include <thread>

#include "core/uuid.h"
#include "storage/storage_test_helpers.h"

namespace vigil::storage {
namespace {

using testing::RepoTest;
using testing::TempDir;

TEST_F(RepoTest, MigratesEmptyDatabaseToLatestVersion) {
  auto v = repo_->SchemaVersion();
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_EQ(*v, 3);
  // Reopening applies nothing new and keeps the version.
  repo_.reset();
  auto again = OpenRepository(url_);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(*(*again)->SchemaVersion(), 3);
  for (const char* t : {"sites", "cameras", "workers", "staff", "staff_faces", "customers", "customer_embeddings",
                        "events", "visits", "snapshots"}) {
    auto n = (*again)->CountRows(t);
    ASSERT_TRUE(n.ok()) << t << ": " << n.status().ToString();
    EXPECT_EQ(*n, 0) << t;
  }
  EXPECT_EQ((*again)->CountRows("sqlite_master; DROP TABLE x").status().code(), StatusCode::kInvalidArgument);
}

TEST(OpenRepositoryTest, RejectsUnknownSchemesAndReportsPostgresAsUnimplemented) {
  EXPECT_EQ(OpenRepository("mysql://x").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(OpenRepository("postgresql://localhost/vigil").status().code(), StatusCode::kUnimplemented);
  EXPECT_EQ(OpenRepository("sqlite://").status().code(), StatusCode::kInvalidArgument);
  auto mem = OpenRepository("sqlite::memory:");
  ASSERT_TRUE(mem.ok()) << mem.status().ToString();
  EXPECT_EQ(*(*mem)->SchemaVersion(), 3);
}

// A file database reports its WAL and checkpoint counters for /metrics; an
// in-memory one has no WAL and reports none.
TEST_F(RepoTest, FileDatabaseReportsItsWalForMetrics) {
  auto value = [&](const std::string& name) -> std::optional<EngineMetric> {
    for (const auto& m : repo_->EngineMetrics()) {
      if (m.name == name) return m;
    }
    return std::nullopt;
  };
  Site site;
  site.name = "Door";
  ASSERT_TRUE(repo_->CreateSite(site).ok());
  auto frames = value("vigil_sqlite_wal_frames");
  ASSERT_TRUE(frames.has_value());
  EXPECT_FALSE(frames->counter);
  EXPECT_GT(frames->value, 0) << "the commit just now wrote frames to the WAL";
  auto runs = value("vigil_sqlite_checkpoints_total");
  ASSERT_TRUE(runs.has_value());
  EXPECT_TRUE(runs->counter);
  EXPECT_GE(runs->value, 0);
  for (const auto& m : repo_->EngineMetrics()) {
    EXPECT_EQ(m.name.rfind("vigil_sqlite_", 0), 0u) << m.name;
    EXPECT_FALSE(m.help.empty()) << m.name;
  }

  auto mem = OpenRepository("sqlite::memory:");
  ASSERT_TRUE(mem.ok());
  EXPECT_TRUE((*mem)->EngineMetrics().empty());
}

TEST(OpenRepositoryTest, CorruptFileIsDataLossNotACrash) {
  TempDir dir;
  const std::string path = dir.path() + "/bad.db";
  {
    FILE* f = std::fopen(path.c_str(), "wb");
    ASSERT_NE(f, nullptr);
    std::string junk(8192, 'x');
    std::fwrite(junk.data(), 1, junk.size(), f);
    std::fclose(f);
  }
  auto r = OpenRepository("sqlite://" + path);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kDataLoss) << r.status().ToString();
}

TEST_F(RepoTest, SitesCrud) {
  auto s = repo_->CreateSite({"", "Main street", "Europe/Berlin", 0});
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_TRUE(IsUuid(s->id));
  EXPECT_EQ(s->created_at, clock_.NowUnixMs());
  auto got = repo_->GetSite(s->id);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->name, "Main street");
  EXPECT_EQ(got->timezone, "Europe/Berlin");

  EXPECT_EQ(repo_->CreateSite({s->id, "dup", "UTC", 0}).status().code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(repo_->CreateSite({"", "", "UTC", 0}).status().code(), StatusCode::kInvalidArgument);

  Site upd = *got;
  upd.name = "High street";
  ASSERT_TRUE(repo_->UpdateSite(upd).ok());
  EXPECT_EQ(repo_->GetSite(s->id)->name, "High street");
  EXPECT_EQ(repo_->UpdateSite({"nope", "x", "UTC", 0}).code(), StatusCode::kNotFound);
  EXPECT_EQ(repo_->ListSites()->size(), 1u);

  // A camera of a deleted site survives, detached.
  Camera cam;
  cam.url = "rtsp://cam";
  cam.site_id = s->id;
  auto c = repo_->CreateCamera(cam);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  ASSERT_TRUE(repo_->DeleteSite(s->id).ok());
  EXPECT_EQ(repo_->GetSite(s->id).status().code(), StatusCode::kNotFound);
  EXPECT_FALSE(repo_->GetCamera(c->id)->site_id.has_value());
  EXPECT_EQ(repo_->DeleteSite(s->id).code(), StatusCode::kNotFound);
}

TEST_F(RepoTest, CamerasCrudAssignmentAndState) {
  Camera cam;
  cam.name = "door";
  cam.url = "rtsp://door";
  cam.site_id = "missing-site";
  EXPECT_EQ(repo_->CreateCamera(cam).status().code(), StatusCode::kInvalidArgument);  // dangling site
  cam.site_id.reset();
  auto c = repo_->CreateCamera(cam);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_FALSE(c->worker_id.has_value());
  EXPECT_EQ(c->state, "unassigned");

  // Assignment needs an existing worker.
  EXPECT_EQ(repo_->SetCameraAssignment(c->id, std::string("w1")).code(), StatusCode::kInvalidArgument);
  Worker w;
  w.id = "w1";
  w.host = "h";
  w.version = "1";
  ASSERT_TRUE(repo_->UpsertWorkerHello(w, 5).ok());
  ASSERT_TRUE(repo_->SetCameraAssignment(c->id, std::string("w1")).ok());
  ASSERT_TRUE(repo_->SetCameraState(c->id, "running").ok());
  auto got = repo_->GetCamera(c->id);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->worker_id, std::optional<std::string>("w1"));
  EXPECT_EQ(got->state, "running");
  ASSERT_TRUE(repo_->SetCameraAssignment(c->id, std::nullopt).ok());
  EXPECT_FALSE(repo_->GetCamera(c->id)->worker_id.has_value());

  Camera upd = *got;
  upd.fps = 12;
  upd.enabled = false;
  upd.worker_id = "ignored";  // assignment is not changed by UpdateCamera
  ASSERT_TRUE(repo_->UpdateCamera(upd).ok());
  got = repo_->GetCamera(c->id);
  EXPECT_DOUBLE_EQ(got->fps, 12);
  EXPECT_FALSE(got->enabled);
  EXPECT_FALSE(got->worker_id.has_value());
  upd.fps = 0;
  EXPECT_EQ(repo_->UpdateCamera(upd).code(), StatusCode::kInvalidArgument);

  EXPECT_EQ(repo_->ListCameras()->size(), 1u);
  ASSERT_TRUE(repo_->DeleteCamera(c->id).ok());
  EXPECT_EQ(repo_->DeleteCamera(c->id).code(), StatusCode::kNotFound);
  EXPECT_EQ(repo_->SetCameraState(c->id, "x").code(), StatusCode::kNotFound);
}

TEST_F(RepoTest, WorkersHelloHeartbeatOffline) {
  Worker w;
  w.id = "worker-a";
  w.host = "box1";
  w.version = "0.1";
  w.capabilities = R"({"max_cameras":4})";
  auto r = repo_->UpsertWorkerHello(w, 1000);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->status, "online");
  EXPECT_EQ(r->connected_at, 1000);
  EXPECT_EQ(r->created_at, 1000);

  ASSERT_TRUE(repo_->RecordHeartbeat("worker-a", R"({"events_created":3})", 2000).ok());
  auto g = repo_->GetWorker("worker-a");
  EXPECT_EQ(g->last_heartbeat_at, 2000);
  EXPECT_EQ(g->stats, R"({"events_created":3})");
  EXPECT_EQ(repo_->RecordHeartbeat("nobody", "{}", 1).code(), StatusCode::kNotFound);

  ASSERT_TRUE(repo_->MarkWorkerOffline("worker-a").ok());
  EXPECT_EQ(repo_->GetWorker("worker-a")->status, "offline");

  // A second hello updates in place and keeps created_at.
  w.version = "0.2";
  r = repo_->UpsertWorkerHello(w, 3000);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->version, "0.2");
  EXPECT_EQ(r->status, "online");
  EXPECT_EQ(r->created_at, 1000);
  EXPECT_EQ(r->connected_at, 3000);
  ASSERT_TRUE(repo_->MarkAllWorkersOffline().ok());
  EXPECT_EQ(repo_->ListWorkers()->at(0).status, "offline");
}

TEST_F(RepoTest, StaffAndFaces) {
  Staff s;
  s.name = "Ada";
  s.email = "ada@example.com";
  auto st = repo_->CreateStaff(s);
  ASSERT_TRUE(st.ok());
  StaffFace f;
  f.staff_id = st->id;
  f.model = "sface";
  f.embedding = {0.5f, -0.25f, 1.0f};
  f.photo_path = "staff/a.jpg";
  f.quality = 0.9;
  auto face = repo_->AddStaffFace(f);
  ASSERT_TRUE(face.ok()) << face.status().ToString();
  f.model = "arcface";
  f.photo_path = "staff/b.jpg";
  ASSERT_TRUE(repo_->AddStaffFace(f).ok());
  f.staff_id = "ghost";
  EXPECT_EQ(repo_->AddStaffFace(f).status().code(), StatusCode::kNotFound);

  auto faces = repo_->ListStaffFaces(st->id);
  ASSERT_EQ(faces->size(), 2u);
  EXPECT_EQ(repo_->ListAllStaffFaces("sface")->size(), 1u);
  EXPECT_EQ(repo_->ListAllStaffFaces("")->size(), 2u);
  EXPECT_EQ(repo_->ListAllStaffFaces("sface")->at(0).embedding, (std::vector<float>{0.5f, -0.25f, 1.0f}));

  Staff upd = *st;
  upd.name = "Ada L.";
  upd.email.reset();
  ASSERT_TRUE(repo_->UpdateStaff(upd).ok());
  EXPECT_FALSE(repo_->GetStaff(st->id)->email.has_value());

  ASSERT_TRUE(repo_->DeleteStaffFace(face->id).ok());
  auto paths = repo_->DeleteStaff(st->id);
  ASSERT_TRUE(paths.ok());
  EXPECT_EQ(*paths, std::vector<std::string>{"staff/b.jpg"});
  EXPECT_EQ(*repo_->CountRows("staff_faces"), 0);
  EXPECT_EQ(repo_->DeleteStaff(st->id).status().code(), StatusCode::kNotFound);
}

TEST_F(RepoTest, CustomerEmbeddingsKeepTheBestK) {
  auto c = repo_->CreateCustomer({});
  ASSERT_TRUE(c.ok());
  std::vector<std::string> all_evicted;
  std::map<double, std::string> by_quality;
  // What is kept after each one: how many, and the lowest quality.
  const std::vector<std::pair<int64_t, double>> expected_after = {{1, 0.5}, {2, 0.5}, {3, 0.1}, {3, 0.5}, {3, 0.5}};
  size_t step = 0;
  for (double q : {0.5, 0.9, 0.1, 0.7, 0.3}) {
    CustomerEmbedding e;
    e.customer_id = c->id;
    e.model = "m";
    e.embedding = {1, 2};
    e.quality = q;
    std::vector<std::string> ev;
    EmbeddingStats after;
    auto r = repo_->AddCustomerEmbedding(e, 3, &ev, &after);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(after.count, expected_after[step].first) << "after quality " << q;
    EXPECT_DOUBLE_EQ(after.min_quality, expected_after[step].second) << "after quality " << q;
    ++step;
    by_quality[q] = r->id;
    all_evicted.insert(all_evicted.end(), ev.begin(), ev.end());
  }
  auto kept = repo_->ListCustomerEmbeddings(c->id);
  ASSERT_EQ(kept->size(), 3u);
  EXPECT_DOUBLE_EQ(kept->at(0).quality, 0.9);
  EXPECT_DOUBLE_EQ(kept->at(1).quality, 0.7);
  EXPECT_DOUBLE_EQ(kept->at(2).quality, 0.5);
  EXPECT_EQ(std::set<std::string>(all_evicted.begin(), all_evicted.end()),
            (std::set<std::string>{by_quality[0.1], by_quality[0.3]}));
  // Another model has its own K.
  CustomerEmbedding other;
  other.customer_id = c->id;
  other.model = "m2";
  other.embedding = {1};
  std::vector<std::string> ev;
  ASSERT_TRUE(repo_->AddCustomerEmbedding(other, 3, &ev).ok());
  EXPECT_TRUE(ev.empty());
  EXPECT_EQ(repo_->ListAllCustomerEmbeddings("m")->size(), 3u);
  EXPECT_EQ(repo_->ListAllCustomerEmbeddings("")->size(), 4u);
}

TEST_F(RepoTest, CustomersListSearchRename) {
  for (int i = 0; i < 5; ++i) {
    Customer c;
    c.first_seen_at = 1000 + i;
    c.last_seen_at = 1000 + i;
    ASSERT_TRUE(repo_->CreateCustomer(c).ok());
  }
  auto page = repo_->ListCustomers({}, {2, std::nullopt});
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->items.size(), 2u);
  EXPECT_EQ(page->items[0].last_seen_at, 1004);  // most recently seen first
  ASSERT_TRUE(page->next_cursor.has_value());

  ASSERT_TRUE(repo_->RenameCustomer(page->items[1].id, std::string("Grace 50%_Hopper")).ok());
  CustomerFilter f;
  f.search = "grace";
  auto found = repo_->ListCustomers(f, {});
  ASSERT_EQ(found->items.size(), 1u);
  EXPECT_EQ(found->items[0].name, std::optional<std::string>("Grace 50%_Hopper"));
  f.search = "50%_";  // wildcards are literal
  EXPECT_EQ(repo_->ListCustomers(f, {})->items.size(), 1u);
  f.search = "0%";
  EXPECT_EQ(repo_->ListCustomers(f, {})->items.size(), 1u);
  f.search = "%";
  f.search = "x%y";
  EXPECT_EQ(repo_->ListCustomers(f, {})->items.size(), 0u);
  CustomerFilter named;
  named.named_only = true;
  EXPECT_EQ(repo_->ListCustomers(named, {})->items.size(), 1u);
  ASSERT_TRUE(repo_->RenameCustomer(page->items[1].id, std::nullopt).ok());
  EXPECT_EQ(repo_->ListCustomers(named, {})->items.size(), 0u);
  EXPECT_EQ(repo_->RenameCustomer("ghost", std::string("x")).code(), StatusCode::kNotFound);
  EXPECT_EQ(repo_->ListCustomers({}, {10, std::string("not base64!")}).status().code(), StatusCode::kInvalidArgument);
}

FaceEvent MakeEvent(const std::string& id, int64_t t, const std::string& camera,
                    const std::optional<std::string>& site) {
  FaceEvent e;
  e.event_id = id;
  e.worker_id = "w";
  e.camera_id = camera;
  e.site_id = site;
  e.captured_at = t;
  e.model = "m";
  e.embedding = {0.1f, 0.2f};
  e.bbox = {1, 2, 3, 4};
  return e;
}

TEST_F(RepoTest, LatestVisitIsTheLatestStartedOfThatPersonAtThatSite) {
  ASSERT_TRUE(repo_->CreateSite({"s1", "one", "UTC", 0}).ok());
  ASSERT_TRUE(repo_->CreateSite({"s2", "two", "UTC", 0}).ok());
  auto c = repo_->CreateCustomer({});
  ASSERT_TRUE(c.ok());
  auto other = repo_->CreateCustomer({});
  ASSERT_TRUE(other.ok());
  auto visit = [&](const std::string& customer, std::optional<std::string> site, int64_t from, int64_t to) {
    Visit v;
    v.site_id = std::move(site);
    v.person_kind = "customer";
    v.customer_id = customer;
    v.started_at = from;
    v.ended_at = to;
    v.event_count = 1;
    auto r = repo_->CreateVisit(v);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? r->id : std::string();
  };
  // Created out of order (a late event can open an older visit afterwards).
  const std::string mid = visit(c->id, "s1", 5'000, 6'000);
  const std::string late = visit(c->id, "s1", 9'000, 9'500);
  visit(c->id, "s1", 1'000, 2'000);
  visit(c->id, "s2", 20'000, 21'000);        // another site
  visit(other->id, "s1", 30'000, 31'000);    // another person
  const std::string nosite = visit(c->id, std::nullopt, 40'000, 40'000);

  auto latest = repo_->LatestVisit(std::string("s1"), std::nullopt, c->id);
  ASSERT_TRUE(latest.ok() && latest->has_value()) << latest.status().ToString();
  EXPECT_EQ((*latest)->id, late);
  // Extending it keeps it the latest and moves only its end.
  ASSERT_TRUE(repo_->ExtendVisit(late, 12'000, 2).ok());
  latest = repo_->LatestVisit(std::string("s1"), std::nullopt, c->id);
  ASSERT_TRUE(latest.ok() && latest->has_value());
  EXPECT_EQ((*latest)->id, late);
  EXPECT_EQ((*latest)->started_at, 9'000);
  EXPECT_EQ((*latest)->ended_at, 12'000);
  EXPECT_EQ((*latest)->event_count, 3);
  // A late event before its start moves the start back; still the latest.
  ASSERT_TRUE(repo_->ExtendVisit(late, 8'000, 1).ok());
  latest = repo_->LatestVisit(std::string("s1"), std::nullopt, c->id);
  ASSERT_TRUE(latest.ok() && latest->has_value());
  EXPECT_EQ((*latest)->id, late);
  EXPECT_EQ((*latest)->started_at, 8'000);
  // "No site" is its own site.
  latest = repo_->LatestVisit(std::nullopt, std::nullopt, c->id);
  ASSERT_TRUE(latest.ok() && latest->has_value());
  EXPECT_EQ((*latest)->id, nosite);
  // Nobody there yet.
  latest = repo_->LatestVisit(std::string("s2"), std::nullopt, other->id);
  ASSERT_TRUE(latest.ok());
  EXPECT_FALSE(latest->has_value());
  (void)mid;
}

TEST_F(RepoTest, EventCursorPaginationIsStableAndFiltered) {
  ASSERT_TRUE(repo_->CreateSite({"s1", "one", "UTC", 0}).ok());
  ASSERT_TRUE(repo_->CreateSite({"s2", "two", "UTC", 0}).ok());
  // 300 events, many sharing a timestamp so the id tiebreak matters.
  ASSERT_TRUE(repo_
                  ->InTransaction([&](Repository& tx) -> Status {
                    for (int i = 0; i < 300; ++i) {
                      char id[16];
                      std::snprintf(id, sizeof id, "e%04d", i);
                      VIGIL_RETURN_IF_ERROR(tx.InsertEvent(
                          MakeEvent(id, 1000 + (i / 7), i % 3 == 0 ? "camA" : "camB", i % 2 == 0 ? "s1" : "s2")));
                    }
                    return Status::Ok();
                  })
                  .ok());
  EXPECT_EQ(*repo_->CountRows("events"), 300);

  auto collect = [&](const EventFilter& f, int limit) {
    std::vector<FaceEvent> all;
    PageRequest pr{limit, std::nullopt};
    for (int guard = 0; guard < 1000; ++guard) {
      auto page = repo_->ListEvents(f, pr);
      EXPECT_TRUE(page.ok()) << page.status().ToString();
      if (!page.ok()) break;
      EXPECT_LE(static_cast<int>(page->items.size()), limit);
      all.insert(all.end(), page->items.begin(), page->items.end());
      if (!page->next_cursor) break;
      pr.cursor = page->next_cursor;
    }
    return all;
  };

  auto all = collect({}, 17);
  ASSERT_EQ(all.size(), 300u);
  std::set<std::string> ids;
  for (size_t i = 0; i < all.size(); ++i) {
    ids.insert(all[i].event_id);
    if (i > 0) {
      const auto& a = all[i - 1];
      const auto& b = all[i];
      EXPECT_TRUE(a.captured_at > b.captured_at || (a.captured_at == b.captured_at && a.event_id > b.event_id));
    }
  }
  EXPECT_EQ(ids.size(), 300u);
  EXPECT_EQ(all.front().bbox[2], 3);
  EXPECT_EQ(all.front().embedding, (std::vector<float>{0.1f, 0.2f}));

  EventFilter f;
  f.site_id = "s1";
  f.camera_id = "camA";
  f.from = 1010;
  f.to = 1030;
  auto filtered = collect(f, 4);
  size_t expected = 0;
  for (int i = 0; i < 300; ++i) {
    const int64_t t = 1000 + (i / 7);
    if (i % 3 == 0 && i % 2 == 0 && t >= 1010 && t < 1030) ++expected;
  }
  ASSERT_EQ(filtered.size(), expected);
  for (const auto& e : filtered) {
    EXPECT_EQ(e.site_id, std::optional<std::string>("s1"));
    EXPECT_EQ(e.camera_id, "camA");
    EXPECT_GE(e.captured_at, 1010);
    EXPECT_LT(e.captured_at, 1030);
  }

  // A page boundary survives a newer insert: the next page neither repeats nor skips.
  auto p1 = repo_->ListEvents({}, {10, std::nullopt});
  ASSERT_TRUE(repo_->InsertEvent(MakeEvent("zzz-new", 5000, "camA", "s1")).ok());
  auto p2 = repo_->ListEvents({}, {10, p1->next_cursor});
  EXPECT_EQ(p2->items.front().event_id, all[10].event_id);

  EXPECT_EQ(repo_->InsertEvent(MakeEvent("e0001", 1, "c", std::nullopt)).code(), StatusCode::kAlreadyExists);
  EXPECT_TRUE(*repo_->EventExists("e0001"));
  EXPECT_FALSE(*repo_->EventExists("nope"));
  EXPECT_EQ(repo_->GetEvent("nope").status().code(), StatusCode::kNotFound);
}

TEST_F(RepoTest, VisitsListFiltersAndCursor) {
  auto c1 = repo_->CreateCustomer({});
  auto c2 = repo_->CreateCustomer({});
  ASSERT_TRUE(c1.ok() && c2.ok());
  for (int i = 0; i < 40; ++i) {
    Visit v;
    v.site_id = i % 2 == 0 ? std::optional<std::string>("s1") : std::nullopt;
    v.person_kind = "customer";
    v.customer_id = i % 4 == 0 ? c1->id : c2->id;
    v.started_at = 100 * (i / 3);
    v.ended_at = v.started_at + 10;
    v.event_count = 1;
    ASSERT_TRUE(repo_->CreateVisit(v).ok());
  }
  Visit bad;
  bad.person_kind = "robot";
  EXPECT_EQ(repo_->CreateVisit(bad).status().code(), StatusCode::kInvalidArgument);
  bad.person_kind = "customer";  // no customer id: the CHECK constraint refuses it
  EXPECT_EQ(repo_->CreateVisit(bad).status().code(), StatusCode::kInvalidArgument);

  VisitFilter f;
  f.customer_id = c1->id;
  std::vector<Visit> got;
  PageRequest pr{3, std::nullopt};
  for (;;) {
    auto page = repo_->ListVisits(f, pr);
    ASSERT_TRUE(page.ok()) << page.status().ToString();
    got.insert(got.end(), page->items.begin(), page->items.end());
    if (!page->next_cursor) break;
    pr.cursor = page->next_cursor;
  }
  EXPECT_EQ(got.size(), 10u);
  for (const auto& v : got) EXPECT_EQ(v.customer_id, c1->id);

  VisitFilter site;
  site.site_id = "s1";
  site.from = 300;
  site.to = 900;
  auto page = repo_->ListVisits(site, {100, std::nullopt});
  for (const auto& v : page->items) {
    EXPECT_EQ(v.site_id, std::optional<std::string>("s1"));
    EXPECT_GE(v.started_at, 300);
    EXPECT_LT(v.started_at, 900);
  }
  EXPECT_EQ(page->items.size(), 9u);  // i in [9, 27) with i even
}

TEST_F(RepoTest, EraseCustomerRemovesEverything) {
  auto keep = repo_->CreateCustomer({});
  auto gone = repo_->CreateCustomer({});
  ASSERT_TRUE(keep.ok() && gone.ok());
  auto add_history = [&](const std::string& cid, const std::string& tag) {
    Visit v;
    v.person_kind = "customer";
    v.customer_id = cid;
    v.started_at = v.ended_at = 10;
    auto visit = repo_->CreateVisit(v);
    ASSERT_TRUE(visit.ok());
    for (int i = 0; i < 3; ++i) {
      auto snap = repo_->CreateSnapshot({"", "snapshots/" + tag + std::to_string(i) + ".jpg", 0, 100});
      ASSERT_TRUE(snap.ok());
      FaceEvent e = MakeEvent(tag + std::to_string(i), 10 + i, "cam", std::nullopt);
      e.customer_id = cid;
      e.visit_id = visit->id;
      e.snapshot_id = snap->id;
      ASSERT_TRUE(repo_->InsertEvent(e).ok());
      CustomerEmbedding emb;
      emb.customer_id = cid;
      emb.model = "m";
      emb.embedding = {1, 0};
      ASSERT_TRUE(repo_->AddCustomerEmbedding(emb, 5, nullptr).ok());
    }
  };
  add_history(keep->id, "k");
  add_history(gone->id, "g");

  auto r = repo_->EraseCustomer(gone->id);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(std::set<std::string>(r->snapshot_paths.begin(), r->snapshot_paths.end()),
            (std::set<std::string>{"snapshots/g0.jpg", "snapshots/g1.jpg", "snapshots/g2.jpg"}));
  EXPECT_EQ(r->embedding_ids.size(), 3u);
  EXPECT_EQ(r->events_deleted, 3);
  EXPECT_EQ(r->visits_deleted, 1);
  EXPECT_EQ(repo_->GetCustomer(gone->id).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(*repo_->CountRows("events"), 3);
  EXPECT_EQ(*repo_->CountRows("visits"), 1);
  EXPECT_EQ(*repo_->CountRows("snapshots"), 3);
  EXPECT_EQ(*repo_->CountRows("customer_embeddings"), 3);
  EventFilter f;
  f.customer_id = gone->id;
  EXPECT_TRUE(repo_->ListEvents(f, {})->items.empty());
  EXPECT_EQ(repo_->EraseCustomer(gone->id).status().code(), StatusCode::kNotFound);
}

TEST_F(RepoTest, SnapshotRetentionUnlinksEvents) {
  auto old_snap = repo_->CreateSnapshot({"", "snapshots/old.jpg", 1000, 10});
  auto new_snap = repo_->CreateSnapshot({"", "snapshots/new.jpg", 9000, 10});
  ASSERT_TRUE(old_snap.ok() && new_snap.ok());
  FaceEvent e = MakeEvent("ev", 1000, "cam", std::nullopt);
  e.snapshot_id = old_snap->id;
  ASSERT_TRUE(repo_->InsertEvent(e).ok());
  auto deleted = repo_->DeleteSnapshotsBefore(5000, 100);
  ASSERT_TRUE(deleted.ok());
  ASSERT_EQ(deleted->size(), 1u);
  EXPECT_EQ(deleted->at(0).path, "snapshots/old.jpg");
  EXPECT_FALSE(repo_->GetEvent("ev")->snapshot_id.has_value());
  EXPECT_TRUE(repo_->GetSnapshot(new_snap->id).ok());
  EXPECT_EQ(repo_->GetSnapshot(old_snap->id).status().code(), StatusCode::kNotFound);
}

TEST_F(RepoTest, TransactionRollsBackOnError) {
  Status st = repo_->InTransaction([](Repository& tx) -> Status {
    VIGIL_RETURN_IF_ERROR(tx.CreateSite({"a", "A", "UTC", 0}).status());
    VIGIL_RETURN_IF_ERROR(tx.InTransaction([](Repository& inner) {
      return inner.CreateSite({"b", "B", "UTC", 0}).status();
    }));
    return tx.CreateSite({"a", "dup", "UTC", 0}).status();
  });
  EXPECT_EQ(st.code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(*repo_->CountRows("sites"), 0);
  st = repo_->InTransaction([](Repository&) -> Status { throw std::runtime_error("boom"); });
  EXPECT_EQ(st.code(), StatusCode::kInternal);
  ASSERT_TRUE(repo_->InTransaction([](Repository& tx) { return tx.CreateSite({"c", "C", "UTC", 0}).status(); }).ok());
  EXPECT_EQ(*repo_->CountRows("sites"), 1);
}

TEST_F(RepoTest, BusyDatabaseGivesUnavailable) {
  RepositoryOptions opts;
  opts.busy_timeout_ms = 50;
  auto other = OpenRepository(url_, opts);
  ASSERT_TRUE(other.ok()) << other.status().ToString();
  // While this repository holds the write lock, the other connection's writes
  // time out with Unavailable; its reads still work (WAL).
  Status st = repo_->InTransaction([&](Repository& tx) -> Status {
    VIGIL_RETURN_IF_ERROR(tx.CreateSite({"held", "H", "UTC", 0}).status());
    auto w = (*other)->CreateSite({"blocked", "B", "UTC", 0});
    EXPECT_EQ(w.status().code(), StatusCode::kUnavailable) << w.status().ToString();
    Status tx_st = (*other)->InTransaction([](Repository&) { return Status::Ok(); });
    EXPECT_EQ(tx_st.code(), StatusCode::kUnavailable) << tx_st.ToString();
    auto n = (*other)->CountRows("sites");
    EXPECT_TRUE(n.ok()) << n.status().ToString();
    if (n.ok()) {
      EXPECT_EQ(*n, 0);  // the uncommitted row is invisible
    }
    return Status::Ok();
  });
  ASSERT_TRUE(st.ok()) << st.ToString();
  // After the commit the other connection writes normally.
  EXPECT_TRUE((*other)->CreateSite({"later", "L", "UTC", 0}).ok());
  EXPECT_EQ(*repo_->CountRows("sites"), 2);
}

TEST_F(RepoTest, ReadsFromOtherThreadsDoNotWaitForAWriteTransaction) {
  ASSERT_TRUE(repo_->CreateSite({"before", "B", "UTC", 0}).ok());
  Status st = repo_->InTransaction([&](Repository& tx) -> Status {
    VIGIL_RETURN_IF_ERROR(tx.CreateSite({"inside", "I", "UTC", 0}).status());
    // Same thread: sees its own uncommitted row.
    EXPECT_TRUE(tx.GetSite("inside").ok());
    // Another thread: reads the last committed state without blocking on the
    // transaction (a read that waited for it would miss the deadline).
    auto other = std::async(std::launch::async, [&] { return repo_->ListSites(); });
    EXPECT_EQ(other.wait_for(std::chrono::seconds(10)), std::future_status::ready);
    auto sites = other.get();
    EXPECT_TRUE(sites.ok());
    if (sites.ok()) {
      EXPECT_EQ(sites->size(), 1u);
    }
    return Status::Ok();
  });
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(repo_->ListSites()->size(), 2u);
}

TEST_F(RepoTest, ConcurrentCallsFromManyThreads) {
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 50; ++i) {
        auto r = repo_->CreateSite({"", "site-" + std::to_string(t) + "-" + std::to_string(i), "UTC", 0});
        EXPECT_TRUE(r.ok()) << r.status().ToString();
        EXPECT_TRUE(repo_->ListSites().ok());
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(*repo_->CountRows("sites"), 200);
}

}  // namespace
}  // namespace vigil::storage
