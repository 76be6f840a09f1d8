// In-memory indexes of the API server on top of vigil::gallery:
//  * CustomerIndex — the customer gallery the EventIngestor matches against,
//    rebuilt from the database at start and changed only after commits
//    (through Apply, which the ingestor calls after its transaction);
//  * the staff gallery used by POST /api/v1/recognize, rebuilt at start and
//    kept current by the enrollment handlers.
//
// Thread-safety: all methods are safe to call concurrently (vigil::gallery
// is internally synchronised).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/status.h"
#include "gallery/gallery.h"
#include "storage/event_ingestor.h"
#include "storage/repository.h"

namespace vigil::api {

class CustomerIndex final : public storage::CustomerIndex {
 public:
  CustomerIndex() = default;
  // Loads every customer embedding from the database.
  Status Rebuild(storage::Repository& repo);

  std::optional<storage::CustomerMatch> Match(const std::string& model, const std::vector<float>& embedding,
                                              double threshold) const override;
  // One pass of the gallery per four embeddings (Gallery::BestOwnerMany).
  std::vector<std::optional<storage::CustomerMatch>> MatchMany(const std::string& model,
                                                               const std::vector<const std::vector<float>*>& embeddings,
                                                               double threshold) const override;
  void Apply(const storage::IndexDelta& delta) override;
  // Removes the given embeddings (customer erased).
  void Remove(const std::vector<std::string>& embedding_ids);
  size_t size() const { return gallery_.size(); }

 private:
  gallery::Gallery gallery_;
};

struct StaffMatch {
  std::string staff_id;
  std::string face_id;
  double similarity = 0;
};

class StaffIndex {
 public:
  Status Rebuild(storage::Repository& repo);
  void Add(const storage::StaffFace& face);
  void RemoveFace(const std::string& face_id);
  void RemoveStaff(const std::string& staff_id);
  std::optional<StaffMatch> Match(const std::string& model, const std::vector<float>& embedding,
                                  double threshold) const;

 private:
  gallery::Gallery gallery_;
};

}  // namespace vigil::api
