#include "gallery/gallery.h"

#include <algorithm>
#include <mutex>
#include <utility>

#include "gallery/exact_index.h"

namespace vigil::gallery {

struct Gallery::ModelIndex {
  explicit ModelIndex(size_t dim) : exact(dim) {}
  ExactIndex exact;                 // source of truth
  std::unique_ptr<HnswIndex> hnsw;  // present once the model is large; mirrors `exact`
};

Gallery::Gallery(GalleryOptions options) : options_(options) {}
Gallery::~Gallery() = default;

std::shared_lock<std::shared_mutex> Gallery::ReadLock() const {
  std::lock_guard turn(turnstile_);
  return std::shared_lock(mu_);
}

std::unique_lock<std::shared_mutex> Gallery::WriteLock() const {
  // Holding the turnstile while waiting stops new readers, so the writer gets
  // in once the searches already running finish.
  std::lock_guard turn(turnstile_);
  return std::unique_lock(mu_);
}

Gallery::ModelIndex* Gallery::Find(std::string_view model) const {
  auto it = models_.find(model);
  return it == models_.end() ? nullptr : it->second.get();
}

Status Gallery::RegisterModel(std::string_view model, size_t dim) {
  if (model.empty()) return InvalidArgument("model id must not be empty");
  if (dim == 0) return InvalidArgument("model dimension must be > 0");
  auto lock = WriteLock();
  if (ModelIndex* index = Find(model)) {
    if (index->exact.dim() != dim) {
      return InvalidArgument("model '" + std::string(model) + "' has dimension " + std::to_string(index->exact.dim()) +
                             ", not " + std::to_string(dim));
    }
    return Status::Ok();
  }
  models_.emplace(std::string(model), std::make_unique<ModelIndex>(dim));
  return Status::Ok();
}

// Builds the HNSW mirror of a model that just reached the size threshold.
Status Gallery::MaybeBuildHnsw(ModelIndex& index, const GalleryOptions& options) {
  if (index.hnsw || options.hnsw_min_size == 0 || index.exact.size() < options.hnsw_min_size) {
    return Status::Ok();
  }
  auto hnsw = std::make_unique<HnswIndex>(index.exact.dim(), options.hnsw);
  const size_t n = index.exact.size();
  std::vector<std::string> ids, owners;
  std::vector<float> rows;
  ids.reserve(n);
  owners.reserve(n);
  rows.reserve(n * index.exact.dim());
  index.exact.ForEach([&](const std::string& id, const std::string& owner, std::span<const float> v) {
    ids.push_back(id);
    owners.push_back(owner);
    rows.insert(rows.end(), v.begin(), v.end());
  });
  VIGIL_RETURN_IF_ERROR(hnsw->AddBatch(ids, owners, rows));
  index.hnsw = std::move(hnsw);
  return Status::Ok();
}

Status Gallery::Upsert(std::string_view model, std::string_view id, std::string_view owner, std::span<const float> v) {
  if (model.empty()) return InvalidArgument("model id must not be empty");
  if (id.empty()) return InvalidArgument("vector id must not be empty");
  auto lock = WriteLock();
  ModelIndex* index = Find(model);
  const size_t dim = index ? index->exact.dim() : v.size();
  if (dim == 0) return InvalidArgument("vector is empty");
  if (Status st = CheckVector(v, dim, true); !st.ok()) {
    return st.WithContext("model '" + std::string(model) + "'");
  }
  const std::vector<float> unit = Normalized(v);
  if (index == nullptr) {
    index = models_.emplace(std::string(model), std::make_unique<ModelIndex>(dim)).first->second.get();
  }
  // An id lives in one model: upserting it under another model moves it.
  if (auto it = model_of_.find(id); it != model_of_.end() && it->second != model) {
    if (ModelIndex* old = Find(it->second)) {
      old->exact.Remove(id);
      if (old->hnsw) old->hnsw->Remove(id);
    }
    model_of_.erase(it);
  }
  VIGIL_RETURN_IF_ERROR(index->exact.Upsert(id, owner, unit));
  model_of_.insert_or_assign(std::string(id), std::string(model));
  if (index->hnsw) {
    if (Status st = index->hnsw->Upsert(id, owner, unit); !st.ok()) {
      // Keep searches correct: fall back to exact search for this model.
      index->hnsw.reset();
      return st;
    }
    return Status::Ok();
  }
  if (Status st = MaybeBuildHnsw(*index, options_); !st.ok()) {
    // The exact index holds the vector; searches stay exact. Report, do not fail the upsert.
    return st.WithContext("vector stored, HNSW index not built");
  }
  return Status::Ok();
}

bool Gallery::Remove(std::string_view id) {
  auto lock = WriteLock();
  auto it = model_of_.find(id);
  if (it == model_of_.end()) return false;
  if (ModelIndex* index = Find(it->second)) {
    index->exact.Remove(id);
    if (index->hnsw) index->hnsw->Remove(id);
  }
  model_of_.erase(it);
  return true;
}

size_t Gallery::RemoveOwner(std::string_view owner) {
  auto lock = WriteLock();
  size_t removed = 0;
  for (auto& [name, index] : models_) {
    std::vector<std::string> ids;
    index->exact.ForEach([&](const std::string& id, const std::string& o, std::span<const float>) {
      if (o == owner) ids.push_back(id);
    });
    for (const auto& id : ids) {
      index->exact.Remove(id);
      if (index->hnsw) index->hnsw->Remove(id);
      model_of_.erase(model_of_.find(id));
    }
    removed += ids.size();
  }
  return removed;
}

Status Gallery::ReplaceModel(std::string_view model, const std::vector<GalleryEntry>& entries) {
  if (model.empty()) return InvalidArgument("model id must not be empty");
  std::optional<size_t> known_dim;
  GalleryOptions options;
  {
    auto lock = ReadLock();
    if (const ModelIndex* index = Find(model)) known_dim = index->exact.dim();
    options = options_;
  }
  if (!known_dim && entries.empty()) return Status::Ok();  // nothing known, nothing to hold
  const size_t dim = known_dim ? *known_dim : entries.front().vector.size();
  if (dim == 0) return InvalidArgument("entry 0 of model '" + std::string(model) + "': vector is empty");

  // Validate and build outside the lock: searches continue meanwhile.
  auto fresh = std::make_unique<ModelIndex>(dim);
  fresh->exact.Reserve(entries.size());
  for (size_t i = 0; i < entries.size(); ++i) {
    const auto& e = entries[i];
    Status st = e.id.empty() ? InvalidArgument("vector id must not be empty") : CheckVector(e.vector, dim, true);
    if (st.ok()) st = fresh->exact.Upsert(e.id, e.owner, Normalized(e.vector));
    if (!st.ok()) return st.WithContext("entry " + std::to_string(i) + " of model '" + std::string(model) + "'");
  }
  VIGIL_RETURN_IF_ERROR(MaybeBuildHnsw(*fresh, options));

  auto lock = WriteLock();
  ModelIndex* current = Find(model);
  if (current && current->exact.dim() != dim) {
    return FailedPrecondition("model '" + std::string(model) + "' changed dimension during replace");
  }
  if (current) {
    current->exact.ForEach([&](const std::string& id, const std::string&, std::span<const float>) {
      model_of_.erase(model_of_.find(id));
    });
  }
  fresh->exact.ForEach([&](const std::string& id, const std::string&, std::span<const float>) {
    if (auto it = model_of_.find(id); it != model_of_.end()) {
      if (ModelIndex* other = Find(it->second)) {
        other->exact.Remove(id);
        if (other->hnsw) other->hnsw->Remove(id);
      }
      it->second = std::string(model);
    } else {
      model_of_.emplace(id, std::string(model));
    }
  });
  models_.insert_or_assign(std::string(model), std::move(fresh));
  return Status::Ok();
}

bool Gallery::RemoveModel(std::string_view model) {
  auto lock = WriteLock();
  auto it = models_.find(model);
  if (it == models_.end()) return false;
  it->second->exact.ForEach(
      [&](const std::string& id, const std::string&, std::span<const float>) { model_of_.erase(model_of_.find(id)); });
  models_.erase(it);
  return true;
}

Result<std::vector<Match>> Gallery::SearchLocked(const ModelIndex& index, std::span<const float> query,
                                                 size_t k) const {
  if (Status st = CheckVector(query, index.exact.dim(), true); !st.ok()) return st.WithContext("query");
  const std::vector<float> unit = Normalized(query);
  if (index.hnsw) return index.hnsw->Search(unit, k);
  return index.exact.Search(unit, k);
}

Result<std::vector<Match>> Gallery::Search(std::string_view model, std::span<const float> query, size_t k) const {
  auto lock = ReadLock();
  const ModelIndex* index = Find(model);
  if (index == nullptr) return NotFound("no gallery for model '" + std::string(model) + "'");
  return SearchLocked(*index, query, k);
}

Result<std::vector<Match>> Gallery::SearchOwners(std::string_view model, std::span<const float> query, size_t k) const {
  auto lock = ReadLock();
  const ModelIndex* index = Find(model);
  if (index == nullptr) return NotFound("no gallery for model '" + std::string(model) + "'");
  const size_t n = index->exact.size();
  // Owners hold a few vectors each: fetch a few times k and widen until k
  // distinct owners are found or everything has been looked at.
  size_t fetch = std::max<size_t>(k * 4, k + 16);
  while (true) {
    fetch = std::min(fetch, n);
    VIGIL_ASSIGN_OR_RETURN(auto matches, SearchLocked(*index, query, fetch));
    auto owners = BestPerOwner(matches, k);
    if (owners.size() >= k || fetch >= n) return owners;
    fetch *= 4;
  }
}

std::vector<std::optional<Match>> Gallery::BestOwnerMany(std::string_view model,
                                                         const std::vector<std::span<const float>>& queries) const {
  std::vector<std::optional<Match>> out(queries.size());
  auto lock = ReadLock();
  const ModelIndex* index = Find(model);
  if (index == nullptr || index->exact.size() == 0) return out;
  const size_t dim = index->exact.dim();
  // The valid queries, normalised, packed row-major.
  std::vector<float> packed;
  std::vector<size_t> slot;  // packed row -> position in `queries`
  packed.reserve(queries.size() * dim);
  for (size_t i = 0; i < queries.size(); ++i) {
    if (!CheckVector(queries[i], dim, true).ok()) continue;
    const std::vector<float> unit = Normalized(queries[i]);
    packed.insert(packed.end(), unit.begin(), unit.end());
    slot.push_back(i);
  }
  if (index->hnsw) {
    for (size_t r = 0; r < slot.size(); ++r) {
      auto m = index->hnsw->Search(std::span<const float>(packed.data() + r * dim, dim), 1);
      if (m.ok() && !m->empty()) out[slot[r]] = std::move((*m)[0]);
    }
    return out;
  }
  auto best = index->exact.BestMany(packed, slot.size());
  for (size_t r = 0; r < slot.size(); ++r) out[slot[r]] = std::move(best[r]);
  return out;
}

size_t Gallery::size() const {
  auto lock = ReadLock();
  return model_of_.size();
}

size_t Gallery::size(std::string_view model) const {
  auto lock = ReadLock();
  const ModelIndex* index = Find(model);
  return index ? index->exact.size() : 0;
}

std::optional<size_t> Gallery::Dimension(std::string_view model) const {
  auto lock = ReadLock();
  const ModelIndex* index = Find(model);
  if (index == nullptr) return std::nullopt;
  return index->exact.dim();
}

std::vector<std::string> Gallery::Models() const {
  auto lock = ReadLock();
  std::vector<std::string> out;
  out.reserve(models_.size());
  for (const auto& [name, index] : models_) out.push_back(name);
  std::sort(out.begin(), out.end());
  return out;
}

void Gallery::SetHnswEf(size_t ef) {
  auto lock = WriteLock();
  options_.hnsw.ef_search = ef;
  for (auto& [name, index] : models_) {
    if (index->hnsw) index->hnsw->SetEf(ef);
  }
}

}  // namespace vigil::gallery
