#include "storage/event_ingestor.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <unordered_map>

#include "core/logging.h"

namespace vigil::storage {

double CosineSimilarity(const std::vector<float>& a, const std::vector<float>& b) {
  if (a.size() != b.size() || a.empty()) return 0;
  double dot = 0, na = 0, nb = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    dot += static_cast<double>(a[i]) * b[i];
    na += static_cast<double>(a[i]) * a[i];
    nb += static_cast<double>(b[i]) * b[i];
  }
  if (na <= 0 || nb <= 0) return 0;
  return dot / (std::sqrt(na) * std::sqrt(nb));
}

namespace {

// What this transaction wrote for `key`, else what committed transactions
// did; nullptr when neither remembers it.
template <typename Value>
const Value* FindPendingOrKnown(const std::unordered_map<std::string, Value>& pending,
                                const std::unordered_map<std::string, Value>& known, const std::string& key) {
  if (auto it = pending.find(key); it != pending.end()) return &it->second;
  if (auto it = known.find(key); it != known.end()) return &it->second;
  return nullptr;
}

}  // namespace

// State of one transaction: customers created in it (not yet in the index),
// event ids seen in it, and the index delta to apply after the commit.
struct EventIngestor::Pending {
  struct NewCustomer {
    std::string customer_id;
    std::string model;
    std::vector<float> embedding;
  };
  std::vector<NewCustomer> new_customers;
  std::set<std::string> event_ids;
  IndexDelta delta;
  std::unordered_map<std::string, KnownVisit> visits;  // latest visits written in this transaction
  std::unordered_map<std::string, EmbeddingStats> embedding_stats;  // by customer and model, likewise

  void Evict(const std::vector<std::string>& ids) {
    for (const auto& id : ids) {
      auto it =
          std::find_if(delta.added.begin(), delta.added.end(), [&](const CustomerEmbedding& e) { return e.id == id; });
      if (it != delta.added.end()) {
        delta.added.erase(it);  // added and evicted in the same transaction: the index never sees it
      } else {
        delta.removed_embedding_ids.push_back(id);
      }
    }
  }
};

std::string EventIngestor::VisitKey(const std::optional<std::string>& site_id,
                                    const std::optional<std::string>& staff_id,
                                    const std::optional<std::string>& customer_id) {
  // Ids are UUIDs and never contain '\n'; a missing site is distinct from
  // any site id by its prefix.
  std::string key = staff_id ? "s\n" + *staff_id : "c\n" + customer_id.value_or("");
  key += site_id ? "\n+" + *site_id : std::string("\n-");
  return key;
}

void EventIngestor::Remember(Pending& pending) {
  if (known_visits_.size() + pending.visits.size() > kMaxKnown) known_visits_.clear();
  for (auto& [key, v] : pending.visits) known_visits_[key] = std::move(v);
  if (known_embedding_stats_.size() + pending.embedding_stats.size() > kMaxKnown) known_embedding_stats_.clear();
  for (auto& [key, st] : pending.embedding_stats) known_embedding_stats_[key] = st;
}

EventIngestor::EventIngestor(Repository& repo, CustomerIndex* index, Clock& clock, IngestOptions options)
    : repo_(repo), index_(index), clock_(clock), options_(options) {
  if (options_.max_embeddings_per_customer < 1) options_.max_embeddings_per_customer = 1;
}

Status EventIngestor::Validate(const IngestEvent& e) {
  if (e.event_id.empty()) return InvalidArgument("event_id is missing");
  if (e.worker_id.empty()) return InvalidArgument("event " + e.event_id + ": worker_id is missing");
  if (e.camera_id.empty()) return InvalidArgument("event " + e.event_id + ": camera_id is missing");
  if (e.captured_at <= 0) return InvalidArgument("event " + e.event_id + ": captured_at must be positive");
  if (e.model.empty()) return InvalidArgument("event " + e.event_id + ": model is missing");
  if (e.embedding.empty()) return InvalidArgument("event " + e.event_id + ": embedding is empty");
  for (float v : e.embedding) {
    if (!std::isfinite(v)) return InvalidArgument("event " + e.event_id + ": embedding has a non-finite value");
  }
  if (e.site_id && e.site_id->empty()) return InvalidArgument("event " + e.event_id + ": site_id is empty");
  if (e.staff_id && e.staff_id->empty()) return InvalidArgument("event " + e.event_id + ": staff_id is empty");
  return Status::Ok();
}

