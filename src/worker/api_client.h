// ApiClient: the worker's one outbound WebSocket to the API (`/ws/worker`),
// ws:// or wss:// (OpenSSL, peer and host name verified against the system
// store or API_CA_CERT). It only moves frames; the protocol lives in Worker.
//
// One connection at a time. Connect() starts it asynchronously; the
// handlers report the outcome. Sends are queued (one write in flight) and
// may be called from any thread. Beast and Asio stay inside api_client.cc.
//
// Thread-safety: all public methods are thread-safe. Handlers run on the
// client's I/O thread and must not block; they may call Send*/Close.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "core/status.h"

namespace vigil::worker {

struct ApiClientOptions {
  std::string api_url;  // http(s)://host:port[/prefix]; ws(s)://…/ws/worker is derived
  std::string api_key;  // sent as "Authorization: Bearer …"
  std::string ca_cert;  // PEM file for wss:// with a private CA; empty: system store
  int64_t connect_timeout_ms = 10000;
  int64_t idle_timeout_ms = 30000;  // keep-alive pings; the link is dead after this much silence
};

// Why a connection ended (or never opened).
struct CloseInfo {
  bool opened = false;  // the WebSocket handshake had succeeded
  int http_status = 0;  // the upgrade's HTTP status when it was refused (401, ...)
  int close_code = 0;   // the peer's WebSocket close code, 0 if none
  std::string reason;   // the peer's close reason or the network error
  // The API's TLS certificate was rejected (unknown CA, expired, wrong host
  // name). Retrying cannot help: it is a configuration error, and `reason`
  // says what OpenSSL objected to and what to set.
  bool tls_verify_failed = false;
  bool auth_failed() const { return http_status == 401 || close_code == 4401; }
};

class ApiClient {
 public:
  struct Handlers {
    std::function<void()> on_open;
    std::function<void(std::string text)> on_text;
    std::function<void(std::string binary)> on_binary;
    std::function<void(const CloseInfo&)> on_close;  // exactly once per Connect()
  };

  // InvalidArgument for an API_URL that is not http(s)://host[:port]; an
  // unreadable CA file is FailedPrecondition.
  static Result<std::unique_ptr<ApiClient>> Create(const ApiClientOptions& options, Handlers handlers);
  ~ApiClient();

  void Connect();
  // False (and nothing queued) when not connected.
  bool SendText(std::string text);
  bool SendBinary(std::string data);
  // Starts a close handshake; on_close follows.
  void Close(uint16_t code, const std::string& reason);
  // Changes the keep-alive idle timeout: for later connections, and for the
  // open one from Beast's next timer round (at most half the old timeout).
  // The worker calls it once the API's heartbeat interval is known.
  void SetIdleTimeout(int64_t idle_timeout_ms);
  // Bytes queued for sending and not yet written.
  size_t queued_bytes() const;
  bool connected() const;
  // "ws://host:port/ws/worker"
  std::string target_url() const;

  class Impl;

 private:
  explicit ApiClient(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Splits "http://h:p/x" into ws scheme/host/port/path ("/x/ws/worker").
struct ApiEndpoint {
  bool tls = false;
  std::string host;
  std::string port;
  std::string target;
};
Result<ApiEndpoint> ParseApiUrl(const std::string& api_url);

}  // namespace vigil::worker
