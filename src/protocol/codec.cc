#include "protocol/codec.h"

#include <cmath>
#include <cstdlib>
#include <limits>
#include <utility>

#include "core/clock.h"
#include "core/uuid.h"

namespace vigil::protocol {
namespace {

// Timestamps outside [1970, 9999] are rejected: nothing in Vigil predates the
// epoch, and the ISO formatter is only exact inside this range.
constexpr int64_t kMaxUnixMs = 253402300799999;  // 9999-12-31T23:59:59.999Z
// Integers carried as JSON doubles are exact only up to 2^53.
constexpr double kMaxExactDouble = 9007199254740992.0;
// Deeper JSON than this is never legitimate here and is refused before parsing.
constexpr int kMaxJsonDepth = 32;

Json Nullable(const std::optional<std::string>& v) { return v ? Json(*v) : Json(nullptr); }
Json Nullable(const std::optional<double>& v) { return v ? Json(*v) : Json(nullptr); }
Json BoxJson(const BBox& b) { return Json::array({b[0], b[1], b[2], b[3]}); }

// Rejects nesting deeper than kMaxJsonDepth with a linear scan, so hostile
// input never reaches the parser's or the destructor's deep paths.
bool NestingWithin(std::string_view text, int max_depth) {
  int depth = 0;
  bool in_string = false;
  bool escaped = false;
  for (char c : text) {
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > max_depth) return false;
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return true;
}

Result<Json> ParseObjectBounded(std::string_view text, std::string_view what) {
  if (!NestingWithin(text, kMaxJsonDepth)) {
    return InvalidArgument(std::string(what) + " nests deeper than " + std::to_string(kMaxJsonDepth) + " levels");
  }
  auto j = ParseJsonObject(text);
  if (!j.ok()) return j.status().WithContext(what);
  return j;
}

bool IsIntegral(const Json& j) {
  if (j.is_number_integer()) {
    return !j.is_number_unsigned() || j.get<uint64_t>() <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
  }
  if (j.is_number_float()) {
    double d = j.get<double>();
    return std::isfinite(d) && std::trunc(d) == d && std::fabs(d) <= kMaxExactDouble;
  }
  return false;
}
int64_t AsInt64(const Json& j) {
  if (j.is_number_float()) return static_cast<int64_t>(j.get<double>());
  return j.get<int64_t>();
}

// Reads fields of one JSON object. The first error sticks: later reads return
// defaults and do nothing, so a decoder reads every field and checks ok() once.
class Reader {
 public:
  Reader(const Json& obj, std::string path, Status* err) : obj_(obj), path_(std::move(path)), err_(err) {
    if (err_->ok() && !obj_.is_object()) *err_ = InvalidArgument(path_ + " must be an object");
  }

  bool ok() const { return err_->ok(); }
  const std::string& path() const { return path_; }

  void Fail(std::string_view key, std::string_view what) {
    if (err_->ok()) *err_ = InvalidArgument(Field(key) + " " + std::string(what));
  }

  // nullptr (and an error unless `optional`) when absent or null.
  const Json* Find(std::string_view key, bool optional) {
    if (!ok() || !obj_.is_object()) return nullptr;
    auto it = obj_.find(key);
    if (it == obj_.end() || it->is_null()) {
      if (!optional) Fail(key, "is missing");
      return nullptr;
    }
    return &*it;
  }

  std::optional<std::string> OptStr(std::string_view key, size_t max_len = kMaxStringLength, bool non_empty = false) {
    const Json* v = Find(key, true);
    if (v == nullptr) return std::nullopt;
    if (!v->is_string()) {
      Fail(key, "must be a string");
      return std::nullopt;
    }
    const auto& s = v->get_ref<const std::string&>();
    if (s.size() > max_len) {
      Fail(key, "is longer than " + std::to_string(max_len) + " bytes");
      return std::nullopt;
    }
    if (non_empty && s.empty()) {
      Fail(key, "must not be empty");
      return std::nullopt;
    }
    return s;
  }
  std::string Str(std::string_view key, size_t max_len = kMaxStringLength, bool non_empty = false) {
    if (Find(key, false) == nullptr) return {};
    return OptStr(key, max_len, non_empty).value_or(std::string());
  }
  std::string Id(std::string_view key) { return Str(key, kMaxIdLength, true); }
  std::optional<std::string> OptId(std::string_view key) { return OptStr(key, kMaxIdLength, true); }

