// TLS end to end: a throwaway CA and server certificate made at test time
// with the `openssl` CLI (the test skips when it is absent), a real
// `vigil api` serving HTTPS/WSS on one port, and real MOCK_MODE workers:
//  * HTTPS REST and WSS /ws/live work and cookies are marked Secure;
//  * a worker given the private CA (API_CA_CERT) registers and delivers events;
//  * a worker without it, or reaching the API by a name the certificate does
//    not carry, stops at once with a clear certificate error and a non-zero
//    exit code (no silent retry loop);
//  * plain HTTP to the TLS port is refused cleanly and the server stays up;
//  * an unreadable or mismatched certificate/key stops the API at startup.
//
// Every wait is on a condition with a deadline; each case stays under 60 s.
#include <gtest/gtest.h>
#include <signal.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <filesystem>
#include <fstream>

#include "core/json_util.h"
#include "integration/worker_process_helpers.h"

namespace vigil::worker_it {
namespace {

using namespace std::chrono_literals;
namespace net = boost::asio;
namespace ssl = net::ssl;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using tcp = net::ip::tcp;

constexpr const char* kAdminToken = "tls-admin-token-for-tests";
constexpr const char* kWorkerKey = "tls-worker-key-for-tests";

struct HttpsResult {
  int status = 0;
  std::string body;
  std::string set_cookie;
  std::string error;  // transport/TLS error, empty on success
};

// One HTTPS request to 127.0.0.1:port, verifying the server as `host` against `ca_file`.
HttpsResult Https(int port, const std::string& ca_file, const std::string& method, const std::string& target,
                  const std::string& token, const std::string& body = "") {
  HttpsResult out;
  try {
    net::io_context ioc;
    ssl::context ctx(ssl::context::tls_client);
    ctx.load_verify_file(ca_file);
    ctx.set_verify_mode(ssl::verify_peer);
    beast::ssl_stream<beast::tcp_stream> s(ioc, ctx);
    SSL_set_tlsext_host_name(s.native_handle(), "localhost");
    SSL_set1_host(s.native_handle(), "localhost");
    beast::get_lowest_layer(s).expires_after(10s);
    beast::get_lowest_layer(s).connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), static_cast<uint16_t>(port)));
    s.handshake(ssl::stream_base::client);
    http::request<http::string_body> req{http::string_to_verb(method), target, 11};
    req.set(http::field::host, "localhost");
    if (!token.empty()) req.set(http::field::authorization, "Bearer " + token);
    if (!body.empty() || method == "POST") {
      req.set(http::field::content_type, "application/json");
      req.body() = body;
      req.prepare_payload();
    }
    http::write(s, req);
    beast::flat_buffer buf;
    http::response<http::string_body> res;
    http::read(s, buf, res);
    out.status = static_cast<int>(res.result_int());
    out.body = res.body();
    out.set_cookie = std::string(res[http::field::set_cookie]);
    beast::error_code ec;
    s.shutdown(ec);
  } catch (const std::exception& e) {
    out.error = e.what();
  }
  return out;
}

// Opens wss://localhost:port/ws/live with the admin token; "" on success.
std::string WssLive(int port, const std::string& ca_file) {
  try {
    net::io_context ioc;
    ssl::context ctx(ssl::context::tls_client);
    ctx.load_verify_file(ca_file);
    ctx.set_verify_mode(ssl::verify_peer);
    websocket::stream<beast::ssl_stream<beast::tcp_stream>> ws(ioc, ctx);
    SSL_set_tlsext_host_name(ws.next_layer().native_handle(), "localhost");
    SSL_set1_host(ws.next_layer().native_handle(), "localhost");
    beast::get_lowest_layer(ws).expires_after(10s);
    beast::get_lowest_layer(ws).connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), static_cast<uint16_t>(port)));
    ws.next_layer().handshake(ssl::stream_base::client);
    ws.set_option(websocket::stream_base::decorator([](websocket::request_type& req) {
      req.set(http::field::authorization, std::string("Bearer ") + kAdminToken);
    }));
    ws.handshake("localhost:" + std::to_string(port), "/ws/live");
    ws.close(websocket::close_code::normal);
    return "";
  } catch (const std::exception& e) {
    return e.what();
  }
}

bool HaveOpenssl() { return std::system("openssl version > /dev/null 2>&1") == 0; }

