// Helpers for the worker integration tests: child processes (real `vigil api`
// and `vigil worker`), a minimal HTTP client for the REST API, and waiting on
// conditions with a deadline (never sleeping for a fixed time).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/json_util.h"
#include "time_scale.h"

namespace vigil::worker_it {

// A child process whose stdout and stderr go to a log file.
class Process {
 public:
  Process() = default;
  Process(Process&& o) noexcept;
  Process& operator=(Process&& o) noexcept;
  ~Process();  // SIGKILLs a child that is still running

  static Process Start(const std::vector<std::string>& argv, const std::map<std::string, std::string>& env,
                       const std::string& log_path);
  pid_t pid() const { return pid_; }
  bool running();
  void Signal(int sig);
  // The exit status (128+signal when killed), or nullopt on timeout.
  std::optional<int> Wait(std::chrono::milliseconds timeout);
  std::string Log() const;

 private:
  pid_t pid_ = -1;
  std::optional<int> status_;
  std::string log_path_;
};

struct HttpResponse {
  int status = 0;
  std::string body;
  Result<Json> json() const { return ParseJson(body); }
};
HttpResponse Http(int port, const std::string& method, const std::string& path, const std::string& token,
                  const std::string& body = "", const std::string& content_type = "application/json");

// Polls `pred` every 50 ms until it holds or `timeout` passes.
bool WaitUntil(const std::function<bool()>& pred, std::chrono::milliseconds timeout);

// Waits for things the sanitized processes do are stretched by the time
// scale; requirements the product states (a worker is offline within N
// heartbeats) keep their own bound plus a scaled allowance for the polling.
using test::Scaled;
using test::TimeScale;

// Socket inodes of `pid` that are listening (TCP LISTEN, bound unconnected
// UDP, accepting Unix sockets), read from /proc. Empty for a pure worker.
std::vector<std::string> ListeningSockets(pid_t pid);

// A fresh directory, removed on destruction.
class ScratchDir {
 public:
  ScratchDir();
  ~ScratchDir();
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// How a `vigil api` child came up (see StartApi).
struct ApiStartup {
  bool up = false;         // it logged its port and `ready` held in time
  bool not_built = false;  // the binary is the placeholder that says "not built yet"
  int port = 0;            // the port it logged (API_PORT=0 picks a free one)
  std::string log;         // its log when it did not come up, for the failure message
};

// Starts `vigil api` with `env` into `api` (stdout and stderr to `log_path`),
// reads the port from its "listening … port=N" line (text or JSON log), then
// waits until `ready(port)` holds — by default GET /healthz answering 200 over
// plain HTTP. `timeout` bounds each of the two waits.
ApiStartup StartApi(Process& api, const std::map<std::string, std::string>& env, const std::string& log_path,
                    std::chrono::milliseconds timeout = std::chrono::seconds(20),
                    const std::function<bool(int port)>& ready = {});

// For a test body or a void helper it calls: skips when `vigil api` is not
// built, fails with the API's log when it did not come up.
#define VIGIL_ASSERT_API_UP(startup)                                            \
  do {                                                                          \
    if ((startup).not_built) GTEST_SKIP() << "`vigil api` is not built yet";    \
    ASSERT_TRUE((startup).up) << "vigil api did not start:\n" << (startup).log; \
  } while (0)

// All items of a paginated list endpoint (follows next_cursor).
std::vector<Json> ListAll(int port, const std::string& path, const std::string& token);

// Starts a MOCK_MODE `vigil worker` named `id` against the API on `api_port`,
// with its state under `state_dir` and its log at `log_path`. Defaults suited
// to tests (8 fps, 1 s cooldown, info logs); `env` overrides or adds variables.
Process StartMockWorker(int api_port, const std::string& worker_key, const std::string& id,
                        const std::string& state_dir, const std::string& log_path,
                        const std::map<std::string, std::string>& env = {});

// GET /api/v1/workers: the items (empty when the API does not answer).
Json ListWorkers(int port, const std::string& token);
// One worker's object from that list, or an empty object.
Json WorkerById(int port, const std::string& token, const std::string& id);

// The spool counters a worker persisted under `state_dir` (counters.json),
// or an empty object.
Json SpoolCounters(const std::string& state_dir, const std::string& worker_id);

}  // namespace vigil::worker_it
