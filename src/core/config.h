// Configuration: environment variables, an optional `.env` file and command
// line flags, validated once into typed structs (flags win over the
// environment, which wins over `.env`, which wins over the defaults).
//
// A bad value gives one clear error naming the variable and the expected form:
//   "WORKER_FPS: expected a number between 0.1 and 120, got 'abc'".
//
// Thread-safety: load once in main(), then pass the structs by const reference.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/status.h"

namespace vigil {

// One documented variable. Every variable of every executable is listed in
// AllConfigVars(); .env.example is checked against it by a test.
struct ConfigVar {
  std::string name;           // "WORKER_FPS"
  std::string default_value;  // "" means unset
  std::string help;           // one line
  std::string scope;          // "worker", "api" or "common"
};
const std::vector<ConfigVar>& AllConfigVars();
// Variables of one scope plus the common ones.
std::vector<ConfigVar> ConfigVarsFor(const std::string& scope);

// "WORKER_FPS" -> "worker-fps", the flag that overrides it.
std::string FlagNameFor(const std::string& var);

// Reads KEY=VALUE lines; '#' comments, blank lines, optional `export `,
// single or double quotes around the value. A malformed line is an error
// naming the file and line.
Result<std::map<std::string, std::string>> ParseDotEnv(const std::string& text, const std::string& origin);

using EnvLookup = std::function<std::optional<std::string>(const std::string&)>;
EnvLookup ProcessEnv();

// The layered raw values of one executable's variables.
class ConfigSource {
 public:
  // `env_file`: path of a .env file; when empty, "./.env" is used if present.
  // A missing explicitly named file is an error. `flags`: values from the
  // command line, keyed by variable name.
  static Result<ConfigSource> Load(const std::vector<ConfigVar>& vars, const std::map<std::string, std::string>& flags,
                                   const std::string& env_file, const EnvLookup& env);

  // The winning value, or the default; "" when unset.
  std::string Get(const std::string& name) const;
  bool IsSet(const std::string& name) const;
  // Which layer a value came from: "flag", "env", ".env" or "default".
  std::string Origin(const std::string& name) const;

 private:
  std::map<std::string, std::pair<std::string, std::string>> values_;  // name -> (value, origin)
};

// Typed parsers; each error names `name` and the expected form.
Result<int64_t> ParseIntVar(const std::string& name, const std::string& value, int64_t min, int64_t max);
Result<double> ParseDoubleVar(const std::string& name, const std::string& value, double min, double max);
Result<bool> ParseBoolVar(const std::string& name, const std::string& value);
// "500ms", "30s", "5m", "2h", "1d" or a plain number of seconds.
Result<std::chrono::milliseconds> ParseDurationVar(const std::string& name, const std::string& value);
// "1024", "64KB", "256MB", "1GB" (powers of 1024).
Result<int64_t> ParseBytesVar(const std::string& name, const std::string& value);

// A per-client rate limit: bursts of up to `burst` calls, refilled at
// `per_second`. Disabled when either is 0.
struct RateSpec {
  double burst = 0;
  double per_second = 0;
  bool enabled() const { return burst > 0 && per_second > 0; }
};
// "N/s", "N/min" or "N/h" (N calls at once, N more per unit); "0" or "off": no limit.
Result<RateSpec> ParseRateVar(const std::string& name, const std::string& value);

struct WorkerConfig {
  std::string api_url;             // http(s)://host:port
  std::string worker_api_key;
  std::string worker_id;           // empty: generated and persisted in state_dir
  std::string detector_type;       // yunet|ssd|mock|auto
  std::string embedder_type;       // insightface|sface|faceapi|mock|auto
  double fps = 5;
  double confidence_threshold = 0.7;
  // False when CONFIDENCE_THRESHOLD was not set (flag, env or .env): then
  // confidence_threshold is the chosen detector's calibrated default (0.5 for
  // ssd, else 0.7) and, for `auto`, vision::CreateFaceDetector with
  // std::nullopt picks the default of whichever detector `auto` resolves to.
  bool confidence_threshold_set = false;
  // DETECT_INPUT_SIZE: long side of the frame copy YuNet runs on (64..4096).
  int detect_input_size = 640;
  std::optional<double> staff_match_threshold;  // unset: the model's default
  bool mock_mode = false;
  std::string models_dir;
  std::string state_dir;
  std::string camera_url;          // empty: none (mock mode: mock://<worker_id>)
  int max_cameras = 4;
  std::chrono::milliseconds shutdown_deadline{10000};
  int64_t spool_max_bytes = 256LL << 20;
  std::chrono::milliseconds track_max_age{10000};
  std::chrono::milliseconds event_cooldown{30000};
  std::string ca_cert;             // private CA for wss://
};

struct ApiConfig {
  int port = 8080;
  std::string bind_address;
  std::string admin_token;         // empty: generated at first start, kept in data_dir
  std::string worker_api_key;
  std::string database_url;        // sqlite:///path or postgresql://...
  std::string data_dir;
  double customer_match_threshold_override = -1;  // < 0: the model's default
  std::chrono::milliseconds visit_merge_window{30 * 60 * 1000};
  int snapshot_retention_days = 30;
  std::chrono::milliseconds heartbeat_interval{5000};
  int64_t max_body_bytes = 32LL << 20;
  int threads = 2;
  size_t ingest_pause_queue = 2000;  // INGEST_PAUSE_QUEUE: stop reading worker sockets
  size_t ingest_resume_queue = 500;  // INGEST_RESUME_QUEUE: read them again
  std::string tls_cert;
  std::string tls_key;
  RateSpec signin_rate{10, 10.0 / 60};     // POST /api/v1/session per client IP
  RateSpec recognize_rate{60, 60.0 / 60};  // POST /api/v1/recognize per client IP
  std::string models_dir;
  std::string detector_type;
  std::string embedder_type;
  int detect_input_size = 640;  // DETECT_INPUT_SIZE, for enrolment and /recognize
  bool mock_mode = false;
};

Result<WorkerConfig> BuildWorkerConfig(const ConfigSource& src);
Result<ApiConfig> BuildApiConfig(const ConfigSource& src);

}  // namespace vigil