// A CA and a server certificate for DNS:localhost only (no IP SAN, so
// https://127.0.0.1 is a host name mismatch), plus a key of another pair.
bool MakeCertificates(const std::string& dir) {
  std::string d = "'" + dir + "'";
  std::ofstream(dir + "/server.ext") << "subjectAltName=DNS:localhost\nbasicConstraints=CA:FALSE\n"
                                        "keyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n";
  std::string cmd =
      "cd " + d +
      " && "
      "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -subj '/CN=Vigil Test CA' "
      "-addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign "
      "-keyout ca.key -out ca.pem && "
      "openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj '/CN=localhost' "
      "-keyout server.key -out server.csr && "
      "openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 -extfile server.ext "
      "-out server.pem && "
      "openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:prime256v1 -out other.key";
  return std::system((cmd + " > openssl.log 2>&1").c_str()) == 0;
}

class TlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!HaveOpenssl()) GTEST_SKIP() << "the openssl CLI is not installed";
    ASSERT_FALSE(dir_.path().empty());
    ASSERT_TRUE(MakeCertificates(dir_.path())) << "openssl failed; see " << dir_.path() << "/openssl.log";
  }

  std::string ca() const { return dir_.path() + "/ca.pem"; }

  std::map<std::string, std::string> ApiEnv(const std::string& cert, const std::string& key) const {
    return {
        {"API_PORT", "0"},
        {"API_BIND", "127.0.0.1"},
        {"VIGIL_DATA_DIR", dir_.path() + "/api-data"},
        {"API_ADMIN_TOKEN", kAdminToken},
        {"WORKER_API_KEY", kWorkerKey},
        {"MOCK_MODE", "true"},
        {"HEARTBEAT_INTERVAL", "1s"},
        {"LOG_LEVEL", "info"},
        {"API_TLS_CERT", cert},
        {"API_TLS_KEY", key},
    };
  }

  void StartApi() {
    std::filesystem::create_directories(dir_.path() + "/api-data");
    const ApiStartup started = worker_it::StartApi(
        api_, ApiEnv(dir_.path() + "/server.pem", dir_.path() + "/server.key"), dir_.path() + "/api.log", 20s,
        [this](int port) { return Https(port, ca(), "GET", "/healthz", "").status == 200; });
    VIGIL_ASSERT_API_UP(started);
    port_ = started.port;
  }

  Process StartWorker(const std::string& id, const std::string& api_url, const std::string& ca_file) {
    std::map<std::string, std::string> env = {
        {"API_URL", api_url},
        {"API_CA_CERT", ca_file},
        {"WORKER_API_KEY", kWorkerKey},
        {"WORKER_ID", id},
        {"MOCK_MODE", "true"},
        {"VIGIL_STATE_DIR", dir_.path() + "/worker-state"},
        {"WORKER_FPS", "8"},
        {"EVENT_COOLDOWN", "1s"},
        {"TRACK_MAX_AGE", "2s"},
        {"WORKER_SHUTDOWN_DEADLINE", "3s"},
        {"LOG_LEVEL", "info"},
    };
    return Process::Start({VIGIL_BINARY, "worker"}, env, dir_.path() + "/" + id + ".log");
  }

  Json Items(const std::string& path) {
    auto r = Https(port_, ca(), "GET", path, kAdminToken);
    auto j = ParseJson(r.body);
    return j.ok() && j->contains("items") ? (*j)["items"] : Json::array();
  }

  ScratchDir dir_;
  Process api_;
  int port_ = 0;
};

TEST_F(TlsTest, HttpsRestAndWssLiveWork) {
  StartApi();
  if (HasFatalFailure()) return;
  auto sites = Https(port_, ca(), "GET", "/api/v1/sites", kAdminToken);
  EXPECT_EQ(sites.status, 200) << sites.error << sites.body;
  EXPECT_EQ(Https(port_, ca(), "GET", "/api/v1/sites", "wrong").status, 401);
  auto created = Https(port_, ca(), "POST", "/api/v1/sites", kAdminToken, R"({"name":"tls shop"})");
  EXPECT_EQ(created.status, 201) << created.body;
  auto session = Https(port_, ca(), "POST", "/api/v1/session", "", std::string(R"({"token":")") + kAdminToken + "\"}");
  EXPECT_EQ(session.status, 200) << session.body;
  EXPECT_NE(session.set_cookie.find("Secure"), std::string::npos) << session.set_cookie;
  EXPECT_EQ(WssLive(port_, ca()), "");
}

