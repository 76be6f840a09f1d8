#include "storage/event_ingestor.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <cmath>
#include <map>

#include "storage/storage_test_helpers.h"

namespace vigil::storage {
namespace {

// An exact in-memory customer index, as the api builds on vigil::gallery.
class FakeIndex final : public CustomerIndex {
 public:
  std::optional<CustomerMatch> Match(const std::string& model, const std::vector<float>& embedding,
                                     double threshold) const override {
    ++match_calls;
    std::optional<CustomerMatch> best;
    for (const auto& [id, e] : entries) {
      if (e.model != model) continue;
      const double s = CosineSimilarity(e.embedding, embedding);
      if (s >= threshold && (!best || s > best->similarity)) best = CustomerMatch{e.customer_id, s};
    }
    return best;
  }
  std::vector<std::optional<CustomerMatch>> MatchMany(const std::string& model,
                                                      const std::vector<const std::vector<float>*>& embeddings,
                                                      double threshold) const override {
    ++match_many_calls;
    return CustomerIndex::MatchMany(model, embeddings, threshold);
  }
  void Apply(const IndexDelta& delta) override {
    ++applies;
    for (const auto& e : delta.added) entries[e.id] = e;
    for (const auto& id : delta.removed_embedding_ids) entries.erase(id);
  }
  std::map<std::string, CustomerEmbedding> entries;
  mutable int match_calls = 0;
  mutable int match_many_calls = 0;
  int applies = 0;
};

// A unit vector pointing mostly along axis `person`, so different persons are
// orthogonal and the same person's faces are very similar.
std::vector<float> Face(int person, float jitter = 0) {
  std::vector<float> v(8, 0.f);
  v[static_cast<size_t>(person) % v.size()] = 1.f;
  v[(static_cast<size_t>(person) + 1) % v.size()] = jitter;
  return v;
}

class IngestTest : public testing::RepoTest {
 protected:
  void SetUp() override {
    RepoTest::SetUp();
    options_.customer_match_threshold = 0.8;
    options_.visit_merge_window_ms = 10 * 60 * 1000;
    options_.max_embeddings_per_customer = 3;
    ingestor_ = std::make_unique<EventIngestor>(*repo_, &index_, clock_, options_);
  }

  IngestEvent Event(const std::string& id, int person, int64_t at, const std::string& site = "s1") {
    IngestEvent e;
    e.event_id = id;
    e.worker_id = "w1";
    e.camera_id = "cam1";
    e.site_id = site;
    e.captured_at = at;
    e.model = "m";
    e.embedding = Face(person, 0.05f);
    e.quality = 0.5;
    e.det_score = 0.9;
    e.bbox = {10, 20, 30, 40};
    return e;
  }

