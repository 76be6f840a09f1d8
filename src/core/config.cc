#include "core/config.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace vigil {
namespace {

std::string Trim(const std::string& s) {
  size_t b = 0, e = s.size();
  while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
  return s.substr(b, e - b);
}

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

Status Bad(const std::string& name, const std::string& expected, const std::string& value) {
  return InvalidArgument(name + ": expected " + expected + ", got '" + value + "'");
}

Result<std::string> OneOf(const ConfigSource& src, const std::string& name, const std::vector<std::string>& allowed) {
  std::string v = Lower(src.Get(name));
  if (std::find(allowed.begin(), allowed.end(), v) != allowed.end()) return v;
  std::string list;
  for (const auto& a : allowed) list += (list.empty() ? "" : "|") + a;
  return Bad(name, "one of " + list, src.Get(name));
}

}  // namespace

const std::vector<ConfigVar>& AllConfigVars() {
  static const std::vector<ConfigVar> vars = {
      // common
      {"LOG_FORMAT", "text", "log output: text or json (one JSON object per line)", "common"},
      {"LOG_LEVEL", "info", "trace, debug, info, warn, error or off", "common"},
      {"VIGIL_MODELS_DIR", "./data/models", "where `vigil models install` puts models and their manifest", "common"},
      {"DETECTOR_TYPE", "auto", "face detector: yunet, ssd, mock or auto (yunet when installed, else ssd)", "common"},
      {"EMBEDDER_TYPE", "auto", "face embedder: insightface, sface, faceapi, mock or auto (the best one installed)",
       "common"},
      {"DETECT_INPUT_SIZE", "640",
       "long side (px) of the frame copy YuNet runs on: smaller is faster but misses small faces (64..4096)", "common"},
      {"MOCK_MODE", "false", "true: synthetic cameras, mock detector and embedder (development and tests)", "common"},
      {"WORKER_API_KEY", "", "shared key workers present on /ws/worker (API and worker must agree)", "common"},
      // worker
      {"API_URL", "http://localhost:8080", "where the worker finds the API (http or https; ws/wss is derived)",
       "worker"},
      {"WORKER_ID", "", "this worker's id; empty: generated once and kept in VIGIL_STATE_DIR", "worker"},
      {"WORKER_FPS", "5", "frames per second processed per camera", "worker"},
      {"CONFIDENCE_THRESHOLD", "0.7",
       "minimum detection score (0..1); not set: each detector's calibrated default (yunet 0.7, ssd 0.5)", "worker"},
      {"STAFF_MATCH_THRESHOLD", "", "cosine similarity for a staff match; empty: the embedding model's default",
       "worker"},
      {"VIGIL_STATE_DIR", "./data/worker", "worker state: generated id and per-worker event spool", "worker"},
      {"CAMERA_URL", "",
       "a camera this worker brings itself (RTSP/HTTP URL, device index, file or folder; "
       "append ?loop=1 to a file or folder to replay it)",
       "worker"},
      {"WORKER_MAX_CAMERAS", "4", "most cameras the API may assign to this worker", "worker"},
      {"WORKER_SHUTDOWN_DEADLINE", "10s", "on SIGTERM, how long to keep flushing the spool before exiting", "worker"},
      {"SPOOL_MAX_BYTES", "256MB", "on-disk event spool bound; when full the oldest events are dropped", "worker"},
      {"TRACK_MAX_AGE", "10s", "a track older than this emits its event even if the person is still there", "worker"},
      {"EVENT_COOLDOWN", "30s", "per camera and person, the quiet time before another event", "worker"},
      {"API_CA_CERT", "", "PEM file of a private CA that signed the API's certificate (wss://)", "worker"},
      // api
      {"API_PORT", "8080", "HTTP and WebSocket port of the API server (0: any free port)", "api"},
      {"API_BIND", "0.0.0.0", "address the API server listens on", "api"},
      {"API_ADMIN_TOKEN", "", "bearer token for /api/v1 and the dashboard; empty: generated at first start", "api"},
      {"DATABASE_URL", "", "sqlite:///path/to/vigil.db (default: VIGIL_DATA_DIR/vigil.db) or postgresql://...", "api"},
      {"VIGIL_DATA_DIR", "./data", "database, snapshots and the generated admin token", "api"},
      {"CUSTOMER_MATCH_THRESHOLD", "", "cosine similarity to recognise a returning customer; empty: model default",
       "api"},
      {"VISIT_MERGE_WINDOW", "30m", "events of one person at one site closer than this extend one visit", "api"},
      {"SNAPSHOT_RETENTION_DAYS", "30", "face crops older than this are deleted (embeddings and visits stay)", "api"},
      {"HEARTBEAT_INTERVAL", "5s", "how often workers heartbeat; offline after 3 missed", "api"},
      {"API_MAX_BODY_BYTES", "32MB", "largest accepted request body (413 beyond; a 50 MP phone JPEG is 10-25 MB)",
       "api"},
      {"API_THREADS", "2", "I/O threads of the API server", "api"},
      {"INGEST_PAUSE_QUEUE", "2000",
       "events waiting for the database at which the API stops reading worker sockets (back-pressure)", "api"},
      {"INGEST_RESUME_QUEUE", "500", "events waiting at which the API reads worker sockets again (< the pause mark)",
       "api"},
      {"API_TLS_CERT", "", "PEM certificate chain; with API_TLS_KEY the server speaks HTTPS/WSS", "api"},
      {"API_TLS_KEY", "", "PEM private key for API_TLS_CERT", "api"},
      {"SIGNIN_RATE_LIMIT", "10/min", "sign-in attempts per client IP (N/s, N/min or N/h; 0: off); 429 beyond", "api"},
      {"RECOGNIZE_RATE_LIMIT", "60/min", "POST /api/v1/recognize calls per client IP (N/s, N/min, N/h; 0: off)", "api"},
  };
  return vars;
}

