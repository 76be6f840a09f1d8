// Face handlers of ApiApp: staff enrollment and POST /api/v1/recognize.
#include <filesystem>
#include <fstream>

#include "api/app.h"
#include "api/resource_json.h"
#include "core/logging.h"
#include "core/uuid.h"

namespace vigil::api {

namespace fs = std::filesystem;

namespace {

Response NotAnImage() {
  return ErrorResponse(415, "unsupported_media_type", "the body must be a JPEG or PNG image");
}

Response FaceError(const Status& st) {
  if (st.code() == StatusCode::kFailedPrecondition) return ErrorResponse(503, "face_pipeline_unavailable", st.message());
  if (st.code() == StatusCode::kInvalidArgument) return ErrorResponse(400, "bad_image", st.message());
  return StatusResponse(st);
}

}  // namespace

Response ApiApp::StaffFacesEnroll(const Request& req) {
  VIGIL_ASSIGN_OR_RETURN_RESPONSE(auto staff, repo_->GetStaff(req.Param("id")));
  ImageType type = SniffImageType(req.body);
  if (type == ImageType::kUnknown) return NotAnImage();
  auto analyzed = faces_->Analyze(req.body);
  if (!analyzed.ok()) return FaceError(analyzed.status());
  const auto& found = *analyzed;
  if (found.empty()) {
    return ErrorResponse(422, "no_face", "no face found in the photo; use a clear, front-facing photo of one person");
  }
  if (found.size() > 1) {
    return ErrorResponse(422, "multiple_faces",
                         std::to_string(found.size()) + " faces found in the photo; it must show exactly one person");
  }
  const AnalyzedFace& face = found[0];
  if (face.embedding.empty()) {
    return ErrorResponse(422, "face_unusable", "a face was found but could not be embedded; try a sharper photo");
  }
  // The photo is kept (server-chosen name) so the gallery can be re-embedded with another model.
  std::string rel = "photos/" + NewUuid() + (type == ImageType::kJpeg ? ".jpg" : ".png");
  fs::path full = fs::path(config_.data_dir) / rel;
  {
    std::ofstream out(full, std::ios::binary | std::ios::trunc);
    out.write(req.body.data(), static_cast<std::streamsize>(req.body.size()));
    out.close();
    if (!out) {
      std::error_code ec;
      fs::remove(full, ec);
      return ErrorResponse(500, "internal", "could not store the photo");
    }
  }
  storage::StaffFace f;
  f.staff_id = staff.id;
  f.model = face.model;
  f.embedding = face.embedding;
  f.photo_path = rel;
  f.quality = face.quality;
  auto stored = repo_->AddStaffFace(f);
  if (!stored.ok()) {
    RemoveDataFile(rel);
    return StatusResponse(stored.status());
  }
  staff_index_.Add(*stored);
  hub_->PublishGalleryDelta(stored->model, {{staff.id, staff.name, stored->id, stored->embedding}}, {});
  GetLogger("api")->info("staff face enrolled staff_id={} face_id={} model={}", staff.id, stored->id, stored->model);
  Json j = ToJson(*stored);
  j["bbox"] = Json::array({face.bbox[0], face.bbox[1], face.bbox[2], face.bbox[3]});
  j["score"] = face.score;
  return JsonResponse(201, j);
}

Response ApiApp::Recognize(const Request& req) {
  if (auto limited = CheckRateLimit(recognize_limiter_.get(), req, "recognize")) {
    metrics_.Inc("vigil_rate_limited_total");
    return *limited;
  }
  if (SniffImageType(req.body) == ImageType::kUnknown) return NotAnImage();
  auto analyzed = faces_->Analyze(req.body);
  if (!analyzed.ok()) return FaceError(analyzed.status());
  double staff_threshold = faces_->default_threshold();
  double customer_threshold = CustomerThreshold();
  Json faces = Json::array();
  for (const auto& f : *analyzed) {
    Json match = nullptr;
    if (!f.embedding.empty()) {
      if (auto s = staff_index_.Match(f.model, f.embedding, staff_threshold)) {
        auto staff = repo_->GetStaff(s->staff_id);
        match = {{"kind", "staff"},
                 {"id", s->staff_id},
                 {"name", staff.ok() ? Json(staff->name) : Json(nullptr)},
                 {"similarity", s->similarity}};
      } else if (auto c = customers_.Match(f.model, f.embedding, customer_threshold)) {
        auto cust = repo_->GetCustomer(c->customer_id);
        match = {{"kind", "customer"},
                 {"id", c->customer_id},
                 {"name", cust.ok() ? OptJson(cust->name) : Json(nullptr)},
                 {"similarity", c->similarity}};
      }
    }
    faces.push_back({{"bbox", Json::array({f.bbox[0], f.bbox[1], f.bbox[2], f.bbox[3]})},
                     {"score", f.score},
                     {"quality", f.quality},
                     {"match", match}});
  }
  return JsonResponse(200, {{"faces", faces}, {"model", faces_->model()}});
}

}  // namespace vigil::api