  IngestOptions options_;
  FakeIndex index_;
  std::unique_ptr<EventIngestor> ingestor_;
  const int64_t t0_ = 1'790'000'000'000;
};

TEST_F(IngestTest, SameEventTwiceIsStoredOnce) {
  auto e = Event("11111111-1111-4111-8111-111111111111", 1, t0_);
  e.snapshot_path = "snapshots/a.jpg";
  e.snapshot_size = 1234;
  auto first = ingestor_->Ingest(e);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_FALSE(first->duplicate);
  EXPECT_TRUE(first->new_customer);
  EXPECT_TRUE(first->new_visit);
  ASSERT_TRUE(first->snapshot_id.has_value());

  auto second = ingestor_->Ingest(e);
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  EXPECT_TRUE(second->duplicate);
  EXPECT_EQ(*repo_->CountRows("events"), 1);
  EXPECT_EQ(*repo_->CountRows("customers"), 1);
  EXPECT_EQ(*repo_->CountRows("visits"), 1);
  EXPECT_EQ(*repo_->CountRows("snapshots"), 1);
  EXPECT_EQ(*repo_->CountRows("customer_embeddings"), 1);
  EXPECT_EQ(repo_->GetVisit(*first->visit_id)->event_count, 1);

  auto stored = repo_->GetEvent(e.event_id);
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ(stored->customer_id, first->customer_id);
  EXPECT_EQ(stored->visit_id, first->visit_id);
  EXPECT_EQ(stored->snapshot_id, first->snapshot_id);
  EXPECT_EQ(stored->embedding, e.embedding);

  // A duplicate inside one batch, and of an already stored event.
  auto batch = ingestor_->IngestBatch({e, Event("e2", 2, t0_), Event("e2", 2, t0_)});
  ASSERT_TRUE(batch.ok()) << batch.status().ToString();
  EXPECT_TRUE(batch->events[0].duplicate);
  EXPECT_FALSE(batch->events[1].duplicate);
  EXPECT_TRUE(batch->events[2].duplicate);
  EXPECT_EQ(*repo_->CountRows("events"), 2);
}

TEST_F(IngestTest, MatchesKnownCustomerOrCreatesAnonymousOne) {
  auto a = ingestor_->Ingest(Event("a1", 1, t0_));
  ASSERT_TRUE(a.ok());
  EXPECT_TRUE(a->new_customer);
  // The index learned the customer only through Apply after the commit.
  EXPECT_EQ(index_.applies, 1);
  EXPECT_EQ(index_.entries.size(), 1u);

  auto a2 = ingestor_->Ingest(Event("a2", 1, t0_ + 60'000));
  ASSERT_TRUE(a2.ok());
  EXPECT_FALSE(a2->new_customer);
  EXPECT_EQ(a2->customer_id, a->customer_id);
  ASSERT_TRUE(a2->customer_similarity.has_value());
  EXPECT_GT(*a2->customer_similarity, 0.99);

  auto b = ingestor_->Ingest(Event("b1", 2, t0_ + 60'000));
  ASSERT_TRUE(b.ok());
  EXPECT_TRUE(b->new_customer);
  EXPECT_NE(b->customer_id, a->customer_id);
  EXPECT_EQ(*repo_->CountRows("customers"), 2);

  // A different model never matches.
  auto other_model = Event("a3", 1, t0_ + 120'000);
  other_model.model = "m2";
  auto c = ingestor_->Ingest(other_model);
  ASSERT_TRUE(c.ok());
  EXPECT_TRUE(c->new_customer);

  auto cust = repo_->GetCustomer(*a->customer_id);
  EXPECT_EQ(cust->first_seen_at, t0_);
  EXPECT_EQ(cust->last_seen_at, t0_ + 60'000);
  EXPECT_EQ(cust->visit_count, 1);
}

TEST_F(IngestTest, NoIndexChangeWhenTheTransactionFails) {
  RepositoryOptions opts;
  opts.busy_timeout_ms = 20;
  auto other = OpenRepository(url_, opts);
  ASSERT_TRUE(other.ok());
  auto blocked = std::make_unique<EventIngestor>(**other, &index_, clock_, options_);
  Status st = repo_->InTransaction([&](Repository&) -> Status {
    auto r = blocked->Ingest(Event("x1", 1, t0_));
    EXPECT_EQ(r.status().code(), StatusCode::kUnavailable) << r.status().ToString();
    auto rb = blocked->IngestBatch({Event("x2", 2, t0_), Event("x3", 3, t0_)});
    EXPECT_EQ(rb.status().code(), StatusCode::kUnavailable) << rb.status().ToString();
    return Status::Ok();
  });
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(index_.applies, 0);
  EXPECT_TRUE(index_.entries.empty());
  EXPECT_EQ(*repo_->CountRows("events"), 0);
  // Retrying once the lock is gone stores it.
  auto r = blocked->Ingest(Event("x1", 1, t0_));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(index_.entries.size(), 1u);
}

TEST_F(IngestTest, VisitMergeWindowPerSite) {
  const int64_t w = options_.visit_merge_window_ms;
  auto e1 = ingestor_->Ingest(Event("v1", 1, t0_));
  auto e2 = ingestor_->Ingest(Event("v2", 1, t0_ + w - 1));               // within the window: same visit
  auto e3 = ingestor_->Ingest(Event("v3", 1, t0_ + w + 5 * 60'000));      // within the window of e2: still the same
  auto e4 = ingestor_->Ingest(Event("v4", 1, t0_ + 3 * w + 5 * 60'000));  // a gap longer than the window: new visit
  auto e5 = ingestor_->Ingest(Event("v5", 1, t0_ + 3 * w + 6 * 60'000, "s2"));  // other site: its own visit
  for (auto* r : {&e1, &e2, &e3, &e4, &e5}) ASSERT_TRUE(r->ok()) << r->status().ToString();
  EXPECT_EQ(e1->visit_id, e2->visit_id);
  EXPECT_EQ(e1->visit_id, e3->visit_id);
  EXPECT_NE(e3->visit_id, e4->visit_id);
  EXPECT_NE(e4->visit_id, e5->visit_id);
  EXPECT_TRUE(e4->new_visit);
  EXPECT_FALSE(e3->new_visit);
  EXPECT_EQ(e1->customer_id, e5->customer_id);

  auto v = repo_->GetVisit(*e1->visit_id);
  EXPECT_EQ(v->started_at, t0_);
  EXPECT_EQ(v->ended_at, t0_ + w + 5 * 60'000);
  EXPECT_EQ(v->event_count, 3);
  EXPECT_EQ(repo_->GetCustomer(*e1->customer_id)->visit_count, 3);

  // A late (out of order) event inside the window widens the visit backwards.
  auto late = ingestor_->Ingest(Event("v0", 1, t0_ - 60'000));
  ASSERT_TRUE(late.ok());
  // The latest visit at s1 is e4's; t0-1min is far before it, so it is a new visit.
  EXPECT_TRUE(late->new_visit);
  // e4's visit is still the latest (it started last): the next event at s1
  // extends it, not the late one's.
  auto e6 = ingestor_->Ingest(Event("v6", 1, t0_ + 3 * w + 7 * 60'000));
  ASSERT_TRUE(e6.ok());
  EXPECT_FALSE(e6->new_visit);
  EXPECT_EQ(e6->visit_id, e4->visit_id);
}

// The ingestor remembers each person's latest visit instead of asking the
// database per event; a remembered visit deleted behind its back is noticed.
TEST_F(IngestTest, RemembersLatestVisitsButNoticesOneDeletedBehindItsBack) {
  auto e1 = ingestor_->Ingest(Event("r1", 1, t0_));
  ASSERT_TRUE(e1.ok());
  {
    sqlite3* raw = nullptr;
    ASSERT_EQ(sqlite3_open((dir_.path() + "/vigil.db").c_str(), &raw), SQLITE_OK);
    sqlite3_busy_timeout(raw, 2000);
    const std::string sql = "DELETE FROM visits WHERE id = '" + *e1->visit_id + "'";
    ASSERT_EQ(sqlite3_exec(raw, sql.c_str(), nullptr, nullptr, nullptr), SQLITE_OK);
    sqlite3_close(raw);
  }
  auto e2 = ingestor_->Ingest(Event("r2", 1, t0_ + 60'000));  // within the window of the deleted visit
  ASSERT_TRUE(e2.ok()) << e2.status().ToString();
  EXPECT_TRUE(e2->new_visit);
  EXPECT_NE(e2->visit_id, e1->visit_id);
  auto e3 = ingestor_->Ingest(Event("r3", 1, t0_ + 120'000));
  ASSERT_TRUE(e3.ok());
  EXPECT_EQ(e3->visit_id, e2->visit_id);
  EXPECT_EQ(repo_->GetVisit(*e2->visit_id)->event_count, 2);
  EXPECT_EQ(*repo_->CountRows("visits"), 1);
}

TEST_F(IngestTest, StaffEventsBecomeStaffVisitsAndNeverCustomers) {
  Staff s;
  s.name = "Bob";
  auto staff = repo_->CreateStaff(s);
  ASSERT_TRUE(staff.ok());
  auto e = Event("st1", 4, t0_);
  e.staff_id = staff->id;
  e.staff_similarity = 0.77;
  auto r = ingestor_->Ingest(e);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->person_kind, "staff");
  EXPECT_FALSE(r->customer_id.has_value());
  auto e2 = Event("st2", 4, t0_ + 1000);
  e2.staff_id = staff->id;
  auto r2 = ingestor_->Ingest(e2);
  EXPECT_EQ(r2->visit_id, r->visit_id);
  EXPECT_EQ(*repo_->CountRows("customers"), 0);
  auto visit = repo_->GetVisit(*r->visit_id);
  EXPECT_EQ(visit->person_kind, "staff");
  EXPECT_EQ(visit->staff_id, staff->id);
  EXPECT_EQ(visit->event_count, 2);
  EXPECT_DOUBLE_EQ(*repo_->GetEvent("st1")->staff_similarity, 0.77);

  // A staff id the API no longer knows (deleted meanwhile) falls back to the customer path.
  auto e3 = Event("st3", 4, t0_ + 2000);
  e3.staff_id = "deleted-staff";
  auto r3 = ingestor_->Ingest(e3);
  ASSERT_TRUE(r3.ok()) << r3.status().ToString();
  EXPECT_EQ(r3->person_kind, "customer");
  EXPECT_TRUE(r3->new_customer);
}

TEST_F(IngestTest, KeepsTheBestKEmbeddingsAndTellsTheIndex) {
  std::optional<std::string> customer;
  for (int i = 0; i < 6; ++i) {
    auto e = Event("k" + std::to_string(i), 5, t0_ + i * 1000);
    e.quality = 0.1 * (i % 3 == 0 ? 9 - i : i);  // 0.9, 0.1, 0.2, 0.6, 0.4, 0.5
    auto r = ingestor_->Ingest(e);
    ASSERT_TRUE(r.ok());
    if (customer) {
      EXPECT_EQ(r->customer_id, customer);
    }
    customer = r->customer_id;
  }
  auto kept = repo_->ListCustomerEmbeddings(*customer);
  ASSERT_EQ(kept->size(), 3u);
  EXPECT_NEAR(kept->at(0).quality, 0.9, 1e-9);
  EXPECT_NEAR(kept->at(1).quality, 0.6, 1e-9);
  EXPECT_NEAR(kept->at(2).quality, 0.5, 1e-9);
  // The index mirrors the database exactly.
  ASSERT_EQ(index_.entries.size(), 3u);
  for (const auto& e : *kept) EXPECT_EQ(index_.entries.count(e.id), 1u);
}

TEST_F(IngestTest, BatchCreatesOneCustomerPerPersonAndAppliesAfterCommit) {
  std::vector<IngestEvent> batch;
  for (int i = 0; i < 30; ++i) batch.push_back(Event("b" + std::to_string(i), i % 3, t0_ + i * 1000));
  auto r = ingestor_->IngestBatch(batch);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(index_.applies, 1);
  EXPECT_EQ(*repo_->CountRows("customers"), 3);
  EXPECT_EQ(*repo_->CountRows("visits"), 3);
  EXPECT_EQ(*repo_->CountRows("events"), 30);
  int new_customers = 0;
  for (const auto& o : r->events) {
    EXPECT_TRUE(o.status.ok());
    new_customers += o.new_customer ? 1 : 0;
  }
  EXPECT_EQ(new_customers, 3);
  EXPECT_EQ(index_.entries.size(), 9u);  // 3 customers x K=3
  EXPECT_EQ(r->delta.added.size(), 9u);
}

TEST_F(IngestTest, BatchMatchesKnownCustomersInOnePassPerModel) {
  // Three known customers, one per person.
  ASSERT_TRUE(ingestor_->IngestBatch({Event("k1", 1, t0_), Event("k2", 2, t0_), Event("k3", 3, t0_)}).ok());
  const auto known = *repo_->CountRows("customers");
  ASSERT_EQ(known, 3);
  index_.match_calls = 0;
  index_.match_many_calls = 0;
  std::vector<IngestEvent> batch;
  for (int i = 0; i < 12; ++i) batch.push_back(Event("n" + std::to_string(i), 1 + i % 3, t0_ + 1000 + i));
  batch.push_back(Event("other-model", 1, t0_ + 2000));
  batch.back().model = "m2";  // no gallery for it yet: a new customer
  batch.push_back(Event("stranger", 6, t0_ + 3000));
  auto r = ingestor_->IngestBatch(batch);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(index_.match_many_calls, 2) << "one pass per model";
  for (int i = 0; i < 12; ++i) {
    const auto& o = r->events[static_cast<size_t>(i)];
    ASSERT_TRUE(o.status.ok());
    EXPECT_FALSE(o.new_customer) << "event n" << i << " is a known person";
    ASSERT_TRUE(o.customer_similarity.has_value());
    EXPECT_GT(*o.customer_similarity, 0.99);
    // Same person, same customer as the first event of that person.
    EXPECT_EQ(o.customer_id, r->events[static_cast<size_t>(i % 3)].customer_id);
  }
  EXPECT_TRUE(r->events[12].new_customer);
  EXPECT_TRUE(r->events[13].new_customer);
  EXPECT_EQ(*repo_->CountRows("customers"), known + 2);
}

TEST_F(IngestTest, BadEventInBatchDoesNotSpoilTheOthers) {
  // Fault injection: a trigger makes the database refuse event g4 only.
  {
    sqlite3* raw = nullptr;
    ASSERT_EQ(sqlite3_open((dir_.path() + "/vigil.db").c_str(), &raw), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(raw,
                           "CREATE TRIGGER fail_g4 BEFORE INSERT ON events WHEN NEW.event_id = 'g4' "
                           "BEGIN SELECT RAISE(ABORT, 'injected failure'); END",
                           nullptr, nullptr, nullptr),
              SQLITE_OK);
    sqlite3_close(raw);
  }
  std::vector<IngestEvent> batch = {Event("g1", 1, t0_), Event("g2", 2, t0_), Event("g3", 3, t0_), Event("g4", 4, t0_)};
  batch[1].embedding.clear();  // invalid: refused before touching the database
  auto r = ingestor_->IngestBatch(batch);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->events[0].status.ok());
  EXPECT_EQ(r->events[1].status.code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(r->events[2].status.ok());
  EXPECT_FALSE(r->events[3].status.ok());
  EXPECT_EQ(*repo_->CountRows("events"), 2);
  // g4's customer was rolled back with it; the index holds only g1's and g3's.
  EXPECT_EQ(*repo_->CountRows("customers"), 2);
  EXPECT_EQ(index_.entries.size(), 2u);
  // The visits of the rolled-back batch are not remembered: g1's person's
  // next event extends the visit that was committed.
  auto next = ingestor_->Ingest(Event("g5", 1, t0_ + 60'000));
  ASSERT_TRUE(next.ok()) << next.status().ToString();
  EXPECT_FALSE(next->new_visit);
  EXPECT_EQ(next->visit_id, r->events[0].visit_id);
  EXPECT_EQ(*repo_->CountRows("visits"), 2);

  auto bad = Event("", 1, t0_);
  EXPECT_EQ(ingestor_->Ingest(bad).status().code(), StatusCode::kInvalidArgument);
  bad = Event("nan", 1, t0_);
  bad.embedding[0] = std::nanf("");
  EXPECT_EQ(ingestor_->Ingest(bad).status().code(), StatusCode::kInvalidArgument);
}

TEST_F(IngestTest, ErasedCustomerStillInIndexStartsANewCustomer) {
  auto a = ingestor_->Ingest(Event("c1", 6, t0_));
  ASSERT_TRUE(a.ok());
  ASSERT_TRUE(repo_->EraseCustomer(*a->customer_id).ok());
  // The api has not removed it from the index yet.
  ASSERT_EQ(index_.entries.size(), 1u);
  auto b = ingestor_->Ingest(Event("c2", 6, t0_ + 1000));
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  EXPECT_TRUE(b->new_customer);
  EXPECT_NE(b->customer_id, a->customer_id);
}

TEST(CosineSimilarityTest, Basics) {
  EXPECT_NEAR(CosineSimilarity({1, 0}, {1, 0}), 1.0, 1e-12);
  EXPECT_NEAR(CosineSimilarity({1, 0}, {0, 1}), 0.0, 1e-12);
  EXPECT_NEAR(CosineSimilarity({1, 1}, {-1, -1}), -1.0, 1e-12);
  EXPECT_EQ(CosineSimilarity({1, 0}, {1, 0, 0}), 0.0);
  EXPECT_EQ(CosineSimilarity({0, 0}, {1, 0}), 0.0);
}

}  // namespace
}  // namespace vigil::storage