std::vector<ConfigVar> ConfigVarsFor(const std::string& scope) {
  std::vector<ConfigVar> out;
  for (const auto& v : AllConfigVars()) {
    if (v.scope == scope || v.scope == "common") out.push_back(v);
  }
  return out;
}

std::string FlagNameFor(const std::string& var) {
  std::string out = Lower(var);
  std::replace(out.begin(), out.end(), '_', '-');
  return out;
}

Result<std::map<std::string, std::string>> ParseDotEnv(const std::string& text, const std::string& origin) {
  std::map<std::string, std::string> out;
  std::istringstream in(text);
  std::string line;
  int lineno = 0;
  while (std::getline(in, line)) {
    ++lineno;
    std::string t = Trim(line);
    if (t.empty() || t[0] == '#') continue;
    if (t.rfind("export ", 0) == 0) t = Trim(t.substr(7));
    size_t eq = t.find('=');
    std::string where = origin + ":" + std::to_string(lineno);
    if (eq == std::string::npos) return InvalidArgument(where + ": expected KEY=VALUE, got '" + t + "'");
    std::string key = Trim(t.substr(0, eq));
    std::string value = Trim(t.substr(eq + 1));
    if (key.empty() ||
        !std::all_of(key.begin(), key.end(), [](unsigned char c) { return std::isalnum(c) || c == '_'; })) {
      return InvalidArgument(where + ": invalid variable name '" + key + "'");
    }
    if (!value.empty() && (value[0] == '"' || value[0] == '\'')) {
      char q = value[0];
      size_t close = value.find(q, 1);
      if (close == std::string::npos) return InvalidArgument(where + ": unterminated quote in " + key);
      value = value.substr(1, close - 1);
    } else {
      size_t hash = value.find(" #");
      if (hash != std::string::npos) value = Trim(value.substr(0, hash));
    }
    out[key] = value;
  }
  return out;
}

EnvLookup ProcessEnv() {
  return [](const std::string& name) -> std::optional<std::string> {
    const char* v = std::getenv(name.c_str());
    if (v == nullptr) return std::nullopt;
    return std::string(v);
  };
}

