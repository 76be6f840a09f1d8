#include "api/face_index.h"

#include <map>

#include "core/logging.h"

namespace vigil::api {

namespace {
std::shared_ptr<spdlog::logger> Log() {
  static auto log = GetLogger("index");
  return log;
}
}  // namespace

Status CustomerIndex::Rebuild(storage::Repository& repo) {
  VIGIL_ASSIGN_OR_RETURN(auto all, repo.ListAllCustomerEmbeddings(""));
  std::map<std::string, std::vector<gallery::GalleryEntry>> by_model;
  for (auto& e : all) by_model[e.model].push_back({e.id, e.customer_id, std::move(e.embedding)});
  for (const auto& [model, entries] : by_model) {
    Status st = gallery_.ReplaceModel(model, entries);
    if (!st.ok()) return st.WithContext("customer index, model " + model);
  }
  Log()->info("customer index rebuilt embeddings={} models={}", all.size(), by_model.size());
  return Status::Ok();
}

std::optional<storage::CustomerMatch> CustomerIndex::Match(const std::string& model,
                                                           const std::vector<float>& embedding,
                                                           double threshold) const {
  auto r = gallery_.SearchOwners(model, embedding, 1);
  if (!r.ok() || r->empty() || (*r)[0].similarity < threshold) return std::nullopt;
  return storage::CustomerMatch{(*r)[0].owner, (*r)[0].similarity};
}

std::vector<std::optional<storage::CustomerMatch>> CustomerIndex::MatchMany(
    const std::string& model, const std::vector<const std::vector<float>*>& embeddings, double threshold) const {
  std::vector<std::span<const float>> queries;
  queries.reserve(embeddings.size());
  for (const auto* e : embeddings) queries.emplace_back(*e);
  auto best = gallery_.BestOwnerMany(model, queries);
  std::vector<std::optional<storage::CustomerMatch>> out(embeddings.size());
  for (size_t i = 0; i < best.size() && i < out.size(); ++i) {
    if (best[i] && best[i]->similarity >= threshold) out[i] = storage::CustomerMatch{best[i]->owner, best[i]->similarity};
  }
  return out;
}

void CustomerIndex::Apply(const storage::IndexDelta& delta) {
  for (const auto& id : delta.removed_embedding_ids) gallery_.Remove(id);
  for (const auto& e : delta.added) {
    Status st = gallery_.Upsert(e.model, e.id, e.customer_id, e.embedding);
    if (!st.ok()) Log()->warn("embedding not indexed id={} error={}", e.id, LogValue(st.ToString()));
  }
}

void CustomerIndex::Remove(const std::vector<std::string>& embedding_ids) {
  for (const auto& id : embedding_ids) gallery_.Remove(id);
}

Status StaffIndex::Rebuild(storage::Repository& repo) {
  VIGIL_ASSIGN_OR_RETURN(auto faces, repo.ListAllStaffFaces(""));
  std::map<std::string, std::vector<gallery::GalleryEntry>> by_model;
  for (auto& f : faces) by_model[f.model].push_back({f.id, f.staff_id, std::move(f.embedding)});
  for (const auto& [model, entries] : by_model) {
    Status st = gallery_.ReplaceModel(model, entries);
    if (!st.ok()) return st.WithContext("staff index, model " + model);
  }
  return Status::Ok();
}

void StaffIndex::Add(const storage::StaffFace& face) {
  Status st = gallery_.Upsert(face.model, face.id, face.staff_id, face.embedding);
  if (!st.ok()) Log()->warn("staff face not indexed id={} error={}", face.id, LogValue(st.ToString()));
}

void StaffIndex::RemoveFace(const std::string& face_id) { gallery_.Remove(face_id); }
void StaffIndex::RemoveStaff(const std::string& staff_id) { gallery_.RemoveOwner(staff_id); }

std::optional<StaffMatch> StaffIndex::Match(const std::string& model, const std::vector<float>& embedding,
                                            double threshold) const {
  auto r = gallery_.SearchOwners(model, embedding, 1);
  if (!r.ok() || r->empty() || (*r)[0].similarity < threshold) return std::nullopt;
  return StaffMatch{(*r)[0].owner, (*r)[0].id, (*r)[0].similarity};
}

}  // namespace vigil::api
