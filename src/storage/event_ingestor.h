// EventIngestor: turns worker face events into stored events, customers,
// staff sightings and visits, one transaction per event or per batch.
//
// Rules (DESIGN.md §2, issue #4):
//  * idempotent by event_id: an event already stored is reported as a
//    duplicate and changes nothing;
//  * an event with a staff_id (of a staff member that still exists) is a staff
//    sighting; any other event is matched against the customer gallery: the
//    best match at or above `customer_match_threshold` is that customer,
//    otherwise a new anonymous customer is created;
//  * an event within `visit_merge_window_ms` of the person's latest visit at
//    the same site extends that visit, otherwise it starts a new one;
//  * up to `max_embeddings_per_customer` best-quality embeddings are kept per
//    customer and model;
//  * the in-memory customer index is changed only after the commit, through
//    CustomerIndex::Apply (and the same delta is returned to the caller).
//
// Inside a batch, a face of a customer created earlier in the same batch is
// matched against that (not yet indexed) customer too, so one person arriving
// in one batch becomes one customer.
//
// Thread-safety: Ingest and IngestBatch may be called from any thread; they
// are serialised by an internal mutex (matching and creating a customer must
// be atomic with respect to other ingests). The CustomerIndex's Match is
// called under that mutex; Apply is called under it too, after the commit.
#pragma once

#include <array>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/clock.h"
#include "core/status.h"
#include "storage/repository.h"

namespace vigil::storage {

// One face event as the protocol delivers it (the api maps its message to
// this; storage does not depend on src/protocol).
struct IngestEvent {
  std::string event_id;
  std::string worker_id;
  std::string camera_id;
  std::optional<std::string> site_id;
  int64_t captured_at = 0;  // unix ms UTC
  int64_t track_id = 0;
  std::array<double, 4> bbox{};
  double det_score = 0;
  double quality = 0;
  std::string model;
  std::vector<float> embedding;
  std::optional<std::string> staff_id;
  std::optional<double> staff_similarity;
  // The face crop, already written by the caller under the data directory
  // (relative path). On a duplicate the row is not created; the caller may
  // delete its file.
  std::optional<std::string> snapshot_path;
  int64_t snapshot_size = 0;
};

struct CustomerMatch {
  std::string customer_id;
  double similarity = 0;
};

// What the in-memory customer index must learn after a commit.
struct IndexDelta {
  std::vector<CustomerEmbedding> added;
  std::vector<std::string> removed_embedding_ids;
  bool empty() const { return added.empty() && removed_embedding_ids.empty(); }
};

// The in-memory customer gallery, implemented by the api on top of
// vigil::gallery. Similarity is cosine (higher is closer).
class CustomerIndex {
 public:
  virtual ~CustomerIndex() = default;
  // The best customer whose embedding (same model) has similarity >=
  // threshold, or nullopt.
  virtual std::optional<CustomerMatch> Match(const std::string& model, const std::vector<float>& embedding,
                                             double threshold) const = 0;
  // Match for each embedding, in order (all of the same model). The default
  // calls Match for each; an index that can score many queries in one pass
  // (the api's) overrides it. The ingestor calls it once per batch, before
  // the transaction (the index learns new embeddings only after commits,
  // under the same mutex; a customer erased meanwhile is caught when the
  // ingestor touches its row).
  virtual std::vector<std::optional<CustomerMatch>> MatchMany(const std::string& model,
                                                              const std::vector<const std::vector<float>*>& embeddings,
                                                              double threshold) const {
    std::vector<std::optional<CustomerMatch>> out;
    out.reserve(embeddings.size());
    for (const auto* e : embeddings) out.push_back(Match(model, *e, threshold));
    return out;
  }
  // Called after a commit with the embeddings added and removed by it.
  virtual void Apply(const IndexDelta& delta) = 0;
};

struct IngestOptions {
  double customer_match_threshold = 0.5;
  int64_t visit_merge_window_ms = 30 * 60 * 1000;
  int max_embeddings_per_customer = 5;
};

struct IngestOutcome {
  std::string event_id;
  Status status;            // per event in a batch; OK when stored or duplicate
  bool duplicate = false;   // already stored before; nothing changed
  std::string person_kind;  // "staff" | "customer" ("" on error/duplicate)
  std::optional<std::string> staff_id;
  std::optional<std::string> customer_id;
  std::optional<double> customer_similarity;  // set when matched an existing customer
  bool new_customer = false;
  std::optional<std::string> visit_id;
  bool new_visit = false;
  std::optional<std::string> snapshot_id;
};

struct BatchOutcome {
  std::vector<IngestOutcome> events;  // same order as the input
  IndexDelta delta;                   // already applied to the index
};

class EventIngestor {
 public:
  // `index` may be null (no customer gallery: every non-staff event creates a
  // customer unless matched inside its batch). Both references must outlive
  // the ingestor.
  EventIngestor(Repository& repo, CustomerIndex* index, Clock& clock, IngestOptions options);