Result<ConfigSource> ConfigSource::Load(const std::vector<ConfigVar>& vars,
                                        const std::map<std::string, std::string>& flags, const std::string& env_file,
                                        const EnvLookup& env) {
  std::map<std::string, std::string> dotenv;
  std::string path = env_file.empty() ? ".env" : env_file;
  std::error_code ec;
  if (std::filesystem::exists(path, ec)) {
    std::ifstream f(path);
    if (!f) return InvalidArgument("cannot read " + path);
    std::stringstream ss;
    ss << f.rdbuf();
    VIGIL_ASSIGN_OR_RETURN(dotenv, ParseDotEnv(ss.str(), path));
  } else if (!env_file.empty()) {
    return InvalidArgument("env file " + env_file + " does not exist");
  }
  ConfigSource src;
  for (const auto& v : vars) {
    std::pair<std::string, std::string> chosen{v.default_value, "default"};
    if (auto it = dotenv.find(v.name); it != dotenv.end()) chosen = {it->second, ".env"};
    if (auto e = env(v.name)) chosen = {*e, "env"};
    if (auto it = flags.find(v.name); it != flags.end()) chosen = {it->second, "flag"};
    src.values_[v.name] = chosen;
  }
  return src;
}

std::string ConfigSource::Get(const std::string& name) const {
  auto it = values_.find(name);
  return it == values_.end() ? std::string() : it->second.first;
}

bool ConfigSource::IsSet(const std::string& name) const { return !Get(name).empty(); }

std::string ConfigSource::Origin(const std::string& name) const {
  auto it = values_.find(name);
  return it == values_.end() ? std::string("default") : it->second.second;
}

Result<int64_t> ParseIntVar(const std::string& name, const std::string& value, int64_t min, int64_t max) {
  std::string expected = "an integer between " + std::to_string(min) + " and " + std::to_string(max);
  std::string t = Trim(value);
  if (t.empty()) return Bad(name, expected, value);
  char* end = nullptr;
  errno = 0;
  long long v = std::strtoll(t.c_str(), &end, 10);
  if (errno != 0 || end != t.c_str() + t.size() || v < min || v > max) return Bad(name, expected, value);
  return static_cast<int64_t>(v);
}

Result<double> ParseDoubleVar(const std::string& name, const std::string& value, double min, double max) {
  std::ostringstream exp;
  exp << "a number between " << min << " and " << max;
  std::string t = Trim(value);
  if (t.empty()) return Bad(name, exp.str(), value);
  char* end = nullptr;
  errno = 0;
  double v = std::strtod(t.c_str(), &end);
  if (errno != 0 || end != t.c_str() + t.size() || !std::isfinite(v) || v < min || v > max) {
    return Bad(name, exp.str(), value);
  }
  return v;
}

Result<bool> ParseBoolVar(const std::string& name, const std::string& value) {
  std::string v = Lower(Trim(value));
  if (v == "1" || v == "true" || v == "yes" || v == "on") return true;
  if (v == "0" || v == "false" || v == "no" || v == "off" || v.empty()) return false;
  return Bad(name, "true or false", value);
}

Result<std::chrono::milliseconds> ParseDurationVar(const std::string& name, const std::string& value) {
  const std::string expected = "a duration such as 500ms, 30s, 5m, 2h, 1d or a number of seconds";
  std::string t = Lower(Trim(value));
  if (t.empty()) return Bad(name, expected, value);
  char* end = nullptr;
  errno = 0;
  double n = std::strtod(t.c_str(), &end);
  if (errno != 0 || end == t.c_str() || !std::isfinite(n) || n < 0) return Bad(name, expected, value);
  std::string unit(end);
  double ms = 0;
  if (unit.empty() || unit == "s")
    ms = n * 1000;
  else if (unit == "ms")
    ms = n;
  else if (unit == "m")
    ms = n * 60'000;
  else if (unit == "h")
    ms = n * 3'600'000;
  else if (unit == "d")
    ms = n * 86'400'000;
  else
    return Bad(name, expected, value);
  if (ms > 1e13) return Bad(name, expected, value);
  return std::chrono::milliseconds(static_cast<int64_t>(ms));
}