std::vector<std::optional<std::optional<CustomerMatch>>> EventIngestor::MatchAll(
    const std::vector<IngestEvent>& events, const std::vector<bool>& valid) const {
  std::vector<std::optional<std::optional<CustomerMatch>>> out(events.size());
  if (index_ == nullptr) return out;
  std::map<std::string, std::vector<size_t>> by_model;
  for (size_t i = 0; i < events.size(); ++i) {
    if (valid[i] && !events[i].staff_id) by_model[events[i].model].push_back(i);
  }
  for (const auto& [model, positions] : by_model) {
    std::vector<const std::vector<float>*> queries;
    queries.reserve(positions.size());
    for (size_t i : positions) queries.push_back(&events[i].embedding);
    auto matches = index_->MatchMany(model, queries, options_.customer_match_threshold);
    if (matches.size() != positions.size()) continue;  // a broken index: match on demand instead
    for (size_t j = 0; j < positions.size(); ++j) out[positions[j]] = std::move(matches[j]);
  }
  return out;
}

Status EventIngestor::IngestOne(Repository& tx, const IngestEvent& e, Pending& pending, IngestOutcome& out,
                                const std::optional<CustomerMatch>* matched) {
  out = IngestOutcome{};
  out.event_id = e.event_id;
  if (pending.event_ids.count(e.event_id) > 0) {
    out.duplicate = true;
    return Status::Ok();
  }
  VIGIL_ASSIGN_OR_RETURN(bool exists, tx.EventExists(e.event_id));
  if (exists) {
    out.duplicate = true;
    return Status::Ok();
  }
  pending.event_ids.insert(e.event_id);
  const int64_t now = clock_.NowUnixMs();

  // A staff match from the worker counts only while that staff member exists
  // (the worker's gallery may be older than a deletion).
  std::optional<std::string> staff_id;
  if (e.staff_id) {
    auto staff = tx.GetStaff(*e.staff_id);
    if (staff.ok()) {
      staff_id = e.staff_id;
    } else if (staff.status().code() != StatusCode::kNotFound) {
      return staff.status();
    }
  }

  FaceEvent ev;
  ev.event_id = e.event_id;
  ev.worker_id = e.worker_id;
  ev.camera_id = e.camera_id;
  ev.site_id = e.site_id;
  ev.captured_at = e.captured_at;
  ev.track_id = e.track_id;
  ev.bbox = e.bbox;
  ev.det_score = e.det_score;
  ev.quality = e.quality;
  ev.model = e.model;
  ev.embedding = e.embedding;
  ev.created_at = now;

  if (e.snapshot_path) {
    Snapshot snap;
    snap.path = *e.snapshot_path;
    snap.size = e.snapshot_size;
    snap.created_at = now;
    VIGIL_ASSIGN_OR_RETURN(snap, tx.CreateSnapshot(std::move(snap)));
    ev.snapshot_id = snap.id;
    out.snapshot_id = snap.id;
  }

  std::optional<std::string> customer_id;
  if (staff_id) {
    ev.staff_id = staff_id;
    ev.staff_similarity = e.staff_similarity;
    out.person_kind = "staff";
    out.staff_id = staff_id;
  } else {
    out.person_kind = "customer";
    std::optional<CustomerMatch> best;
    if (matched != nullptr) {
      best = *matched;
    } else if (index_ != nullptr) {
      best = index_->Match(e.model, e.embedding, options_.customer_match_threshold);
    }
    for (const auto& nc : pending.new_customers) {
      if (nc.model != e.model) continue;
      const double sim = CosineSimilarity(nc.embedding, e.embedding);
      if (sim >= options_.customer_match_threshold && (!best || sim > best->similarity)) {
        best = CustomerMatch{nc.customer_id, sim};
      }
    }
    if (best) {
      // The index may still hold a customer erased a moment ago; then this
      // face starts a new customer instead.
      Status touch = tx.TouchCustomer(best->customer_id, e.captured_at, 0);
      if (touch.ok()) {
        customer_id = best->customer_id;
        out.customer_similarity = best->similarity;
        ev.customer_similarity = best->similarity;
      } else if (touch.code() != StatusCode::kNotFound) {
        return touch;
      }
    }
    if (!customer_id) {
      Customer c;
      c.first_seen_at = e.captured_at;
      c.last_seen_at = e.captured_at;
      c.visit_count = 1;  // a new person's event always starts a visit (below)
      c.created_at = now;
      VIGIL_ASSIGN_OR_RETURN(c, tx.CreateCustomer(std::move(c)));
      customer_id = c.id;
      out.new_customer = true;
      pending.new_customers.push_back({c.id, e.model, e.embedding});
    }
    ev.customer_id = customer_id;
    out.customer_id = customer_id;
  }

  // Visit: extend the person's latest visit at this site when the event falls
  // within the merge window of it, else start a new one.
  const std::string visit_key = VisitKey(e.site_id, staff_id, customer_id);
  std::optional<KnownVisit> latest;
  bool from_memory = false;
  if (!out.new_customer) {  // a customer created just now has no visits yet
    if (const KnownVisit* v = FindPendingOrKnown(pending.visits, known_visits_, visit_key)) {
      latest = *v;
      from_memory = true;
    }
  }
  const int64_t w = options_.visit_merge_window_ms;
  auto within = [&](const KnownVisit& v) {
    return e.captured_at >= v.started_at - w && e.captured_at <= v.ended_at + w;
  };
  auto load_latest = [&]() -> Result<std::optional<KnownVisit>> {
    VIGIL_ASSIGN_OR_RETURN(std::optional<Visit> stored, tx.LatestVisit(e.site_id, staff_id, customer_id));
    if (!stored) return std::optional<KnownVisit>();
    return std::optional<KnownVisit>(KnownVisit{stored->id, stored->started_at, stored->ended_at});
  };
  bool extended = false;
  if (!out.new_customer) {
    if (!from_memory) {
      VIGIL_ASSIGN_OR_RETURN(latest, load_latest());
    }
    if (latest && within(*latest)) {
      Status st = tx.ExtendVisit(latest->id, e.captured_at, 1);
      if (st.code() == StatusCode::kNotFound && from_memory) {
        // Deleted since it was remembered (its person erased): ask the database.
        known_visits_.erase(visit_key);
        pending.visits.erase(visit_key);
        VIGIL_ASSIGN_OR_RETURN(latest, load_latest());
        extended = latest && within(*latest);
        st = extended ? tx.ExtendVisit(latest->id, e.captured_at, 1) : Status::Ok();
      } else {
        extended = st.ok();
      }
      VIGIL_RETURN_IF_ERROR(st);
    }
  }
  if (extended) {
    out.visit_id = latest->id;
    pending.visits[visit_key] = KnownVisit{latest->id, std::min(latest->started_at, e.captured_at),
                                           std::max(latest->ended_at, e.captured_at)};
  } else {
    Visit v;
    v.site_id = e.site_id;
    v.person_kind = out.person_kind;
    v.staff_id = staff_id;
    v.customer_id = customer_id;
    v.started_at = e.captured_at;
    v.ended_at = e.captured_at;
    v.event_count = 1;
    VIGIL_ASSIGN_OR_RETURN(v, tx.CreateVisit(std::move(v)));
    out.visit_id = v.id;
    out.new_visit = true;
    // The latest is the one that started last (LatestVisit's order): a late
    // event's new visit does not replace a later one.
    if (!latest || v.started_at >= latest->started_at) {
      pending.visits[visit_key] = KnownVisit{v.id, v.started_at, v.ended_at};
    } else {
      pending.visits[visit_key] = *latest;
    }
    if (customer_id && !out.new_customer) VIGIL_RETURN_IF_ERROR(tx.TouchCustomer(*customer_id, e.captured_at, 1));
  }
  ev.visit_id = out.visit_id;

  if (customer_id) {
    // A customer who already keeps K embeddings of this model, none worse
    // than this one, would not keep it: skip the database (the usual case
    // for a regular customer, as qualities only get harder to beat).
    const std::string stats_key = *customer_id + "\n" + e.model;
    const EmbeddingStats* known = FindPendingOrKnown(pending.embedding_stats, known_embedding_stats_, stats_key);
    if (known == nullptr || known->count < options_.max_embeddings_per_customer || e.quality > known->min_quality) {
      CustomerEmbedding emb;
      emb.customer_id = *customer_id;
      emb.model = e.model;
      emb.embedding = e.embedding;
      emb.quality = e.quality;
      emb.created_at = now;
      std::vector<std::string> evicted;
      EmbeddingStats after;
      VIGIL_ASSIGN_OR_RETURN(emb, tx.AddCustomerEmbedding(std::move(emb), options_.max_embeddings_per_customer,
                                                          &evicted, &after));
      pending.embedding_stats[stats_key] = after;
      const bool kept = std::find(evicted.begin(), evicted.end(), emb.id) == evicted.end();
      if (kept) pending.delta.added.push_back(emb);
      evicted.erase(std::remove(evicted.begin(), evicted.end(), emb.id), evicted.end());
      pending.Evict(evicted);
    }
  }

  return tx.InsertEvent(ev);
}

