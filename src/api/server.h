// ApiServer: ApiApp on the network. Boost.Beast HTTP/1.1 + WebSocket on one
// port, shaped like Beast's chat-multi example: a listener accepts, an HTTP
// session reads requests (body limit API_MAX_BODY_BYTES → 413, read timeout,
// keep-alive) and upgrades /ws/worker and /ws/live to WebSocket sessions
// (one write in flight, bounded queue, slow consumers dropped). Handlers run
// on a separate thread pool so a slow database call or face analysis never
// stalls the I/O threads (API_THREADS). Beast stays inside server.cc.
// With API_TLS_CERT/API_TLS_KEY the port speaks TLS only (HTTPS and WSS,
// OpenSSL, TLS 1.2+); a plain-HTTP client gets one plain 400 and is closed.
//
// Shutdown (RequestStop, or SIGINT/SIGTERM in RunUntilSignal): stop
// accepting, commit and ack queued events, close worker sockets with 1001
// "going away", finish in-flight requests, stop the threads.
//
// Thread-safety: Start, Stop and Wait from the owning thread; RequestStop
// from any thread.
#pragma once

#include <memory>
#include <ostream>

#include "api/app.h"
#include "core/clock.h"
#include "core/config.h"
#include "core/status.h"

namespace vigil::api {

class ApiServer {
 public:
  // `announce`: where generated secrets are printed once (stdout in main).
  static Result<std::unique_ptr<ApiServer>> Create(const ApiConfig& config, Clock& clock, std::ostream* announce);
  ~ApiServer();

  // Binds API_BIND:API_PORT (0: any free port) and starts the threads.
  Status Start();
  // The bound port (after Start).
  int port() const;
  // Asks for a graceful stop; returns at once.
  void RequestStop();
  // Blocks until RequestStop (or a signal, with RunUntilSignal), then shuts down.
  void Wait();
  // Start, then wait for SIGINT/SIGTERM (or RequestStop), then shut down.
  Status RunUntilSignal();

  ApiApp& app();

  struct Impl;  // server.cc only (the Beast sessions reach into it)

 private:
  explicit ApiServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace vigil::api