Result<RateSpec> ParseRateVar(const std::string& name, const std::string& value) {
  const std::string expected = "a rate such as 10/min, 5/s or 100/h, or 0 for no limit";
  std::string t = Lower(Trim(value));
  if (t == "0" || t == "off") return RateSpec{};
  size_t slash = t.find('/');
  if (slash == std::string::npos) return Bad(name, expected, value);
  auto n = ParseIntVar(name, t.substr(0, slash), 0, 1'000'000);
  if (!n.ok()) return Bad(name, expected, value);
  std::string unit = Trim(t.substr(slash + 1));
  double seconds = 0;
  if (unit == "s" || unit == "sec")
    seconds = 1;
  else if (unit == "m" || unit == "min")
    seconds = 60;
  else if (unit == "h" || unit == "hour")
    seconds = 3600;
  else
    return Bad(name, expected, value);
  if (*n == 0) return RateSpec{};
  return RateSpec{static_cast<double>(*n), static_cast<double>(*n) / seconds};
}

Result<int64_t> ParseBytesVar(const std::string& name, const std::string& value) {
  const std::string expected = "a size such as 1048576, 64KB, 256MB or 1GB";
  std::string t = Lower(Trim(value));
  if (t.empty()) return Bad(name, expected, value);
  char* end = nullptr;
  errno = 0;
  double n = std::strtod(t.c_str(), &end);
  if (errno != 0 || end == t.c_str() || !std::isfinite(n) || n < 0) return Bad(name, expected, value);
  std::string unit = Trim(end);
  double mult = 1;
  if (unit.empty() || unit == "b")
    mult = 1;
  else if (unit == "kb" || unit == "k")
    mult = 1024.0;
  else if (unit == "mb" || unit == "m")
    mult = 1024.0 * 1024;
  else if (unit == "gb" || unit == "g")
    mult = 1024.0 * 1024 * 1024;
  else
    return Bad(name, expected, value);
  double bytes = n * mult;
  if (bytes > 1e15) return Bad(name, expected, value);
  return static_cast<int64_t>(bytes);
}