TEST_F(TlsTest, WorkerWithThePrivateCaRegistersAndDeliversEvents) {
  StartApi();
  if (HasFatalFailure()) return;
  auto w = StartWorker("worker-tls", "https://localhost:" + std::to_string(port_), ca());
  ASSERT_TRUE(WaitUntil(
      [&] {
        for (const auto& x : Items("/api/v1/workers")) {
          if (x.value("id", "") == "worker-tls" && x.value("status", "") == "online") return true;
        }
        return false;
      },
      30s))
      << w.Log();
  ASSERT_TRUE(WaitUntil([&] { return !Items("/api/v1/events").empty(); }, 40s)) << w.Log();
  EXPECT_NE(w.Log().find("wss://localhost:"), std::string::npos) << w.Log();
  w.Signal(SIGTERM);
  EXPECT_EQ(w.Wait(15s), 0) << w.Log();
}

TEST_F(TlsTest, WorkerWithoutTheCaStopsWithACertificateError) {
  StartApi();
  if (HasFatalFailure()) return;
  auto w = StartWorker("worker-noca", "https://localhost:" + std::to_string(port_), "");
  auto rc = w.Wait(20s);
  ASSERT_TRUE(rc.has_value()) << "the worker kept retrying a certificate it cannot verify\n" << w.Log();
  EXPECT_EQ(*rc, 2) << w.Log();  // a configuration error
  std::string log = w.Log();
  EXPECT_NE(log.find("certificate was rejected"), std::string::npos) << log;
  EXPECT_NE(log.find("API_CA_CERT"), std::string::npos) << log;
  EXPECT_EQ(Https(port_, ca(), "GET", "/healthz", "").status, 200);  // the API is unaffected
}

TEST_F(TlsTest, WorkerReachingTheApiByAnotherNameStopsWithAHostNameError) {
  StartApi();
  if (HasFatalFailure()) return;
  // The certificate names only "localhost".
  auto w = StartWorker("worker-ip", "https://127.0.0.1:" + std::to_string(port_), ca());
  auto rc = w.Wait(20s);
  ASSERT_TRUE(rc.has_value()) << w.Log();
  EXPECT_EQ(*rc, 2) << w.Log();
  EXPECT_NE(w.Log().find("mismatch"), std::string::npos) << w.Log();
}

TEST_F(TlsTest, PlainHttpToTheTlsPortIsRefusedAndTheServerStaysUp) {
  StartApi();
  if (HasFatalFailure()) return;
  for (int i = 0; i < 3; ++i) {
    auto r = Http(port_, "GET", "/api/v1/sites", kAdminToken);
    EXPECT_NE(r.status, 200);
    if (r.status != 0) {
      EXPECT_EQ(r.status, 400);
      EXPECT_NE(r.body.find("https"), std::string::npos) << r.body;
    }
  }
  // A plain-ws worker gets nowhere either, and the server keeps serving TLS.
  auto w = StartWorker("worker-plain", "http://127.0.0.1:" + std::to_string(port_), "");
  EXPECT_FALSE(WaitUntil([&] { return !Items("/api/v1/workers").empty(); }, 3s));
  EXPECT_TRUE(api_.running());
  EXPECT_EQ(Https(port_, ca(), "GET", "/healthz", "").status, 200);
}

TEST_F(TlsTest, BadCertificateOrKeyStopsTheApiAtStartup) {
  std::filesystem::create_directories(dir_.path() + "/api-data");
  struct Case {
    std::string cert, key, expect;
  };
  std::vector<Case> cases = {
      {dir_.path() + "/missing.pem", dir_.path() + "/server.key", "API_TLS_CERT"},
      {dir_.path() + "/server.pem", dir_.path() + "/missing.key", "API_TLS_KEY"},
      {dir_.path() + "/server.pem", dir_.path() + "/other.key", "API_TLS_KEY"},    // key of another certificate
      {dir_.path() + "/server.ext", dir_.path() + "/server.key", "API_TLS_CERT"},  // not PEM
  };
  int n = 0;
  for (const auto& c : cases) {
    auto p = Process::Start({VIGIL_BINARY, "api"}, ApiEnv(c.cert, c.key),
                            dir_.path() + "/bad-api-" + std::to_string(++n) + ".log");
    auto rc = p.Wait(15s);
    ASSERT_TRUE(rc.has_value()) << c.cert << " " << c.key << ": the API did not stop\n" << p.Log();
    EXPECT_NE(*rc, 0) << p.Log();
    EXPECT_NE(p.Log().find(c.expect), std::string::npos) << p.Log();
  }
}

}  // namespace
}  // namespace vigil::worker_it