  std::string Uuid(std::string_view key) {
    std::string s = Str(key, 64);
    if (ok() && !IsUuid(s)) Fail(key, "must be a UUID");
    return s;
  }

  std::optional<int64_t> OptInt(std::string_view key, int64_t min = std::numeric_limits<int64_t>::min(),
                                int64_t max = std::numeric_limits<int64_t>::max()) {
    const Json* v = Find(key, true);
    if (v == nullptr) return std::nullopt;
    if (!IsIntegral(*v)) {
      Fail(key, "must be an integer");
      return std::nullopt;
    }
    int64_t x = AsInt64(*v);
    if (x < min || x > max) {
      Fail(key, "must be in [" + std::to_string(min) + ", " + std::to_string(max) + "]");
      return std::nullopt;
    }
    return x;
  }
  int64_t Int(std::string_view key, int64_t min = std::numeric_limits<int64_t>::min(),
              int64_t max = std::numeric_limits<int64_t>::max()) {
    if (Find(key, false) == nullptr) return 0;
    return OptInt(key, min, max).value_or(0);
  }

  std::optional<double> OptNum(std::string_view key, double min = -std::numeric_limits<double>::max(),
                               double max = std::numeric_limits<double>::max()) {
    const Json* v = Find(key, true);
    if (v == nullptr) return std::nullopt;
    if (!v->is_number()) {
      Fail(key, "must be a number");
      return std::nullopt;
    }
    double x = v->get<double>();
    if (!std::isfinite(x)) {
      Fail(key, "must be finite");
      return std::nullopt;
    }
    if (x < min || x > max) {
      Fail(key, "is out of range");
      return std::nullopt;
    }
    return x;
  }
  double Num(std::string_view key, double min = -std::numeric_limits<double>::max(),
             double max = std::numeric_limits<double>::max()) {
    if (Find(key, false) == nullptr) return 0;
    return OptNum(key, min, max).value_or(0);
  }

  bool Bool(std::string_view key) {
    const Json* v = Find(key, false);
    if (v == nullptr) return false;
    if (!v->is_boolean()) {
      Fail(key, "must be a boolean");
      return false;
    }
    return v->get<bool>();
  }

  int64_t Time(std::string_view key) {
    std::string s = Str(key, 64);
    if (!ok()) return 0;
    int64_t ms = 0;
    if (!ParseIso8601Ms(s, &ms)) {
      Fail(key, "must be an ISO-8601 UTC timestamp like 2026-11-29T06:00:00.123Z");
      return 0;
    }
    if (ms < 0 || ms > kMaxUnixMs) {
      Fail(key, "is out of range");
      return 0;
    }
    return ms;
  }

  BBox Box(std::string_view key) {
    BBox b{};
    const Json* v = Find(key, false);
    if (v == nullptr) return b;
    if (!v->is_array() || v->size() != 4) {
      Fail(key, "must be an array of 4 numbers [x, y, w, h]");
      return b;
    }
    for (size_t i = 0; i < 4; ++i) {
      const Json& e = (*v)[i];
      if (!e.is_number() || !std::isfinite(e.get<double>())) {
        Fail(key, "must be an array of 4 finite numbers [x, y, w, h]");
        return b;
      }
      b[i] = e.get<double>();
    }
    if (b[2] < 0 || b[3] < 0) Fail(key, "must have a non-negative width and height");
    return b;
  }

  std::vector<float> Embedding(std::string_view key) {
    std::string s = Str(key, (kMaxEmbeddingDim * sizeof(float) + 2) / 3 * 4);
    if (!ok()) return {};
    if (s.empty()) {
      Fail(key, "must not be empty");
      return {};
    }
    auto v = DecodeFloats(s);
    if (!v.ok()) {
      Fail(key, "must be base64 of float32 values: " + v.status().message());
      return {};
    }
    if (v->empty() || v->size() > kMaxEmbeddingDim) {
      Fail(key, "must hold 1.." + std::to_string(kMaxEmbeddingDim) + " floats");
      return {};
    }
    for (float f : *v) {
      if (!std::isfinite(f)) {
        Fail(key, "holds a non-finite value");
        return {};
      }
    }
    return std::move(v).value();
  }