Result<WorkerConfig> BuildWorkerConfig(const ConfigSource& src) {
  WorkerConfig c;
  c.api_url = src.Get("API_URL");
  if (c.api_url.rfind("http://", 0) != 0 && c.api_url.rfind("https://", 0) != 0) {
    return Bad("API_URL", "an http:// or https:// URL", c.api_url);
  }
  c.worker_api_key = src.Get("WORKER_API_KEY");
  c.worker_id = src.Get("WORKER_ID");
  if (!c.worker_id.empty() &&
      (c.worker_id.size() > 64 || !std::all_of(c.worker_id.begin(), c.worker_id.end(), [](unsigned char ch) {
         return std::isalnum(ch) || ch == '-' || ch == '_' || ch == '.';
       }))) {
    return Bad("WORKER_ID", "1-64 characters of letters, digits, '-', '_' or '.'", c.worker_id);
  }
  VIGIL_ASSIGN_OR_RETURN(c.detector_type, OneOf(src, "DETECTOR_TYPE", {"yunet", "ssd", "mock", "auto"}));
  VIGIL_ASSIGN_OR_RETURN(c.embedder_type,
                         OneOf(src, "EMBEDDER_TYPE", {"insightface", "sface", "faceapi", "mock", "auto"}));
  VIGIL_ASSIGN_OR_RETURN(int64_t input_size, ParseIntVar("DETECT_INPUT_SIZE", src.Get("DETECT_INPUT_SIZE"), 64, 4096));
  c.detect_input_size = static_cast<int>(input_size);
  VIGIL_ASSIGN_OR_RETURN(c.fps, ParseDoubleVar("WORKER_FPS", src.Get("WORKER_FPS"), 0.1, 120));
  VIGIL_ASSIGN_OR_RETURN(c.confidence_threshold,
                         ParseDoubleVar("CONFIDENCE_THRESHOLD", src.Get("CONFIDENCE_THRESHOLD"), 0, 1));
  // Not set anywhere: the detector's own calibrated cut (docs/thresholds.md).
  // SSD's scores run lower than YuNet's; at YuNet's 0.7 it misses faces.
  c.confidence_threshold_set = src.Origin("CONFIDENCE_THRESHOLD") != "default";
  if (!c.confidence_threshold_set && c.detector_type == "ssd") c.confidence_threshold = 0.5;
  if (src.IsSet("STAFF_MATCH_THRESHOLD")) {
    VIGIL_ASSIGN_OR_RETURN(double t, ParseDoubleVar("STAFF_MATCH_THRESHOLD", src.Get("STAFF_MATCH_THRESHOLD"), -1, 1));
    c.staff_match_threshold = t;
  }
  VIGIL_ASSIGN_OR_RETURN(c.mock_mode, ParseBoolVar("MOCK_MODE", src.Get("MOCK_MODE")));
  c.models_dir = src.Get("VIGIL_MODELS_DIR");
  c.state_dir = src.Get("VIGIL_STATE_DIR");
  if (c.state_dir.empty()) return Bad("VIGIL_STATE_DIR", "a directory path", "");
  c.camera_url = src.Get("CAMERA_URL");
  VIGIL_ASSIGN_OR_RETURN(int64_t maxcam, ParseIntVar("WORKER_MAX_CAMERAS", src.Get("WORKER_MAX_CAMERAS"), 1, 256));
  c.max_cameras = static_cast<int>(maxcam);
  VIGIL_ASSIGN_OR_RETURN(c.shutdown_deadline,
                         ParseDurationVar("WORKER_SHUTDOWN_DEADLINE", src.Get("WORKER_SHUTDOWN_DEADLINE")));
  VIGIL_ASSIGN_OR_RETURN(c.spool_max_bytes, ParseBytesVar("SPOOL_MAX_BYTES", src.Get("SPOOL_MAX_BYTES")));
  if (c.spool_max_bytes < 64 * 1024) return Bad("SPOOL_MAX_BYTES", "at least 64KB", src.Get("SPOOL_MAX_BYTES"));
  VIGIL_ASSIGN_OR_RETURN(c.track_max_age, ParseDurationVar("TRACK_MAX_AGE", src.Get("TRACK_MAX_AGE")));
  VIGIL_ASSIGN_OR_RETURN(c.event_cooldown, ParseDurationVar("EVENT_COOLDOWN", src.Get("EVENT_COOLDOWN")));
  c.ca_cert = src.Get("API_CA_CERT");
  return c;
}

