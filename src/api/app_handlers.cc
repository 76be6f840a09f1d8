// REST resources of ApiApp: route table, sites, cameras, workers, staff,
// customers, visits, events, reports, snapshots and the OpenAPI document.
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "api/app.h"
#include "api/resource_json.h"
#include "core/logging.h"
#include "storage/timezone.h"

namespace vigil::api {

namespace fs = std::filesystem;

namespace {

// ---- request parsing helpers -------------------------------------------------

Result<int> ParseLimit(const Request& req, int fallback) {
  auto v = req.Query("limit");
  if (!v) return fallback;
  if (v->empty() || v->size() > 6 || v->find_first_not_of("0123456789") != std::string::npos) {
    return InvalidArgument("limit must be an integer between 1 and 1000");
  }
  int n = std::stoi(*v);
  if (n < 1 || n > 1000) return InvalidArgument("limit must be an integer between 1 and 1000");
  return n;
}

Result<storage::PageRequest> ParsePage(const Request& req) {
  storage::PageRequest p;
  VIGIL_ASSIGN_OR_RETURN(p.limit, ParseLimit(req, 50));
  if (auto c = req.Query("cursor"); c && !c->empty()) p.cursor = *c;
  return p;
}

Result<std::optional<int64_t>> ParseTimeParam(const Request& req, const std::string& name) {
  auto v = req.Query(name);
  if (!v || v->empty()) return std::optional<int64_t>();
  int64_t ms = 0;
  if (!ParseIso8601Ms(*v, &ms)) {
    return InvalidArgument(name + " must be an ISO-8601 time (2026-11-29T06:00:00Z) or a date (2026-11-29)");
  }
  return std::optional<int64_t>(ms);
}

// First present of several query names (site / site_id).
std::optional<std::string> QueryAny(const Request& req, std::initializer_list<const char*> names) {
  for (const char* n : names) {
    if (auto v = req.Query(n); v && !v->empty()) return v;
  }
  return std::nullopt;
}

// Lists held in memory are paginated by offset; the cursor is opaque to clients.
template <typename T, typename F>
Result<Json> PageOfVector(const std::vector<T>& all, const Request& req, F to_json) {
  VIGIL_ASSIGN_OR_RETURN(int limit, ParseLimit(req, 100));
  size_t offset = 0;
  if (auto c = req.Query("cursor"); c && !c->empty()) {
    if (c->size() > 9 || c->find_first_not_of("0123456789") != std::string::npos) {
      return InvalidArgument("cursor is malformed; pass back next_cursor unchanged");
    }
    offset = std::stoul(*c);
  }
  Json items = Json::array();
  size_t end = std::min(all.size(), offset + static_cast<size_t>(limit));
  for (size_t i = offset; i < end; ++i) items.push_back(to_json(all[i]));
  Json next = end < all.size() ? Json(std::to_string(end)) : Json(nullptr);
  return Json{{"items", items}, {"next_cursor", next}};
}

template <typename T>
Json PageJson(const storage::Page<T>& page) {
  Json items = Json::array();
  for (const auto& it : page.items) items.push_back(ToJson(it));
  return {{"items", items}, {"next_cursor", page.next_cursor ? Json(*page.next_cursor) : Json(nullptr)}};
}

Status CheckName(const std::string& field, const std::string& v) {
  if (v.empty()) return InvalidArgument(field + " must not be empty");
  if (v.size() > 200) return InvalidArgument(field + " must be at most 200 characters");
  return Status::Ok();
}

Response Created(const Json& j) { return JsonResponse(201, j); }
Response NoContent() {
  Response r;
  r.status = 204;
  return r;
}

}  // namespace

// ---- routes ------------------------------------------------------------------

void ApiApp::AddRoutes() {
  auto h = [this](Response (ApiApp::*fn)(const Request&)) {
    return [this, fn](const Request& r) { return (this->*fn)(r); };
  };
  Router& r = router_;
  r.Add("GET", "/healthz", h(&ApiApp::Healthz));
  r.Add("GET", "/readyz", h(&ApiApp::Readyz));
  r.Add("GET", "/metrics", h(&ApiApp::MetricsText));
  r.Add("GET", "/api/v1/openapi.json", h(&ApiApp::OpenApi));
  r.Add("POST", "/api/v1/session", h(&ApiApp::SessionCreate));
  r.Add("GET", "/api/v1/session", h(&ApiApp::SessionGet));
  r.Add("DELETE", "/api/v1/session", h(&ApiApp::SessionDelete));
  r.Add("GET", "/api/v1/sites", h(&ApiApp::SitesList));
  r.Add("POST", "/api/v1/sites", h(&ApiApp::SitesCreate));
  r.Add("GET", "/api/v1/sites/{id}", h(&ApiApp::SitesGet));
  r.Add("PATCH", "/api/v1/sites/{id}", h(&ApiApp::SitesUpdate));
  r.Add("PUT", "/api/v1/sites/{id}", h(&ApiApp::SitesUpdate));
  r.Add("DELETE", "/api/v1/sites/{id}", h(&ApiApp::SitesDelete));
  r.Add("GET", "/api/v1/cameras", h(&ApiApp::CamerasList));
  r.Add("POST", "/api/v1/cameras", h(&ApiApp::CamerasCreate));
  r.Add("GET", "/api/v1/cameras/{id}", h(&ApiApp::CamerasGet));
  r.Add("PATCH", "/api/v1/cameras/{id}", h(&ApiApp::CamerasUpdate));
  r.Add("PUT", "/api/v1/cameras/{id}", h(&ApiApp::CamerasUpdate));
  r.Add("DELETE", "/api/v1/cameras/{id}", h(&ApiApp::CamerasDelete));
  r.Add("POST", "/api/v1/cameras/{id}/stream", h(&ApiApp::CamerasStream));
  r.Add("GET", "/api/v1/cameras/{id}/stream.mjpeg", h(&ApiApp::CamerasStreamMjpeg));
  r.Add("GET", "/api/v1/workers", h(&ApiApp::WorkersList));
  r.Add("GET", "/api/v1/workers/{id}", h(&ApiApp::WorkersGet));
  r.Add("GET", "/api/v1/staff", h(&ApiApp::StaffList));
  r.Add("POST", "/api/v1/staff", h(&ApiApp::StaffCreate));
  r.Add("GET", "/api/v1/staff/{id}", h(&ApiApp::StaffGet));
  r.Add("PATCH", "/api/v1/staff/{id}", h(&ApiApp::StaffUpdate));
  r.Add("PUT", "/api/v1/staff/{id}", h(&ApiApp::StaffUpdate));
  r.Add("DELETE", "/api/v1/staff/{id}", h(&ApiApp::StaffDelete));
  r.Add("GET", "/api/v1/staff/{id}/faces", h(&ApiApp::StaffFacesList));
  r.Add("POST", "/api/v1/staff/{id}/faces", h(&ApiApp::StaffFacesEnroll));
  r.Add("DELETE", "/api/v1/staff/{id}/faces/{face_id}", h(&ApiApp::StaffFacesDelete));
  r.Add("GET", "/api/v1/staff/{id}/faces/{face_id}/image", h(&ApiApp::StaffFaceImage));
  r.Add("GET", "/api/v1/customers", h(&ApiApp::CustomersList));
  r.Add("GET", "/api/v1/customers/{id}", h(&ApiApp::CustomersGet));
  r.Add("PATCH", "/api/v1/customers/{id}", h(&ApiApp::CustomersUpdate));
  r.Add("PUT", "/api/v1/customers/{id}", h(&ApiApp::CustomersUpdate));
  r.Add("DELETE", "/api/v1/customers/{id}", h(&ApiApp::CustomersDelete));
  r.Add("GET", "/api/v1/visits", h(&ApiApp::VisitsList));
  r.Add("GET", "/api/v1/visits/{id}", h(&ApiApp::VisitsGet));
  r.Add("GET", "/api/v1/events", h(&ApiApp::EventsList));
  r.Add("GET", "/api/v1/events/{id}", h(&ApiApp::EventsGet));
  r.Add("GET", "/api/v1/reports/visitors", h(&ApiApp::ReportVisitors));
  r.Add("POST", "/api/v1/recognize", h(&ApiApp::Recognize));
  r.Add("GET", "/api/v1/snapshots/{id}", h(&ApiApp::SnapshotGet));
}

// ---- sites ---------------------------------------------------------------------

Response ApiApp::SitesList(const Request& req) {
  VIGIL_ASSIGN_OR_RETURN_RESPONSE(auto sites, repo_->ListSites());
  VIGIL_ASSIGN_OR_RETURN_RESPONSE(Json page, PageOfVector(sites, req, [](const auto& s) { return ToJson(s); }));
  return JsonResponse(200, page);
}

Response ApiApp::SitesCreate(const Request& req) {
  VIGIL_ASSIGN_OR_RETURN_RESPONSE(Json body, ParseJsonBody(req));
  storage::Site s;
  VIGIL_ASSIGN_OR_RETURN_RESPONSE(s.name, GetString(body, "name"));
  if (Status st = CheckName("name", s.name); !st.ok()) return StatusResponse(st);
  VIGIL_ASSIGN_OR_RETURN_RESPONSE(auto tz, GetOptString(body, "timezone"));
  if (tz) {
    if (!storage::TimeZone::Load(*tz).ok()) return ErrorResponse(400, "bad_request", "timezone '" + *tz + "' is unknown");
    s.timezone = *tz;
  }
  VIGIL_ASSIGN_OR_RETURN_RESPONSE(auto site, repo_->CreateSite(s));
  return Created(ToJson(site));
}

Response ApiApp::SitesGet(const Request& req) {
  VIGIL_ASSIGN_OR_RETURN_RESPONSE(auto site, repo_->GetSite(req.Param("id")));
  return JsonResponse(200, ToJson(site));
}

Response ApiApp::SitesUpdate(const Request& req) {
  VIGIL_ASSIGN_OR_RETURN_RESPONSE(Json body, ParseJsonBody(req));
  VIGIL_ASSIGN_OR_RETURN_RESPONSE(auto site, repo_->GetSite(req.Param("id")));
  VIGIL_ASSIGN_OR_RETURN_RESPONSE(auto name, GetOptString(body, "name"));
  VIGIL_ASSIGN_OR_RETURN_RESPONSE(auto tz, GetOptString(body, "timezone"));
  if (name) {
    if (Status st = CheckName("name", *name); !st.ok()) return StatusResponse(st);
    site.name = *name;
  }
  if (tz) {
    if (!storage::TimeZone::Load(*tz).ok()) return ErrorResponse(400, "bad_request", "timezone '" + *tz + "' is unknown");
    site.timezone = *tz;
  }
  if (Status st = repo_->UpdateSite(site); !st.ok()) return StatusResponse(st);
  return JsonResponse(200, ToJson(site));
}

Response ApiApp::SitesDelete(const Request& req) {
  if (Status st = repo_->DeleteSite(req.Param("id")); !st.ok()) return StatusResponse(st);
  (void)hub_->Reassign();  // cameras lost their site: their assignment payload changed
  return NoContent();
}

// ---- cameras -------------------------------------------------------------------

namespace {
Status ApplyCameraFields(const Json& body, storage::Camera& c, bool create) {
  if (create) {
    VIGIL_ASSIGN_OR_RETURN(c.name, GetString(body, "name"));
    VIGIL_ASSIGN_OR_RETURN(c.url, GetString(body, "url"));
  } else {
    VIGIL_ASSIGN_OR_RETURN(auto name, GetOptString(body, "name"));
    VIGIL_ASSIGN_OR_RETURN(auto url, GetOptString(body, "url"));
    if (name) c.name = *name;
    if (url) c.url = *url;
  }
  VIGIL_RETURN_IF_ERROR(CheckName("name", c.name));
  if (c.url.empty() || c.url.size() > 2048) return InvalidArgument("url must be 1 to 2048 characters");
  if (body.contains("site_id")) {
    if (body["site_id"].is_null()) {
      c.site_id.reset();
    } else {
      VIGIL_ASSIGN_OR_RETURN(c.site_id, GetString(body, "site_id"));
    }
  }
  VIGIL_ASSIGN_OR_RETURN(auto enabled, GetOptBool(body, "enabled"));
  if (enabled) c.enabled = *enabled;
  VIGIL_ASSIGN_OR_RETURN(auto fps, GetOptNumber(body, "fps"));
  if (fps) {
    if (!(*fps >= 0.1 && *fps <= 120)) return InvalidArgument("fps must be a number between 0.1 and 120");
    c.fps = *fps;
  }
  return Status::Ok();
}
}  // namespace

Response ApiApp::CamerasList(const Request& req) {
  VIGIL_ASSIGN_OR_RETURN_RESPONSE(auto cams, repo_->ListCameras());
  VIGIL_ASSIGN_OR_RETURN_RESPONSE(Json page, PageOfVector(cams, req, [](const auto& c) { return ToJson(c); }));
  return JsonResponse(200, page);
}

Response ApiApp::CamerasCreate(const Request& req) {
  VIGIL_ASSIGN_OR_RETURN_RESPONSE(Json body, ParseJsonBody(req));
  storage::Camera c;
  c.state = "unassigned";
  if (Status st = ApplyCameraFields(body, c, true); !st.ok()) return StatusResponse(st);
  VIGIL_ASSIGN_OR_RETURN_RESPONSE(auto id, GetOptString(body, "id"));
  if (id) {
    if (id->empty() || id->size() > 128) return ErrorResponse(400, "bad_request", "id must be 1 to 128 characters");
    c.id = *id;
  }
  VIGIL_ASSIGN_OR_RETURN_RESPONSE(auto cam, repo_->CreateCamera(c));
  if (Status st = hub_->Reassign(); !st.ok()) GetLogger("api")->warn("reassign failed: {}", st.ToString());
  auto fresh = repo_->GetCamera(cam.id);
  return Created(ToJson(fresh.ok() ? *fresh : cam));
}

Response ApiApp::CamerasGet(const Request& req) {
  VIGIL_ASSIGN_OR_RETURN_RESPONSE(auto cam, repo_->GetCamera(req.Param("id")));
  return JsonResponse(200, ToJson(cam));
}

Response ApiApp::CamerasUpdate(const Request& req) {
  VIGIL_ASSIGN_OR_RETURN_RESPONSE(Json body, ParseJsonBody(req));
  VIGIL_ASSIGN_OR_RETURN_RESPONSE(auto cam, repo_->GetCamera(req.Param("id")));
  if (Status st = ApplyCameraFields(body, cam, false); !st.ok()) return StatusResponse(st);
  if (Status st = repo_->UpdateCamera(cam); !st.ok()) return StatusResponse(st);
  if (Status st = hub_->Reassign(); !st.ok()) GetLogger("api")->warn("reassign failed: {}", st.ToString());
  VIGIL_ASSIGN_OR_RETURN_RESPONSE(auto fresh, repo_->GetCamera(cam.id));
  return JsonResponse(200, ToJson(fresh));
}

Response ApiApp::CamerasDelete(const Request& req) {
  if (Status st = repo_->DeleteCamera(req.Param("id")); !st.ok()) return StatusResponse(st);
  if (Status st = hub_->Reassign(); !st.ok()) GetLogger("api")->warn("reassign failed: {}", st.ToString());
  return NoContent();
}

Response ApiApp::CamerasStream(const Request& req) {
  VIGIL_ASSIGN_OR_RETURN_RESPONSE(Json body, ParseJsonBody(req));
  VIGIL_ASSIGN_OR_RETURN_RESPONSE(std::string action, GetString(body, "action"));
  if (action != "start" && action != "stop") {
    return ErrorResponse(400, "bad_request", "action must be \"start\" or \"stop\"");
  }
  VIGIL_ASSIGN_OR_RETURN_RESPONSE(auto cam, repo_->GetCamera(req.Param("id")));
  if (!cam.worker_id || !hub_->IsOnline(*cam.worker_id)) {
    return ErrorResponse(409, "camera_not_running", "no online worker runs this camera");
  }
  protocol::Command cmd;
  cmd.command = action == "start" ? "start_stream" : "stop_stream";
  cmd.camera_id = cam.id;
  if (action == "start") {
    VIGIL_ASSIGN_OR_RETURN_RESPONSE(auto fps, GetOptNumber(body, "fps"));
    VIGIL_ASSIGN_OR_RETURN_RESPONSE(auto width, GetOptInt(body, "max_width"));
    if (fps && !(*fps > 0 && *fps <= 30)) return ErrorResponse(400, "bad_request", "fps must be in (0, 30]");
    if (width && !(*width >= 16 && *width <= 4096)) {
      return ErrorResponse(400, "bad_request", "max_width must be 16 to 4096");
    }
    cmd.fps = fps.value_or(5);
    cmd.max_width = width.value_or(640);
  }
  if (!hub_->SendCommand(*cam.worker_id, cmd)) return ErrorResponse(409, "camera_not_running", "worker went offline");
  return JsonResponse(202, {{"camera_id", cam.id}, {"worker_id", *cam.worker_id}, {"command", cmd.command}});
}

std::optional<Response> ApiApp::StreamPreflight(const Request& req, std::string* worker_id, StreamParams* params) {
  auto number = [&](const char* name, double lo, double hi, double fallback, const char* range) -> Result<double> {
    auto v = req.Query(name);
    if (!v || v->empty()) return fallback;
    char* end = nullptr;
    double d = std::strtod(v->c_str(), &end);
    if (end != v->c_str() + v->size() || !(d >= lo && d <= hi)) {
      return InvalidArgument(std::string(name) + " must be a number " + range);
    }
    return d;
  };
  auto fps = number("fps", 0.1, 30, 5, "from 0.1 to 30");
  if (!fps.ok()) return StatusResponse(fps.status());
  auto width = number("max_width", 16, 4096, 640, "from 16 to 4096");
  if (!width.ok()) return StatusResponse(width.status());
  params->fps = *fps;
  params->max_width = static_cast<int64_t>(*width);
  auto cam = repo_->GetCamera(req.Param("id"));
  if (!cam.ok()) return StatusResponse(cam.status());
  if (!cam->enabled) return ErrorResponse(409, "camera_not_running", "the camera is disabled");
  if (!cam->worker_id || !hub_->IsOnline(*cam->worker_id)) {
    return ErrorResponse(409, "camera_not_running", "no online worker runs this camera");
  }
  *worker_id = *cam->worker_id;
  return std::nullopt;
}

Response ApiApp::CamerasStreamMjpeg(const Request& req) {
  // Only reached without the network server (ApiApp::Handle in tests, or a
  // transport that cannot hold a response open): the checks still answer.
  std::string worker_id;
  StreamParams params;
  if (auto refusal = StreamPreflight(req, &worker_id, &params)) return *refusal;
  return ErrorResponse(501, "not_implemented", "the MJPEG stream is served only by the network server");
}

// ---- workers -------------------------------------------------------------------

Json ApiApp::WorkerJson(const storage::Worker& w, const std::vector<storage::Camera>& cameras) const {
  std::vector<std::string> ids;
  for (const auto& c : cameras) {
    if (c.worker_id == w.id && (!c.pinned || hub_->IsOnline(w.id))) ids.push_back(c.id);
  }
  return ToJson(w, hub_->IsOnline(w.id), ids);
}

Response ApiApp::WorkersList(const Request& req) {
  VIGIL_ASSIGN_OR_RETURN_RESPONSE(auto workers, repo_->ListWorkers());
  VIGIL_ASSIGN_OR_RETURN_RESPONSE(auto cams, repo_->ListCameras());
  VIGIL_ASSIGN_OR_RETURN_RESPONSE(Json page,
                                  PageOfVector(workers, req, [&](const auto& w) { return WorkerJson(w, cams); }));
  return JsonResponse(200, page);
}

Response ApiApp::WorkersGet(const Request& req) {
  VIGIL_ASSIGN_OR_RETURN_RESPONSE(auto w, repo_->GetWorker(req.Param("id")));
  VIGIL_ASSIGN_OR_RETURN_RESPONSE(auto cams, repo_->ListCameras());
  return JsonResponse(200, WorkerJson(w, cams));
}

// ---- staff ---------------------------------------------------------------------

namespace {
Status ApplyStaffFields(const Json& body, storage::Staff& s, bool create) {
  if (create) {
    VIGIL_ASSIGN_OR_RETURN(s.name, GetString(body, "name"));
  } else {
    VIGIL_ASSIGN_OR_RETURN(auto name, GetOptString(body, "name"));
    if (name) s.name = *name;
  }
  VIGIL_RETURN_IF_ERROR(CheckName("name", s.name));
  for (auto [key, field] : {std::pair{"email", &s.email}, std::pair{"notes", &s.notes}}) {
    if (!body.contains(key)) continue;
    VIGIL_ASSIGN_OR_RETURN(*field, GetOptString(body, key));
    if (*field && (*field)->size() > 2000) return InvalidArgument(std::string(key) + " is too long");
  }
  return Status::Ok();
}
}  // namespace

Response ApiApp::StaffList(const Request& req) {
  VIGIL_ASSIGN_OR_RETURN_RESPONSE(auto staff, repo_->ListStaff());
  VIGIL_ASSIGN_OR_RETURN_RESPONSE(Json page, PageOfVector(staff, req, [&](const auto& s) {
                                    Json j = ToJson(s);
                                    auto faces = repo_->ListStaffFaces(s.id);
                                    j["face_count"] = faces.ok() ? faces->size() : 0;
                                    return j;
                                  }));
  return JsonResponse(200, page);
}

Response ApiApp::StaffCreate(const Request& req) {
  VIGIL_ASSIGN_OR_RETURN_RESPONSE(Json body, ParseJsonBody(req));
  storage::Staff s;
  if (Status st = ApplyStaffFields(body, s, true); !st.ok()) return StatusResponse(st);
  VIGIL_ASSIGN_OR_RETURN_RESPONSE(auto created, repo_->CreateStaff(s));
  Json j = ToJson(created);
  j["faces"] = Json::array();
  return Created(j);
}

Response ApiApp::StaffGet(const Request& req) {
  VIGIL_ASSIGN_OR_RETURN_RESPONSE(auto s, repo_->GetStaff(req.Param("id")));
  VIGIL_ASSIGN_OR_RETURN_RESPONSE(auto faces, repo_->ListStaffFaces(s.id));
  Json j = ToJson(s);
  j["faces"] = Json::array();
  for (const auto& f : faces) j["faces"].push_back(ToJson(f));
  return JsonResponse(200, j);
}

Response ApiApp::StaffUpdate(const Request& req) {
  VIGIL_ASSIGN_OR_RETURN_RESPONSE(Json body, ParseJsonBody(req));
  VIGIL_ASSIGN_OR_RETURN_RESPONSE(auto s, repo_->GetStaff(req.Param("id")));
  std::string old_name = s.name;
  if (Status st = ApplyStaffFields(body, s, false); !st.ok()) return StatusResponse(st);
  if (Status st = repo_->UpdateStaff(s); !st.ok()) return StatusResponse(st);
  if (s.name != old_name) GalleryChangedForStaff(s.id);  // workers show the new name
  return JsonResponse(200, ToJson(s));
}

Response ApiApp::StaffDelete(const Request& req) {
  const std::string& id = req.Param("id");
  VIGIL_ASSIGN_OR_RETURN_RESPONSE(auto faces, repo_->ListStaffFaces(id));
  VIGIL_ASSIGN_OR_RETURN_RESPONSE(auto photos, repo_->DeleteStaff(id));
  for (const auto& p : photos) RemoveDataFile(p);
  staff_index_.RemoveStaff(id);
  std::map<std::string, std::vector<std::string>> removed;
  for (const auto& f : faces) removed[f.model].push_back(f.id);
  for (auto& [model, ids] : removed) hub_->PublishGalleryDelta(model, {}, std::move(ids));
  return NoContent();
}

Response ApiApp::StaffFacesList(const Request& req) {
  VIGIL_ASSIGN_OR_RETURN_RESPONSE(auto s, repo_->GetStaff(req.Param("id")));
  VIGIL_ASSIGN_OR_RETURN_RESPONSE(auto faces, repo_->ListStaffFaces(s.id));
  Json items = Json::array();
  for (const auto& f : faces) items.push_back(ToJson(f));
  return JsonResponse(200, {{"items", items}, {"next_cursor", nullptr}});
}

Response ApiApp::StaffFacesDelete(const Request& req) {
  const std::string& staff_id = req.Param("id");
  VIGIL_ASSIGN_OR_RETURN_RESPONSE(auto faces, repo_->ListStaffFaces(staff_id));
  auto it = std::find_if(faces.begin(), faces.end(), [&](const auto& f) { return f.id == req.Param("face_id"); });
  if (it == faces.end()) return ErrorResponse(404, "not_found", "staff member has no such face");
  if (Status st = repo_->DeleteStaffFace(it->id); !st.ok()) return StatusResponse(st);
  RemoveDataFile(it->photo_path);
  staff_index_.RemoveFace(it->id);
  hub_->PublishGalleryDelta(it->model, {}, {it->id});
  return NoContent();
}

Response ApiApp::StaffFaceImage(const Request& req) {
  VIGIL_ASSIGN_OR_RETURN_RESPONSE(auto faces, repo_->ListStaffFaces(req.Param("id")));
  auto it = std::find_if(faces.begin(), faces.end(), [&](const auto& f) { return f.id == req.Param("face_id"); });
  if (it == faces.end()) return ErrorResponse(404, "not_found", "staff member has no such face");
  const std::string& rel = it->photo_path;
  if (rel.empty() || rel[0] == '/' || rel.find("..") != std::string::npos) {
    return ErrorResponse(404, "not_found", "the enrolment photo of this face was not kept");
  }
  std::ifstream in(fs::path(config_.data_dir) / rel, std::ios::binary);
  if (!in) return ErrorResponse(404, "not_found", "the enrolment photo of this face is missing");
  std::ostringstream ss;
  ss << in.rdbuf();
  Response r;
  r.body = ss.str();
  // The stored bytes decide the type: enrolment accepts only JPEG and PNG.
  switch (SniffImageType(r.body)) {
    case ImageType::kJpeg: r.content_type = "image/jpeg"; break;
    case ImageType::kPng: r.content_type = "image/png"; break;
    default: return ErrorResponse(404, "not_found", "the enrolment photo of this face is unreadable");
  }
  r.headers.emplace_back("Cache-Control", "private, max-age=86400");
  return r;
}

void ApiApp::GalleryChangedForStaff(const std::string& staff_id) {
  auto s = repo_->GetStaff(staff_id);
  auto faces = repo_->ListStaffFaces(staff_id);
  if (!s.ok() || !faces.ok()) return;
  std::map<std::string, std::vector<protocol::GalleryEntry>> by_model;
  for (auto& f : *faces) by_model[f.model].push_back({staff_id, s->name, f.id, std::move(f.embedding)});
  for (auto& [model, entries] : by_model) hub_->PublishGalleryDelta(model, std::move(entries), {});
}

// ---- customers -----------------------------------------------------------------

Response ApiApp::CustomersList(const Request& req) {
  storage::CustomerFilter f;
  f.search = QueryAny(req, {"q", "search"});
  if (auto n = req.Query("named")) f.named_only = (*n == "true" || *n == "1");
  VIGIL_ASSIGN_OR_RETURN_RESPONSE(auto page, ParsePage(req));
  VIGIL_ASSIGN_OR_RETURN_RESPONSE(auto result, repo_->ListCustomers(f, page));
  return JsonResponse(200, PageJson(result));
}

Response ApiApp::CustomersGet(const Request& req) {
  VIGIL_ASSIGN_OR_RETURN_RESPONSE(auto c, repo_->GetCustomer(req.Param("id")));
  return JsonResponse(200, ToJson(c));
}

Response ApiApp::CustomersUpdate(const Request& req) {
  VIGIL_ASSIGN_OR_RETURN_RESPONSE(Json body, ParseJsonBody(req));
  if (!body.contains("name")) return ErrorResponse(400, "bad_request", "field 'name' is missing (a string or null)");
  VIGIL_ASSIGN_OR_RETURN_RESPONSE(auto name, GetOptString(body, "name"));
  if (name) {
    if (Status st = CheckName("name", *name); !st.ok()) return StatusResponse(st);
  }
  if (Status st = repo_->RenameCustomer(req.Param("id"), name); !st.ok()) return StatusResponse(st);
  VIGIL_ASSIGN_OR_RETURN_RESPONSE(auto c, repo_->GetCustomer(req.Param("id")));
  return JsonResponse(200, ToJson(c));
}

Response ApiApp::CustomersDelete(const Request& req) {
  VIGIL_ASSIGN_OR_RETURN_RESPONSE(auto erased, repo_->EraseCustomer(req.Param("id")));
  customers_.Remove(erased.embedding_ids);
  for (const auto& p : erased.snapshot_paths) RemoveDataFile(p);
  GetLogger("api")->info("customer erased events={} visits={} snapshots={}", erased.events_deleted,
                         erased.visits_deleted, erased.snapshot_paths.size());
  return NoContent();
}

// ---- visits and events ---------------------------------------------------------

Response ApiApp::VisitsList(const Request& req) {
  storage::VisitFilter f;
  f.site_id = QueryAny(req, {"site", "site_id"});
  f.camera_id = QueryAny(req, {"camera", "camera_id"});
  f.staff_id = QueryAny(req, {"staff", "staff_id"});
  f.customer_id = QueryAny(req, {"customer", "customer_id"});
  f.person_kind = QueryAny(req, {"kind", "person_kind"});
  if (f.person_kind && *f.person_kind != "staff" && *f.person_kind != "customer") {
    return ErrorResponse(400, "bad_request", "kind must be staff or customer");
  }
  VIGIL_ASSIGN_OR_RETURN_RESPONSE(f.from, ParseTimeParam(req, "from"));
  VIGIL_ASSIGN_OR_RETURN_RESPONSE(f.to, ParseTimeParam(req, "to"));
  VIGIL_ASSIGN_OR_RETURN_RESPONSE(auto page, ParsePage(req));
  VIGIL_ASSIGN_OR_RETURN_RESPONSE(auto result, repo_->ListVisits(f, page));
  return JsonResponse(200, PageJson(result));
}

Response ApiApp::VisitsGet(const Request& req) {
  VIGIL_ASSIGN_OR_RETURN_RESPONSE(auto v, repo_->GetVisit(req.Param("id")));
  return JsonResponse(200, ToJson(v));
}

Response ApiApp::EventsList(const Request& req) {
  storage::EventFilter f;
  f.site_id = QueryAny(req, {"site", "site_id"});
  f.camera_id = QueryAny(req, {"camera", "camera_id"});
  f.staff_id = QueryAny(req, {"staff", "staff_id"});
  f.customer_id = QueryAny(req, {"customer", "customer_id"});
  VIGIL_ASSIGN_OR_RETURN_RESPONSE(f.from, ParseTimeParam(req, "from"));
  VIGIL_ASSIGN_OR_RETURN_RESPONSE(f.to, ParseTimeParam(req, "to"));
  VIGIL_ASSIGN_OR_RETURN_RESPONSE(auto page, ParsePage(req));
  VIGIL_ASSIGN_OR_RETURN_RESPONSE(auto result, repo_->ListEvents(f, page));
  return JsonResponse(200, PageJson(result));
}

Response ApiApp::EventsGet(const Request& req) {
  VIGIL_ASSIGN_OR_RETURN_RESPONSE(auto e, repo_->GetEvent(req.Param("id")));
  return JsonResponse(200, ToJson(e));
}

// ---- reports -------------------------------------------------------------------

Response ApiApp::ReportVisitors(const Request& req) {
  storage::ReportQuery q;
  std::string bucket = req.Query("bucket").value_or("day");
  if (bucket == "hour") {
    q.bucket = storage::ReportBucket::kHour;
  } else if (bucket == "day") {
    q.bucket = storage::ReportBucket::kDay;
  } else if (bucket == "weekday") {
    q.bucket = storage::ReportBucket::kWeekday;
  } else {
    return ErrorResponse(400, "bad_request", "bucket must be hour, day or weekday");
  }
  q.site_id = QueryAny(req, {"site", "site_id"});
  VIGIL_ASSIGN_OR_RETURN_RESPONSE(auto from, ParseTimeParam(req, "from"));
  VIGIL_ASSIGN_OR_RETURN_RESPONSE(auto to, ParseTimeParam(req, "to"));
  q.to = to.value_or(clock_.NowUnixMs());
  q.from = from.value_or(q.to - 30LL * 24 * 3600 * 1000);
  if (q.from >= q.to) return ErrorResponse(400, "bad_request", "from must be before to");
  VIGIL_ASSIGN_OR_RETURN_RESPONSE(auto rows, repo_->VisitorReport(q));

  bool csv = req.Header("accept").find("text/csv") != std::string::npos || req.Query("format") == "csv";
  if (csv) {
    Response r;
    r.content_type = "text/csv; charset=utf-8";
    r.body = "site_id,bucket,visits,visitors,new_visitors,returning_visitors\r\n";
    for (const auto& row : rows) {
      // Site ids are server-made UUIDs or worker-given ids; quote defensively anyway.
      std::string site = row.site_id;
      bool quote = site.find_first_of(",\"\r\n") != std::string::npos;
      if (quote) {
        std::string q2 = "\"";
        for (char c : site) q2 += (c == '"') ? std::string("\"\"") : std::string(1, c);
        site = q2 + "\"";
      }
      r.body += site + "," + row.bucket + "," + std::to_string(row.visits) + "," + std::to_string(row.visitors) + "," +
                std::to_string(row.new_visitors) + "," + std::to_string(row.returning_visitors) + "\r\n";
    }
    r.headers.emplace_back("Content-Disposition", "attachment; filename=\"visitors-" + bucket + ".csv\"");
    return r;
  }
  Json items = Json::array();
  int64_t visits = 0, visitors = 0, fresh = 0, returning = 0;
  for (const auto& row : rows) {
    items.push_back({{"site_id", row.site_id.empty() ? Json(nullptr) : Json(row.site_id)},
                     {"bucket", row.bucket},
                     {"visits", row.visits},
                     {"visitors", row.visitors},
                     {"new_visitors", row.new_visitors},
                     {"returning_visitors", row.returning_visitors}});
    visits += row.visits;
    visitors += row.visitors;
    fresh += row.new_visitors;
    returning += row.returning_visitors;
  }
  return JsonResponse(200, {{"bucket", bucket},
                            {"site_id", q.site_id ? Json(*q.site_id) : Json(nullptr)},
                            {"from", FormatIso8601Ms(q.from)},
                            {"to", FormatIso8601Ms(q.to)},
                            {"rows", items},
                            {"totals",
                             {{"visits", visits},
                              {"visitors", visitors},
                              {"new_visitors", fresh},
                              {"returning_visitors", returning}}}});
}

// ---- snapshots -----------------------------------------------------------------

Response ApiApp::SnapshotGet(const Request& req) {
  VIGIL_ASSIGN_OR_RETURN_RESPONSE(auto snap, repo_->GetSnapshot(req.Param("id")));
  if (snap.path.empty() || snap.path[0] == '/' || snap.path.find("..") != std::string::npos) {
    return ErrorResponse(404, "not_found", "snapshot file missing");
  }
  std::ifstream in(fs::path(config_.data_dir) / snap.path, std::ios::binary);
  if (!in) return ErrorResponse(404, "not_found", "snapshot file missing (expired?)");
  std::ostringstream ss;
  ss << in.rdbuf();
  Response r;
  r.content_type = "image/jpeg";
  r.body = ss.str();
  r.headers.emplace_back("Cache-Control", "private, max-age=86400");
  return r;
}

// ---- OpenAPI -------------------------------------------------------------------

Response ApiApp::OpenApi(const Request&) {
  static const std::map<std::string, std::string> kSummaries = {
      {"GET /healthz", "Liveness"},
      {"GET /readyz", "Readiness (database reachable)"},
      {"GET /metrics", "Prometheus metrics (text format)"},
      {"GET /api/v1/openapi.json", "This document"},
      {"POST /api/v1/session", "Sign in with {\"token\"}: sets the vigil_session cookie"},
      {"GET /api/v1/session", "Whether the caller is signed in"},
      {"DELETE /api/v1/session", "Sign out (clears the cookie)"},
      {"GET /api/v1/sites", "List sites"},
      {"POST /api/v1/sites", "Create a site {name, timezone?}"},
      {"GET /api/v1/sites/{id}", "Get a site"},
      {"PATCH /api/v1/sites/{id}", "Update a site"},
      {"PUT /api/v1/sites/{id}", "Update a site"},
      {"DELETE /api/v1/sites/{id}", "Delete a site (its cameras keep existing without a site)"},
      {"GET /api/v1/cameras", "List cameras"},
      {"POST /api/v1/cameras", "Create a camera {name, url, site_id?, enabled?, fps?}"},
      {"GET /api/v1/cameras/{id}", "Get a camera"},
      {"PATCH /api/v1/cameras/{id}", "Update a camera"},
      {"PUT /api/v1/cameras/{id}", "Update a camera"},
      {"DELETE /api/v1/cameras/{id}", "Delete a camera"},
      {"POST /api/v1/cameras/{id}/stream", "Start or stop a live view {action: start|stop, fps?, max_width?}"},
      {"GET /api/v1/cameras/{id}/stream.mjpeg",
       "Live view: multipart/x-mixed-replace JPEG parts with X-Vigil-Meta track boxes (fps?, max_width?)"},
      {"GET /api/v1/workers", "List workers with status, cameras and stats"},
      {"GET /api/v1/workers/{id}", "Get a worker"},
      {"GET /api/v1/staff", "List staff"},
      {"POST /api/v1/staff", "Create a staff member {name, email?, notes?}"},
      {"GET /api/v1/staff/{id}", "Get a staff member with their faces"},
      {"PATCH /api/v1/staff/{id}", "Update a staff member"},
      {"PUT /api/v1/staff/{id}", "Update a staff member"},
      {"DELETE /api/v1/staff/{id}", "Delete a staff member and their faces"},
      {"GET /api/v1/staff/{id}/faces", "List enrolled faces"},
      {"POST /api/v1/staff/{id}/faces", "Enroll a JPEG/PNG photo with exactly one face (422 otherwise)"},
      {"DELETE /api/v1/staff/{id}/faces/{face_id}", "Remove an enrolled face"},
      {"GET /api/v1/staff/{id}/faces/{face_id}/image", "The kept enrolment photo (image/jpeg or image/png)"},
      {"GET /api/v1/customers", "List/search customers (q, limit, cursor)"},
      {"GET /api/v1/customers/{id}", "Get a customer"},
      {"PATCH /api/v1/customers/{id}", "Rename a customer {name: string|null}"},
      {"PUT /api/v1/customers/{id}", "Rename a customer {name: string|null}"},
      {"DELETE /api/v1/customers/{id}", "Erase a customer: embeddings, events, visits, snapshots"},
      {"GET /api/v1/visits", "List visits (site, camera, staff, customer, kind, from, to, limit, cursor)"},
      {"GET /api/v1/visits/{id}", "Get a visit"},
      {"GET /api/v1/events", "List face events (site, camera, staff, customer, from, to, limit, cursor)"},
      {"GET /api/v1/events/{id}", "Get a face event"},
      {"GET /api/v1/reports/visitors", "Visitor report (bucket=hour|day|weekday, site, from, to); CSV with Accept: text/csv"},
      {"POST /api/v1/recognize", "Recognize every face in a JPEG/PNG body"},
      {"GET /api/v1/snapshots/{id}", "A stored face crop (image/jpeg)"},
  };
  Json paths = Json::object();
  for (const auto& [method, pattern] : router_.Routes()) {
    std::string key = method + " " + pattern;
    std::string lower = method;
    for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    Json op = {{"summary", kSummaries.count(key) ? kSummaries.at(key) : key}};
    Json params = Json::array();
    size_t pos = 0;
    while ((pos = pattern.find('{', pos)) != std::string::npos) {
      size_t end = pattern.find('}', pos);
      params.push_back({{"name", pattern.substr(pos + 1, end - pos - 1)},
                        {"in", "path"},
                        {"required", true},
                        {"schema", {{"type", "string"}}}});
      pos = end;
    }
    if (!params.empty()) op["parameters"] = params;
    bool is_public = pattern == "/healthz" || pattern == "/readyz" || pattern == "/metrics" ||
                     (pattern == "/api/v1/session" && method != "GET");
    if (is_public) op["security"] = Json::array();
    if (pattern == "/api/v1/staff/{id}/faces" && method == "POST") {
      op["requestBody"] = {{"required", true},
                           {"content",
                            {{"image/jpeg", {{"schema", {{"type", "string"}, {"format", "binary"}}}}},
                             {"image/png", {{"schema", {{"type", "string"}, {"format", "binary"}}}}}}}};
    }
    op["responses"] = {{"default", {{"description", "Error"},
                                    {"content", {{"application/json", {{"schema", {{"$ref", "#/components/schemas/Error"}}}}}}}}}};
    paths[pattern][lower] = op;
  }
  Json doc = {
      {"openapi", "3.0.3"},
      {"info", {{"title", "Vigil API"}, {"version", "1"}}},
      {"paths", paths},
      {"security", Json::array({{{"bearer", Json::array()}}, {{"session", Json::array()}}})},
      {"components",
       {{"securitySchemes",
         {{"bearer", {{"type", "http"}, {"scheme", "bearer"}}},
          {"session", {{"type", "apiKey"}, {"in", "cookie"}, {"name", kSessionCookie}}}}},
        {"schemas",
         {{"Error",
           {{"type", "object"},
            {"properties",
             {{"error",
               {{"type", "object"},
                {"properties", {{"code", {{"type", "string"}}}, {"message", {{"type", "string"}}}}}}}}}}}}}}},
  };
  return JsonResponse(200, doc);
}

}  // namespace vigil::api