  // The array at `key` (nullptr and an error when absent, unless optional).
  const Json* Array(std::string_view key, bool optional = false, size_t max_len = kMaxListLength) {
    const Json* v = Find(key, optional);
    if (v == nullptr) return nullptr;
    if (!v->is_array()) {
      Fail(key, "must be an array");
      return nullptr;
    }
    if (v->size() > max_len) {
      Fail(key, "has more than " + std::to_string(max_len) + " elements");
      return nullptr;
    }
    return v;
  }

  const Json* Object(std::string_view key, bool optional = false) {
    const Json* v = Find(key, optional);
    if (v == nullptr) return nullptr;
    if (!v->is_object()) {
      Fail(key, "must be an object");
      return nullptr;
    }
    return v;
  }

  // A list of strings; `uuid` requires each to be a UUID.
  std::vector<std::string> StrList(std::string_view key, bool optional, size_t max_str, bool uuid) {
    std::vector<std::string> out;
    const Json* a = Array(key, optional);
    if (a == nullptr) return out;
    out.reserve(a->size());
    for (size_t i = 0; i < a->size(); ++i) {
      const Json& e = (*a)[i];
      std::string idx = std::string(key) + "[" + std::to_string(i) + "]";
      if (!e.is_string() || e.get_ref<const std::string&>().empty() ||
          e.get_ref<const std::string&>().size() > max_str) {
        Fail(idx, "must be a non-empty string of at most " + std::to_string(max_str) + " bytes");
        return {};
      }
      if (uuid && !IsUuid(e.get_ref<const std::string&>())) {
        Fail(idx, "must be a UUID");
        return {};
      }
      out.push_back(e.get<std::string>());
    }
    return out;
  }

  std::string Field(std::string_view key) const { return path_ + "." + std::string(key); }

