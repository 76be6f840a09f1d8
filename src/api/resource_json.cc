#include "api/resource_json.h"

#include "core/clock.h"

namespace vigil::api {

Json OptJson(const std::optional<std::string>& v) { return v ? Json(*v) : Json(nullptr); }
Json OptJson(const std::optional<double>& v) { return v ? Json(*v) : Json(nullptr); }

std::string IsoTime(int64_t unix_ms) { return unix_ms == 0 ? std::string() : FormatIso8601Ms(unix_ms); }

namespace {
Json TimeJson(int64_t unix_ms) { return unix_ms == 0 ? Json(nullptr) : Json(FormatIso8601Ms(unix_ms)); }
Json ObjectOrEmpty(const std::string& text) {
  auto j = ParseJson(text);
  return j.ok() && j->is_object() ? *j : Json::object();
}
}  // namespace

Json ToJson(const storage::Site& s) {
  return {{"id", s.id}, {"name", s.name}, {"timezone", s.timezone}, {"created_at", TimeJson(s.created_at)}};
}

Json ToJson(const storage::Camera& c) {
  return {{"id", c.id},
          {"name", c.name},
          {"url", c.url},
          {"site_id", OptJson(c.site_id)},
          {"enabled", c.enabled},
          {"fps", c.fps},
          {"worker_id", OptJson(c.worker_id)},
          {"pinned", c.pinned},
          {"state", c.state},
          {"created_at", TimeJson(c.created_at)}};
}

Json ToJson(const storage::Worker& w, bool live, const std::vector<std::string>& cameras) {
  Json hb = ObjectOrEmpty(w.stats);
  Json stats = hb.contains("stats") && hb["stats"].is_object() ? hb["stats"] : Json::object();
  for (const char* k : {"events_created", "events_acked", "events_spooled", "events_dropped"}) {
    if (!stats.contains(k)) stats[k] = 0;
  }
  return {{"id", w.id},
          {"status", live ? "online" : "offline"},
          {"host", w.host},
          {"version", w.version},
          {"capabilities", ObjectOrEmpty(w.capabilities)},
          {"cameras", cameras},
          {"state", hb.contains("state") ? hb["state"] : Json(nullptr)},
          {"camera_status", hb.contains("cameras") ? hb["cameras"] : Json::array()},
          {"stats", stats},
          {"last_heartbeat_at", TimeJson(w.last_heartbeat_at)},
          {"connected_at", TimeJson(w.connected_at)},
          {"created_at", TimeJson(w.created_at)}};
}

Json ToJson(const storage::Staff& s) {
  return {{"id", s.id},
          {"name", s.name},
          {"email", OptJson(s.email)},
          {"notes", OptJson(s.notes)},
          {"created_at", TimeJson(s.created_at)}};
}

Json ToJson(const storage::StaffFace& f) {
  return {{"id", f.id},
          {"staff_id", f.staff_id},
          {"model", f.model},
          {"quality", f.quality},
          {"created_at", TimeJson(f.created_at)}};
}

Json ToJson(const storage::Customer& c) {
  return {{"id", c.id},
          {"name", OptJson(c.name)},
          {"first_seen_at", TimeJson(c.first_seen_at)},
          {"last_seen_at", TimeJson(c.last_seen_at)},
          {"visit_count", c.visit_count},
          {"created_at", TimeJson(c.created_at)}};
}

Json ToJson(const storage::FaceEvent& e) {
  return {{"id", e.event_id},
          {"event_id", e.event_id},
          {"worker_id", e.worker_id},
          {"camera_id", e.camera_id},
          {"site_id", OptJson(e.site_id)},
          {"captured_at", TimeJson(e.captured_at)},
          {"track_id", e.track_id},
          {"bbox", Json::array({e.bbox[0], e.bbox[1], e.bbox[2], e.bbox[3]})},
          {"det_score", e.det_score},
          {"quality", e.quality},
          {"model", e.model},
          {"staff_id", OptJson(e.staff_id)},
          {"staff_similarity", OptJson(e.staff_similarity)},
          {"customer_id", OptJson(e.customer_id)},
          {"customer_similarity", OptJson(e.customer_similarity)},
          {"visit_id", OptJson(e.visit_id)},
          {"snapshot_id", OptJson(e.snapshot_id)},
          {"created_at", TimeJson(e.created_at)}};
}

Json ToJson(const storage::Visit& v) {
  return {{"id", v.id},
          {"site_id", OptJson(v.site_id)},
          {"person_kind", v.person_kind},
          {"staff_id", OptJson(v.staff_id)},
          {"customer_id", OptJson(v.customer_id)},
          {"started_at", TimeJson(v.started_at)},
          {"ended_at", TimeJson(v.ended_at)},
          {"event_count", v.event_count}};
}

}  // namespace vigil::api
