#include "api/staff_reembed.h"

#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <set>

#include "core/logging.h"

namespace vigil::api {

namespace fs = std::filesystem;

namespace {

Result<std::string> ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFound("cannot open " + path.string());
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) return Unavailable("cannot read " + path.string());
  return bytes;
}

}  // namespace

Result<ReembedReport> ReembedStaffPhotos(storage::Repository& repo, FaceService& faces, const std::string& data_dir) {
  ReembedReport report;
  if (!faces.available() || faces.model().empty()) return report;
  const std::string model = faces.model();
  VIGIL_ASSIGN_OR_RETURN(auto all, repo.ListAllStaffFaces(""));

  // Photos (per staff member) that already have a record for this model.
  std::set<std::pair<std::string, std::string>> current;
  for (const auto& f : all) {
    if (f.model == model) current.insert({f.staff_id, f.photo_path});
  }
  // Older-model records grouped by photo: one new record per photo.
  std::map<std::pair<std::string, std::string>, std::vector<storage::StaffFace>> stale;
  for (auto& f : all) {
    if (f.model == model || f.photo_path.empty()) continue;
    auto key = std::make_pair(f.staff_id, f.photo_path);
    if (current.count(key)) continue;
    stale[key].push_back(std::move(f));
  }
  report.up_to_date = static_cast<int>(current.size());
  if (stale.empty()) return report;

  auto log = GetLogger("api");
  log->info("re-embedding staff photos for model={} photos={}", model, stale.size());
  for (auto& [key, old_records] : stale) {
    const auto& [staff_id, photo] = key;
    // Records hold server-chosen relative paths; refuse anything else.
    const fs::path rel(photo);
    if (rel.is_absolute() || rel.lexically_normal().string().rfind("..", 0) == 0) {
      log->warn("staff photo path is not under the data directory staff_id={} path={}", staff_id, photo);
      ++report.failed;
      continue;
    }
    auto bytes = ReadFile(fs::path(data_dir) / rel);
    if (!bytes.ok()) {
      log->warn("staff photo unreadable staff_id={} error={}", staff_id, bytes.status().ToString());
      ++report.failed;
      continue;
    }
    auto analyzed = faces.Analyze(*bytes);
    if (!analyzed.ok()) {
      log->warn("staff photo not re-embedded staff_id={} error={}", staff_id, analyzed.status().ToString());
      ++report.failed;
      continue;
    }
    const AnalyzedFace* best = nullptr;
    for (const auto& a : *analyzed) {
      if (a.embedding.empty()) continue;
      if (!best || a.bbox[2] * a.bbox[3] > best->bbox[2] * best->bbox[3]) best = &a;
    }
    if (!best) {
      log->warn("no usable face in staff photo for model={} staff_id={}", model, staff_id);
      ++report.failed;
      continue;
    }
    storage::StaffFace fresh;
    fresh.staff_id = staff_id;
    fresh.model = best->model;
    fresh.embedding = best->embedding;
    fresh.photo_path = photo;
    fresh.quality = best->quality;
    // The photo gets its record for the current model and the old ones go in
    // one transaction, so the staff page lists each photo once and a crash
    // leaves either the old record or the new one.
    // A named reference: clang 14 (the fuzz build) cannot capture structured bindings.
    const auto& stale_records = old_records;
    Status replaced = repo.InTransaction([&](storage::Repository& tx) -> Status {
      VIGIL_RETURN_IF_ERROR(tx.AddStaffFace(fresh).status());
      for (const auto& old : stale_records) VIGIL_RETURN_IF_ERROR(tx.DeleteStaffFace(old.id));
      return Status::Ok();
    });
    VIGIL_RETURN_IF_ERROR(replaced);
    ++report.reembedded;
  }
  log->info("staff photos re-embedded model={} reembedded={} failed={}", model, report.reembedded, report.failed);
  return report;
}

}  // namespace vigil::api