 private:
  const Json& obj_;
  std::string path_;
  Status* err_;
};

// Reads each element of the array `key` with `read(Reader&)`.
template <typename T, typename F>
std::vector<T> ReadList(Reader& r, std::string_view key, bool optional, F read) {
  std::vector<T> out;
  const Json* a = r.Array(key, optional);
  if (a == nullptr) return out;
  out.reserve(a->size());
  for (size_t i = 0; i < a->size() && r.ok(); ++i) {
    out.push_back(read((*a)[i], r.Field(key) + "[" + std::to_string(i) + "]"));
  }
  return out;
}

// ---- shared parts ----

Json ToJsonPart(const LocalCamera& c) { return {{"id", c.id}, {"name", c.name}, {"url", c.url}}; }
Json ToJsonPart(const CameraAssignment& c) {
  return {{"id", c.id}, {"name", c.name}, {"url", c.url}, {"site_id", Nullable(c.site_id)}, {"fps", c.fps}};
}
Json ToJsonPart(const CameraStatus& c) {
  return {{"id", c.id}, {"state", c.state}, {"fps", c.fps}, {"faces", c.faces}, {"error", Nullable(c.error)}};
}
Json ToJsonPart(const WorkerStats& s) {
  return {{"events_created", s.events_created}, {"events_acked", s.events_acked}, {"events_spooled", s.events_spooled},
          {"events_dropped", s.events_dropped}, {"faces_seen", s.faces_seen},     {"cpu", s.cpu},
          {"rss_bytes", s.rss_bytes},           {"uptime_s", s.uptime_s}};
}
Json ToJsonPart(const GalleryEntry& e) {
  return {{"staff_id", e.staff_id}, {"name", e.name}, {"face_id", e.face_id}, {"embedding", EncodeFloats(e.embedding)}};
}
Json ToJsonPart(const StreamTrack& t) {
  return {{"track_id", t.track_id},
          {"bbox", BoxJson(t.bbox)},
          {"name", Nullable(t.name)},
          {"staff_id", Nullable(t.staff_id)}};
}
template <typename T>
Json ListJson(const std::vector<T>& v) {
  Json a = Json::array();
  for (const auto& x : v) a.push_back(ToJsonPart(x));
  return a;
}

WorkerStats ReadStats(Reader& parent, std::string_view key, Status* err) {
  WorkerStats s;
  const Json* o = parent.Object(key);
  if (o == nullptr) return s;
  Reader r(*o, parent.Field(key), err);
  s.events_created = r.Int("events_created", 0);
  s.events_acked = r.Int("events_acked", 0);
  s.events_spooled = r.Int("events_spooled", 0);
  s.events_dropped = r.Int("events_dropped", 0);
  s.faces_seen = r.Int("faces_seen", 0);
  s.cpu = r.Num("cpu", 0);
  s.rss_bytes = r.Int("rss_bytes", 0);
  s.uptime_s = r.Int("uptime_s", 0);
  return s;
}

std::vector<CameraAssignment> ReadAssignments(Reader& r, Status* err) {
  return ReadList<CameraAssignment>(r, "cameras", false, [err](const Json& j, std::string path) {
    Reader c(j, std::move(path), err);
    CameraAssignment a;
    a.id = c.Id("id");
    a.name = c.Str("name");
    a.url = c.Str("url");
    a.site_id = c.OptId("site_id");
    a.fps = c.Num("fps", 0);
    if (c.ok() && a.fps <= 0) c.Fail("fps", "must be > 0");
    return a;
  });
}

// ---- per-message decoders ----

Hello DecodeHello(Reader& r, Status* err) {
  Hello m;
  m.protocol = r.Int("protocol");
  m.worker_id = r.Id("worker_id");
  m.host = r.Str("host");
  m.pid = r.Int("pid", 0);
  m.version = r.Str("version", kMaxIdLength);
  if (const Json* caps = r.Object("capabilities")) {
    Reader c(*caps, r.Field("capabilities"), err);
    m.capabilities.detector = c.Str("detector", kMaxIdLength);
    m.capabilities.embedder = c.Str("embedder", kMaxIdLength);
    m.capabilities.models = c.StrList("models", false, kMaxIdLength, false);
    m.capabilities.max_cameras = c.Int("max_cameras", 0);
  }
  m.cameras = ReadList<LocalCamera>(r, "cameras", true, [err](const Json& j, std::string path) {
    Reader c(j, std::move(path), err);
    return LocalCamera{c.Id("id"), c.Str("name"), c.Str("url")};
  });
  m.state = r.Str("state", kMaxIdLength);
  if (r.ok() && !IsValidWorkerState(m.state)) r.Fail("state", "is not a worker state");
  return m;
}

Heartbeat DecodeHeartbeat(Reader& r, Status* err) {
  Heartbeat m;
  m.seq = r.Int("seq", 0);
  m.state = r.Str("state", kMaxIdLength);
  if (r.ok() && !IsValidWorkerState(m.state)) r.Fail("state", "is not a worker state");
  m.sent_at_ms = r.Time("sent_at");
  m.cameras = ReadList<CameraStatus>(r, "cameras", false, [err](const Json& j, std::string path) {
    Reader c(j, std::move(path), err);
    CameraStatus s;
    s.id = c.Id("id");
    s.state = c.Str("state", kMaxIdLength);
    if (c.ok() && !IsValidCameraState(s.state)) c.Fail("state", "is not a camera state");
    s.fps = c.Num("fps", 0);
    s.faces = c.Int("faces", 0);
    s.error = c.OptStr("error");
    return s;
  });
  m.stats = ReadStats(r, "stats", err);
  return m;
}

Event DecodeEvent(Reader& r) {
  Event m;
  m.event_id = r.Uuid("event_id");
  m.worker_id = r.Id("worker_id");
  m.camera_id = r.Id("camera_id");
  m.site_id = r.OptId("site_id");
  m.captured_at_ms = r.Time("captured_at");
  m.track_id = r.Int("track_id", 0);
  m.bbox = r.Box("bbox");
  m.det_score = r.Num("det_score", 0, 1);
  m.quality = r.Num("quality", 0, 1);
  m.model = r.Id("model");
  m.embedding = r.Embedding("embedding");
  m.staff_id = r.OptId("staff_id");
  // Cosine similarity; float rounding may put a perfect match a hair above 1.
  m.staff_similarity = r.OptNum("staff_similarity", -1.01, 1.01);
  m.has_snapshot = r.Bool("has_snapshot");
  return m;
}

Goodbye DecodeGoodbye(Reader& r, Status* err) {
  Goodbye m;
  m.reason = r.Str("reason");
  m.stats = ReadStats(r, "stats", err);
  return m;
}

Welcome DecodeWelcome(Reader& r, Status* err) {
  Welcome m;
  m.session_id = r.Uuid("session_id");
  m.heartbeat_interval_ms = r.Int("heartbeat_interval_ms", 1, 3'600'000);
  m.cameras = ReadAssignments(r, err);
  m.gallery_version = r.Int("gallery_version", 0);
  return m;
}

Gallery DecodeGallery(Reader& r, Status* err) {
  Gallery m;
  m.version = r.Int("version", 0);
  m.full = r.Bool("full");
  m.model = r.Id("model");
  m.upsert = ReadList<GalleryEntry>(r, "upsert", true, [err](const Json& j, std::string path) {
    Reader e(j, std::move(path), err);
    GalleryEntry g;
    g.staff_id = e.Id("staff_id");
    g.name = e.Str("name");
    g.face_id = e.Id("face_id");
    g.embedding = e.Embedding("embedding");
    return g;
  });
  m.remove = r.StrList("remove", true, kMaxIdLength, false);
  if (r.ok() && m.full && !m.remove.empty()) r.Fail("remove", "must be empty in a full snapshot");
  return m;
}

Command DecodeCommand(Reader& r, Status* err) {
  Command m;
  m.command = r.Id("command");
  const Json* args = r.Object("args", true);
  if (args != nullptr) {
    Reader a(*args, r.Field("args"), err);
    m.camera_id = a.OptId("camera_id");
    m.fps = a.OptNum("fps", 0);
    if (a.ok() && m.fps && *m.fps <= 0) a.Fail("fps", "must be > 0");
    m.max_width = a.OptInt("max_width", 1, 1 << 16);
  }
  if (r.ok() && (m.command == kCommandStartStream || m.command == kCommandStopStream) && !m.camera_id) {
    r.Fail("args.camera_id", "is missing");
  }
  return m;
}

Ack DecodeAck(Reader& r) {
  Ack m;
  m.event_ids = r.StrList("event_ids", false, 64, true);
  return m;
}

Error DecodeError(Reader& r) {
  Error m;
  m.code = r.Id("code");
  m.message = r.OptStr("message").value_or(std::string());
  return m;
}

}  // namespace

bool IsValidWorkerState(std::string_view s) {
  return s == kWorkerStarting || s == kWorkerConnecting || s == kWorkerRegistering || s == kWorkerRunning ||
         s == kWorkerReconnecting || s == kWorkerDraining || s == kWorkerStopped || s == kWorkerFailed;
}

bool IsValidCameraState(std::string_view s) {
  return s == kCameraStarting || s == kCameraRunning || s == kCameraRetrying || s == kCameraFailed ||
         s == kCameraStopped;
}

std::string_view TypeName(const Message& m) {
  struct Visitor {
    std::string_view operator()(const Hello&) const { return kTypeHello; }
    std::string_view operator()(const Heartbeat&) const { return kTypeHeartbeat; }
    std::string_view operator()(const Event&) const { return kTypeEvent; }
    std::string_view operator()(const Goodbye&) const { return kTypeGoodbye; }
    std::string_view operator()(const Welcome&) const { return kTypeWelcome; }
    std::string_view operator()(const Assign&) const { return kTypeAssign; }
    std::string_view operator()(const Gallery&) const { return kTypeGallery; }
    std::string_view operator()(const Command&) const { return kTypeCommand; }
    std::string_view operator()(const Ack&) const { return kTypeAck; }
    std::string_view operator()(const Error&) const { return kTypeError; }
  };
  return std::visit(Visitor{}, m);
}

// ---- encoding ----

namespace {

Json ToJsonImpl(const Hello& m) {
  Json caps = {{"detector", m.capabilities.detector},
               {"embedder", m.capabilities.embedder},
               {"models", m.capabilities.models},
               {"max_cameras", m.capabilities.max_cameras}};
  return {{"type", kTypeHello}, {"protocol", m.protocol}, {"worker_id", m.worker_id}, {"host", m.host},
          {"pid", m.pid},       {"version", m.version},   {"capabilities", caps},     {"cameras", ListJson(m.cameras)},
          {"state", m.state}};
}
Json ToJsonImpl(const Heartbeat& m) {
  return {{"type", kTypeHeartbeat},
          {"seq", m.seq},
          {"state", m.state},
          {"sent_at", FormatIso8601Ms(m.sent_at_ms)},
          {"cameras", ListJson(m.cameras)},
          {"stats", ToJsonPart(m.stats)}};
}
Json ToJsonImpl(const Event& m) {
  return {{"type", kTypeEvent},
          {"event_id", m.event_id},
          {"worker_id", m.worker_id},
          {"camera_id", m.camera_id},
          {"site_id", Nullable(m.site_id)},
          {"captured_at", FormatIso8601Ms(m.captured_at_ms)},
          {"track_id", m.track_id},
          {"bbox", BoxJson(m.bbox)},
          {"det_score", m.det_score},
          {"quality", m.quality},
          {"model", m.model},
          {"embedding", EncodeFloats(m.embedding)},
          {"staff_id", Nullable(m.staff_id)},
          {"staff_similarity", Nullable(m.staff_similarity)},
          {"has_snapshot", m.has_snapshot}};
}
Json ToJsonImpl(const Goodbye& m) {
  return {{"type", kTypeGoodbye}, {"reason", m.reason}, {"stats", ToJsonPart(m.stats)}};
}
Json ToJsonImpl(const Welcome& m) {
  return {{"type", kTypeWelcome},
          {"session_id", m.session_id},
          {"heartbeat_interval_ms", m.heartbeat_interval_ms},
          {"cameras", ListJson(m.cameras)},
          {"gallery_version", m.gallery_version}};
}
Json ToJsonImpl(const Assign& m) { return {{"type", kTypeAssign}, {"cameras", ListJson(m.cameras)}}; }
Json ToJsonImpl(const Gallery& m) {
  return {{"type", kTypeGallery}, {"version", m.version},         {"full", m.full},
          {"model", m.model},     {"upsert", ListJson(m.upsert)}, {"remove", m.remove}};
}
Json ToJsonImpl(const Command& m) {
  Json args = Json::object();
  if (m.camera_id) args["camera_id"] = *m.camera_id;
  if (m.fps) args["fps"] = *m.fps;
  if (m.max_width) args["max_width"] = *m.max_width;
  return {{"type", kTypeCommand}, {"command", m.command}, {"args", args}};
}
Json ToJsonImpl(const Ack& m) { return {{"type", kTypeAck}, {"event_ids", m.event_ids}}; }
Json ToJsonImpl(const Error& m) { return {{"type", kTypeError}, {"code", m.code}, {"message", m.message}}; }

}  // namespace

Json ToJson(const Message& m) {
  return std::visit([](const auto& x) { return ToJsonImpl(x); }, m);
}

std::string Encode(const Hello& m) { return DumpJson(ToJsonImpl(m)); }
std::string Encode(const Heartbeat& m) { return DumpJson(ToJsonImpl(m)); }
std::string Encode(const Event& m) { return DumpJson(ToJsonImpl(m)); }
std::string Encode(const Goodbye& m) { return DumpJson(ToJsonImpl(m)); }
std::string Encode(const Welcome& m) { return DumpJson(ToJsonImpl(m)); }
std::string Encode(const Assign& m) { return DumpJson(ToJsonImpl(m)); }
std::string Encode(const Gallery& m) { return DumpJson(ToJsonImpl(m)); }
std::string Encode(const Command& m) { return DumpJson(ToJsonImpl(m)); }
std::string Encode(const Ack& m) { return DumpJson(ToJsonImpl(m)); }
std::string Encode(const Error& m) { return DumpJson(ToJsonImpl(m)); }
std::string Encode(const Message& m) { return DumpJson(ToJson(m)); }

// ---- decoding ----

Result<Message> DecodeJson(const Json& j) {
  if (!j.is_object()) return InvalidArgument("message must be a JSON object");
  auto it = j.find("type");
  if (it == j.end() || it->is_null()) return InvalidArgument("message.type is missing");
  if (!it->is_string()) return InvalidArgument("message.type must be a string");
  const std::string& type = it->get_ref<const std::string&>();

  Status err;
  Reader r(j, type, &err);
  Message m;
  if (type == kTypeHello) {
    m = DecodeHello(r, &err);
  } else if (type == kTypeHeartbeat) {
    m = DecodeHeartbeat(r, &err);
  } else if (type == kTypeEvent) {
    m = DecodeEvent(r);
  } else if (type == kTypeGoodbye) {
    m = DecodeGoodbye(r, &err);
  } else if (type == kTypeWelcome) {
    m = DecodeWelcome(r, &err);
  } else if (type == kTypeAssign) {
    m = Assign{ReadAssignments(r, &err)};
  } else if (type == kTypeGallery) {
    m = DecodeGallery(r, &err);
  } else if (type == kTypeCommand) {
    m = DecodeCommand(r, &err);
  } else if (type == kTypeAck) {
    m = DecodeAck(r);
  } else if (type == kTypeError) {
    m = DecodeError(r);
  } else {
    std::string shown = type.size() > 64 ? type.substr(0, 64) + "..." : type;
    return Status(StatusCode::kUnimplemented, "unknown message type '" + shown + "'");
  }
  if (!err.ok()) return err;
  return m;
}

Result<Message> DecodeText(std::string_view text) {
  if (text.size() > kMaxGalleryFrameBytes) {
    return InvalidArgument("text frame of " + std::to_string(text.size()) + " bytes exceeds the limit");
  }
  VIGIL_ASSIGN_OR_RETURN(Json j, ParseObjectBounded(text, "text frame"));
  VIGIL_ASSIGN_OR_RETURN(Message m, DecodeJson(j));
  if (text.size() > kMaxTextFrameBytes && !std::holds_alternative<Gallery>(m)) {
    return InvalidArgument(std::string(TypeName(m)) + " frame of " + std::to_string(text.size()) +
                           " bytes exceeds the 1 MiB text frame limit");
  }
  return m;
}

Status Validate(const Message& m) {
  // Through text, as the receiver sees it: dumping turns NaN into null, which
  // the decoder then reports by field name.
  auto j = ParseJson(Encode(m));
  if (!j.ok()) return j.status();
  auto back = DecodeJson(*j);
  return back.ok() ? Status::Ok() : back.status();
}

std::string_view ErrorCodeFor(const Status& decode_status) {
  return IsUnknownType(decode_status) ? kErrorUnknownType : kErrorBadMessage;
}

bool IsUnknownType(const Status& s) { return s.code() == StatusCode::kUnimplemented; }

// ---- binary frames ----

std::string EncodeBinary(const Json& header, std::string_view payload) {
  std::string h = DumpJson(header);
  const auto n = static_cast<uint32_t>(h.size());
  std::string out;
  out.reserve(4 + h.size() + payload.size());
  out.push_back(static_cast<char>((n >> 24) & 0xff));
  out.push_back(static_cast<char>((n >> 16) & 0xff));
  out.push_back(static_cast<char>((n >> 8) & 0xff));
  out.push_back(static_cast<char>(n & 0xff));
  out += h;
  out.append(payload.data(), payload.size());
  return out;
}

Result<BinaryFrame> DecodeBinary(std::string_view frame) {
  if (frame.size() > kMaxBinaryFrameBytes) {
    return InvalidArgument("binary frame of " + std::to_string(frame.size()) + " bytes exceeds the 8 MiB limit");
  }
  if (frame.size() < 4) return InvalidArgument("binary frame is truncated: no header length");
  const auto* p = reinterpret_cast<const unsigned char*>(frame.data());
  const uint32_t n = (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
  if (n > kMaxBinaryHeaderBytes) {
    return InvalidArgument("binary frame header length " + std::to_string(n) + " exceeds the 64 KiB limit");
  }
  if (n > frame.size() - 4) return InvalidArgument("binary frame is truncated: header runs past the end");
  VIGIL_ASSIGN_OR_RETURN(Json header, ParseObjectBounded(frame.substr(4, n), "binary frame header"));
  auto it = header.find("type");
  if (it == header.end() || !it->is_string()) return InvalidArgument("binary frame header.type must be a string");
  BinaryFrame out;
  out.type = it->get<std::string>();
  out.header = std::move(header);
  out.payload.assign(frame.substr(4 + n));
  return out;
}

Json ToJson(const SnapshotHeader& h) {
  return {{"type", kBinaryTypeSnapshot}, {"event_id", h.event_id}, {"content_type", h.content_type}};
}

Result<SnapshotHeader> ParseSnapshotHeader(const Json& header) {
  Status err;
  Reader r(header, "snapshot", &err);
  if (r.Str("type", kMaxIdLength) != kBinaryTypeSnapshot && r.ok()) r.Fail("type", "must be \"snapshot\"");
  SnapshotHeader h;
  h.event_id = r.Uuid("event_id");
  h.content_type = r.Str("content_type", kMaxIdLength, true);
  if (!err.ok()) return err;
  return h;
}

std::string EncodeSnapshot(const SnapshotHeader& h, std::string_view jpeg) { return EncodeBinary(ToJson(h), jpeg); }

Json ToJson(const StreamFrameHeader& h) {
  return {{"type", kBinaryTypeFrame},
          {"camera_id", h.camera_id},
          {"seq", h.seq},
          {"captured_at", FormatIso8601Ms(h.captured_at_ms)},
          {"width", h.width},
          {"height", h.height},
          {"tracks", ListJson(h.tracks)}};
}

Result<StreamFrameHeader> ParseStreamFrameHeader(const Json& header) {
  Status err;
  Reader r(header, "frame", &err);
  if (r.Str("type", kMaxIdLength) != kBinaryTypeFrame && r.ok()) r.Fail("type", "must be \"frame\"");
  StreamFrameHeader h;
  h.camera_id = r.Id("camera_id");
  h.seq = r.Int("seq", 0);
  h.captured_at_ms = r.Time("captured_at");
  h.width = r.Int("width", 1, 1 << 16);
  h.height = r.Int("height", 1, 1 << 16);
  h.tracks = ReadList<StreamTrack>(r, "tracks", false, [&err](const Json& j, std::string path) {
    Reader t(j, std::move(path), &err);
    StreamTrack s;
    s.track_id = t.Int("track_id", 0);
    s.bbox = t.Box("bbox");
    s.name = t.OptStr("name");
    s.staff_id = t.OptId("staff_id");
    return s;
  });
  if (!err.ok()) return err;
  return h;
}

std::string EncodeStreamFrame(const StreamFrameHeader& h, std::string_view jpeg) {
  return EncodeBinary(ToJson(h), jpeg);
}

// ---- fuzzing ----

int FuzzDecode(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  auto text = DecodeText(in);
  if (text.ok()) {
    // Decode(Encode(m)) == m for every message that decodes. Limits are
    // skipped on the way back: re-encoding may change the size a little.
    auto again = ParseJson(Encode(*text));
    if (!again.ok()) std::abort();
    auto m2 = DecodeJson(*again);
    if (!m2.ok() || !(*m2 == *text)) std::abort();
  }
  auto bin = DecodeBinary(in);
  if (bin.ok()) {
    if (EncodeBinary(bin->header, bin->payload).size() < 4 + bin->payload.size()) std::abort();
    // Header round trips go through JSON directly: re-encoding may add null
    // fields and so grow past the header limit of the input.
    if (bin->type == kBinaryTypeSnapshot) {
      auto h = ParseSnapshotHeader(bin->header);
      if (h.ok()) {
        auto h2 = ParseSnapshotHeader(ToJson(*h));
        if (!h2.ok() || !(*h2 == *h)) std::abort();
      }
    } else if (bin->type == kBinaryTypeFrame) {
      auto h = ParseStreamFrameHeader(bin->header);
      if (h.ok()) {
        auto h2 = ParseStreamFrameHeader(ToJson(*h));
        if (!h2.ok() || !(*h2 == *h)) std::abort();
      }
    }
  }
  return 0;
}

}  // namespace vigil::protocol
