// The staff gallery the API pushes (`gallery` messages), as the worker uses it:
// full snapshots replace a model's entries, deltas upsert and remove faces,
// and Match() finds the best staff member for an embedding of the same model.
//
// Thread-safety: all methods are safe to call concurrently (camera threads
// match while the connection thread applies updates).
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <shared_mutex>
#include <string>
#include <vector>

#include "core/status.h"
#include "gallery/gallery.h"
#include "protocol/messages.h"

namespace vigil::worker {

struct StaffMatch {
  std::string staff_id;
  std::string name;
  float similarity = 0;
};

class StaffDirectory {
 public:
  StaffDirectory();
  // Applies a snapshot or delta. A bad entry (wrong dimension) is skipped and
  // reported in the returned status; the rest is applied.
  Status Apply(const protocol::Gallery& g);
  // The best staff member with similarity >= threshold, if any.
  std::optional<StaffMatch> Match(const std::string& model, const std::vector<float>& embedding,
                                  float threshold) const;
  std::optional<std::string> NameOf(const std::string& staff_id) const;
  int64_t version(const std::string& model) const;
  size_t size() const { return gallery_.size(); }

 private:
  gallery::Gallery gallery_;
  mutable std::shared_mutex mu_;
  std::map<std::string, std::string> names_;     // staff id -> name
  std::map<std::string, int64_t> versions_;      // model -> version
};

}  // namespace vigil::worker