  // One event, one transaction. A malformed event gives InvalidArgument; a
  // duplicate gives OK with duplicate = true; a busy database gives Unavailable
  // (nothing stored, safe to retry).
  Result<IngestOutcome> Ingest(const IngestEvent& event);

  // Many events, one transaction. Returns an error only when nothing could be
  // stored (e.g. database unavailable); otherwise each outcome carries its own
  // status: if the batch transaction fails because of one bad event, the batch
  // is retried one event per transaction so the good ones still land.
  Result<BatchOutcome> IngestBatch(const std::vector<IngestEvent>& events);

  static Status Validate(const IngestEvent& event);

 private:
  struct Pending;
  // `matched`: the index's answer for this event computed beforehand (see
  // MatchAll), or null to ask the index now.
  Status IngestOne(Repository& tx, const IngestEvent& event, Pending& pending, IngestOutcome& out,
                   const std::optional<CustomerMatch>* matched = nullptr);
  // The index's answer for every valid event that does not claim a staff
  // match, grouped by model into one MatchMany call each; empty optionals
  // elsewhere (those are matched on demand).
  std::vector<std::optional<std::optional<CustomerMatch>>> MatchAll(const std::vector<IngestEvent>& events,
                                                                    const std::vector<bool>& valid) const;
  Result<BatchOutcome> RunBatch(const std::vector<IngestEvent>& events, bool fail_fast);

  // A person's latest visit at a site, as the ingestor last wrote it. The
  // ingestor is the only writer of visits, so this saves the LatestVisit
  // query per event; a visit deleted meanwhile (its person erased) shows up
  // as NotFound when it is extended, and is then looked up again.
  struct KnownVisit {
    std::string id;
    int64_t started_at = 0;
    int64_t ended_at = 0;
  };
  static std::string VisitKey(const std::optional<std::string>& site_id, const std::optional<std::string>& staff_id,
                              const std::optional<std::string>& customer_id);
  // What the ingestor remembers holds committed state only: a transaction's
  // own changes go to Pending and are merged after its commit (Remember).
  // Each map is cleared when it would pass kMaxKnown entries.
  static constexpr size_t kMaxKnown = 200000;
  void Remember(Pending& pending);

  Repository& repo_;
  CustomerIndex* index_;
  Clock& clock_;
  IngestOptions options_;
  std::mutex mu_;
  std::unordered_map<std::string, KnownVisit> known_visits_;  // under mu_
  // Per customer and model, after the ingestor's last AddCustomerEmbedding
  // (the ingestor is the only writer of customer embeddings; an erased
  // customer's entry is never consulted, its events start a new customer).
  std::unordered_map<std::string, EmbeddingStats> known_embedding_stats_;  // under mu_
};

// Cosine similarity of two vectors of equal length (0 when either is zero
// or the lengths differ).
double CosineSimilarity(const std::vector<float>& a, const std::vector<float>& b);

}  // namespace vigil::storage
