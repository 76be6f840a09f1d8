// libFuzzer target: HTTP request parsing and routing of the API server.
//
// Raw bytes go through Beast's request parser with the server's limits
// (16 KiB of header, API_MAX_BODY_BYTES of body), are translated into our
// Request the way ApiServer's HTTP session does, and are handled by the real
// ApiApp (route table, auth, every REST handler, static files) backed by an
// in-memory SQLite database and the mock face pipeline. WebSocket upgrade
// requests go through the upgrade checks instead.
//
// Invariants beyond "no crash": a response never has status 500 (an
// internal error on client input is a bug: the database is in memory and
// cannot fail), and every JSON response body parses.
//
// The admin token is fixed (fuzz/dict/fuzz_http.dict and the seeds carry it)
// so that inputs get past auth. State (sites, cameras, staff) accumulates
// across inputs, as it would on a live server.
#include <boost/beast/http.hpp>
#include <boost/beast/websocket/rfc6455.hpp>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include "api/app.h"
#include "api/beast_request.h"
#include "core/clock.h"
#include "core/config.h"
#include "core/json_util.h"
#include "core/logging.h"

namespace {

namespace beast = boost::beast;
namespace http = boost::beast::http;

constexpr const char* kAdminToken = "fuzz-admin-token-0123456789abcdef";
constexpr const char* kWorkerKey = "fuzz-worker-key-0123456789abcdef";

struct Harness {
  vigil::FakeClock clock;
  vigil::ApiConfig config;
  std::unique_ptr<vigil::api::ApiApp> app;
};
Harness* g = nullptr;

void CheckResponse(const vigil::api::Response& res) {
  if (res.status < 100 || res.status > 599 || res.status == 500) std::abort();
  if (res.content_type.rfind("application/json", 0) == 0 && !res.body.empty() && !vigil::ParseJson(res.body).ok()) {
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  vigil::LogOptions quiet;
  quiet.level = "off";
  vigil::InitLogging(quiet);
  static Harness h;
  char tmpl[] = "/tmp/vigil-fuzz-http-XXXXXX";
  if (!mkdtemp(tmpl)) std::abort();
  h.config.data_dir = tmpl;
  h.config.database_url = "sqlite::memory:";
  h.config.admin_token = kAdminToken;
  h.config.worker_api_key = kWorkerKey;
  h.config.mock_mode = true;
  h.config.detector_type = "mock";
  h.config.embedder_type = "mock";
  auto app = vigil::api::ApiApp::Create(h.config, h.clock, nullptr);
  if (!app.ok()) {
    std::fprintf(stderr, "ApiApp::Create: %s\n", app.status().ToString().c_str());
    std::abort();
  }
  h.app = std::move(*app);
  g = &h;
  // The data directory (photos, secrets) is removed at exit.
  static struct Cleanup {
    std::string dir;
    ~Cleanup() {
      std::error_code ec;
      std::filesystem::remove_all(dir, ec);
    }
  } cleanup{tmpl};
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  http::request_parser<http::string_body> parser;
  parser.header_limit(16 * 1024);
  parser.body_limit(static_cast<uint64_t>(g->config.max_body_bytes));
  parser.eager(true);
  beast::error_code ec;
  const char* p = reinterpret_cast<const char*>(data);
  size_t left = size;
  while (left > 0 && !parser.is_done()) {
    size_t used = parser.put(boost::asio::buffer(p, left), ec);
    if (ec) break;
    if (used == 0) break;
    p += used;
    left -= used;
  }
  if (ec || !parser.is_done()) return 0;  // the server answers 400/413 or waits for more

  http::request<http::string_body> req = parser.release();
  vigil::api::Request r = vigil::api::ToApiRequest(req, "127.0.0.1");
  if (beast::websocket::is_upgrade(req)) {
    if (r.path == "/ws/worker") {
      if (auto refusal = g->app->CheckWorkerUpgrade(r)) CheckResponse(*refusal);
    } else if (r.path == "/ws/live") {
      if (auto refusal = g->app->CheckLiveUpgrade(r)) CheckResponse(*refusal);
    }
    return 0;
  }
  CheckResponse(g->app->Handle(std::move(r)));
  g->clock.Advance(std::chrono::milliseconds(1));
  return 0;
}
