#include "worker/staff_directory.h"

namespace vigil::worker {

namespace {
// Staff galleries are small: exact search only.
gallery::GalleryOptions ExactOnly() {
  gallery::GalleryOptions o;
  o.hnsw_min_size = 0;
  return o;
}
}  // namespace

StaffDirectory::StaffDirectory() : gallery_(ExactOnly()) {}

Status StaffDirectory::Apply(const protocol::Gallery& g) {
  Status first_error;
  if (g.full) {
    std::vector<gallery::GalleryEntry> entries;
    entries.reserve(g.upsert.size());
    for (const auto& e : g.upsert) entries.push_back({e.face_id, e.staff_id, e.embedding});
    Status st = gallery_.ReplaceModel(g.model, entries);
    if (!st.ok()) {
      // One bad entry must not cost the whole snapshot: apply one by one.
      gallery_.RemoveModel(g.model);
      for (const auto& e : g.upsert) {
        Status one = gallery_.Upsert(g.model, e.face_id, e.staff_id, e.embedding);
        if (!one.ok() && first_error.ok()) first_error = one;
      }
    }
  } else {
    for (const auto& id : g.remove) gallery_.Remove(id);
    for (const auto& e : g.upsert) {
      Status one = gallery_.Upsert(g.model, e.face_id, e.staff_id, e.embedding);
      if (!one.ok() && first_error.ok()) first_error = one;
    }
  }
  std::unique_lock lock(mu_);
  for (const auto& e : g.upsert) names_[e.staff_id] = e.name;
  versions_[g.model] = g.version;
  return first_error;
}

std::optional<StaffMatch> StaffDirectory::Match(const std::string& model, const std::vector<float>& embedding,
                                                float threshold) const {
  auto found = gallery_.SearchOwners(model, embedding, 1);
  if (!found.ok() || found->empty()) return std::nullopt;
  const auto& best = found->front();
  if (best.similarity < threshold || best.owner.empty()) return std::nullopt;
  StaffMatch m{best.owner, "", best.similarity};
  std::shared_lock lock(mu_);
  auto it = names_.find(best.owner);
  if (it != names_.end()) m.name = it->second;
  return m;
}

std::optional<std::string> StaffDirectory::NameOf(const std::string& staff_id) const {
  std::shared_lock lock(mu_);
  auto it = names_.find(staff_id);
  if (it == names_.end()) return std::nullopt;
  return it->second;
}

int64_t StaffDirectory::version(const std::string& model) const {
  std::shared_lock lock(mu_);
  auto it = versions_.find(model);
  return it == versions_.end() ? 0 : it->second;
}

}  // namespace vigil::worker