Result<BatchOutcome> EventIngestor::RunBatch(const std::vector<IngestEvent>& events, bool fail_fast) {
  BatchOutcome result;
  result.events.resize(events.size());
  std::vector<bool> valid(events.size());
  for (size_t i = 0; i < events.size(); ++i) {
    Status st = Validate(events[i]);
    valid[i] = st.ok();
    result.events[i].event_id = events[i].event_id;
    result.events[i].status = st;
  }

  if (fail_fast) {
    Pending pending;
    // The index does not change until this transaction commits, so each
    // event's match against it can be computed up front, all in one pass.
    const auto matched = MatchAll(events, valid);
    Status st = repo_.InTransaction([&](Repository& tx) -> Status {
      for (size_t i = 0; i < events.size(); ++i) {
        if (!valid[i]) continue;
        VIGIL_RETURN_IF_ERROR(
            IngestOne(tx, events[i], pending, result.events[i], matched[i] ? &*matched[i] : nullptr));
      }
      return Status::Ok();
    });
    if (st.ok()) {
      result.delta = std::move(pending.delta);
      if (index_ != nullptr && !result.delta.empty()) index_->Apply(result.delta);
      Remember(pending);
      return result;
    }
    if (st.code() == StatusCode::kUnavailable || events.size() == 1) return st;
    // One bad event spoiled the batch: store the rest one by one below.
    GetLogger("storage")->warn("msg=\"batch ingest failed; retrying per event\" events={} error={}", events.size(),
                               LogValue(st.ToString()));
  }

  bool any_stored = false;
  Status last_error;
  for (size_t i = 0; i < events.size(); ++i) {
    if (!valid[i]) continue;
    Pending pending;
    IngestOutcome out;
    Status st = repo_.InTransaction([&](Repository& tx) { return IngestOne(tx, events[i], pending, out); });
    if (st.ok()) {
      result.events[i] = std::move(out);
      any_stored = true;
      if (index_ != nullptr && !pending.delta.empty()) index_->Apply(pending.delta);
      Remember(pending);
      result.delta.added.insert(result.delta.added.end(), pending.delta.added.begin(), pending.delta.added.end());
      result.delta.removed_embedding_ids.insert(result.delta.removed_embedding_ids.end(),
                                                pending.delta.removed_embedding_ids.begin(),
                                                pending.delta.removed_embedding_ids.end());
    } else {
      result.events[i] = IngestOutcome{};
      result.events[i].event_id = events[i].event_id;
      result.events[i].status = st;
      last_error = st;
      if (st.code() == StatusCode::kUnavailable) {
        // The database is busy: the remaining events would fail the same way.
        for (size_t j = i + 1; j < events.size(); ++j) {
          if (valid[j]) result.events[j].status = st;
        }
        break;
      }
    }
  }
  if (!any_stored && !last_error.ok() && last_error.code() == StatusCode::kUnavailable) return last_error;
  return result;
}

Result<IngestOutcome> EventIngestor::Ingest(const IngestEvent& event) {
  VIGIL_RETURN_IF_ERROR(Validate(event));
  std::lock_guard<std::mutex> lock(mu_);
  VIGIL_ASSIGN_OR_RETURN(BatchOutcome b, RunBatch({event}, /*fail_fast=*/true));
  return std::move(b.events[0]);
}

Result<BatchOutcome> EventIngestor::IngestBatch(const std::vector<IngestEvent>& events) {
  std::lock_guard<std::mutex> lock(mu_);
  return RunBatch(events, /*fail_fast=*/true);
}

}  // namespace vigil::storage