Result<ApiConfig> BuildApiConfig(const ConfigSource& src) {
  ApiConfig c;
  VIGIL_ASSIGN_OR_RETURN(int64_t port, ParseIntVar("API_PORT", src.Get("API_PORT"), 0, 65535));
  c.port = static_cast<int>(port);
  c.bind_address = src.Get("API_BIND");
  c.admin_token = src.Get("API_ADMIN_TOKEN");
  if (!c.admin_token.empty() && c.admin_token.size() < 8) {
    return InvalidArgument("API_ADMIN_TOKEN: expected at least 8 characters (the value is not shown)");
  }
  c.worker_api_key = src.Get("WORKER_API_KEY");
  c.data_dir = src.Get("VIGIL_DATA_DIR");
  if (c.data_dir.empty()) return Bad("VIGIL_DATA_DIR", "a directory path", "");
  c.database_url = src.Get("DATABASE_URL");
  if (c.database_url.empty()) c.database_url = "sqlite:///" + c.data_dir + "/vigil.db";
  if (c.database_url.rfind("sqlite://", 0) != 0 && c.database_url.rfind("postgresql://", 0) != 0 &&
      c.database_url.rfind("postgres://", 0) != 0) {
    return InvalidArgument("DATABASE_URL: expected sqlite:///path or postgresql://..., got a value of another scheme");
  }
  if (src.IsSet("CUSTOMER_MATCH_THRESHOLD")) {
    VIGIL_ASSIGN_OR_RETURN(c.customer_match_threshold_override,
                           ParseDoubleVar("CUSTOMER_MATCH_THRESHOLD", src.Get("CUSTOMER_MATCH_THRESHOLD"), 0, 1));
  }
  VIGIL_ASSIGN_OR_RETURN(c.visit_merge_window, ParseDurationVar("VISIT_MERGE_WINDOW", src.Get("VISIT_MERGE_WINDOW")));
  VIGIL_ASSIGN_OR_RETURN(int64_t days,
                         ParseIntVar("SNAPSHOT_RETENTION_DAYS", src.Get("SNAPSHOT_RETENTION_DAYS"), 0, 36500));
  c.snapshot_retention_days = static_cast<int>(days);
  VIGIL_ASSIGN_OR_RETURN(c.heartbeat_interval, ParseDurationVar("HEARTBEAT_INTERVAL", src.Get("HEARTBEAT_INTERVAL")));
  if (c.heartbeat_interval.count() < 50) {
    return Bad("HEARTBEAT_INTERVAL", "a duration of at least 50ms", src.Get("HEARTBEAT_INTERVAL"));
  }
  VIGIL_ASSIGN_OR_RETURN(c.max_body_bytes, ParseBytesVar("API_MAX_BODY_BYTES", src.Get("API_MAX_BODY_BYTES")));
  VIGIL_ASSIGN_OR_RETURN(int64_t threads, ParseIntVar("API_THREADS", src.Get("API_THREADS"), 1, 64));
  c.threads = static_cast<int>(threads);
  VIGIL_ASSIGN_OR_RETURN(int64_t pause_at,
                         ParseIntVar("INGEST_PAUSE_QUEUE", src.Get("INGEST_PAUSE_QUEUE"), 1, 10'000'000));
  VIGIL_ASSIGN_OR_RETURN(int64_t resume_at,
                         ParseIntVar("INGEST_RESUME_QUEUE", src.Get("INGEST_RESUME_QUEUE"), 0, 10'000'000));
  if (resume_at >= pause_at) {
    return Bad("INGEST_RESUME_QUEUE", "a number below INGEST_PAUSE_QUEUE (" + std::to_string(pause_at) + ")",
               src.Get("INGEST_RESUME_QUEUE"));
  }
  c.ingest_pause_queue = static_cast<size_t>(pause_at);
  c.ingest_resume_queue = static_cast<size_t>(resume_at);
  c.tls_cert = src.Get("API_TLS_CERT");
  c.tls_key = src.Get("API_TLS_KEY");
  if (c.tls_cert.empty() != c.tls_key.empty()) {
    return InvalidArgument("API_TLS_CERT and API_TLS_KEY: expected both or neither to be set");
  }
  // Empty keeps the built-in default (the struct's), like an unset variable.
  if (!src.Get("SIGNIN_RATE_LIMIT").empty()) {
    VIGIL_ASSIGN_OR_RETURN(c.signin_rate, ParseRateVar("SIGNIN_RATE_LIMIT", src.Get("SIGNIN_RATE_LIMIT")));
  }
  if (!src.Get("RECOGNIZE_RATE_LIMIT").empty()) {
    VIGIL_ASSIGN_OR_RETURN(c.recognize_rate, ParseRateVar("RECOGNIZE_RATE_LIMIT", src.Get("RECOGNIZE_RATE_LIMIT")));
  }
  c.models_dir = src.Get("VIGIL_MODELS_DIR");
  VIGIL_ASSIGN_OR_RETURN(c.detector_type, OneOf(src, "DETECTOR_TYPE", {"yunet", "ssd", "mock", "auto"}));
  VIGIL_ASSIGN_OR_RETURN(c.embedder_type,
                         OneOf(src, "EMBEDDER_TYPE", {"insightface", "sface", "faceapi", "mock", "auto"}));
  VIGIL_ASSIGN_OR_RETURN(int64_t input_size, ParseIntVar("DETECT_INPUT_SIZE", src.Get("DETECT_INPUT_SIZE"), 64, 4096));
  c.detect_input_size = static_cast<int>(input_size);
  VIGIL_ASSIGN_OR_RETURN(c.mock_mode, ParseBoolVar("MOCK_MODE", src.Get("MOCK_MODE")));
  return c;
}

}  // namespace vigil
