// LoadGenerator: simulated workers over loopback for `vigil loadgen`. Each
// worker connects to /ws/worker, says hello with one camera of its own,
// waits for welcome and then sends face events at its share of the total
// rate; the ack latency of every event is measured (send → ack).
//
// Thread-safety: Run blocks the calling thread; use one instance per run.
#pragma once

#include <cstdint>
#include <string>

#include "core/status.h"

namespace vigil::api {

struct LoadOptions {
  std::string host = "127.0.0.1";
  int port = 8080;
  std::string worker_key;
  int workers = 10;
  double rate = 1000;      // events per second, all workers together
  double duration_s = 10;  // sending time; then up to 10 s to collect acks
  int people = 500;        // distinct synthetic faces (customers created)
  int threads = 2;
};

struct LoadReport {
  int workers_connected = 0;
  int64_t events_sent = 0;
  int64_t events_acked = 0;
  double seconds = 0;          // first send to last ack
  double acked_per_second = 0;
  double p50_ms = 0;
  double p99_ms = 0;
  double max_ms = 0;
};

// Parses "http://host:port" (or ws://) into host and port.
Status ParseApiUrl(const std::string& url, std::string* host, int* port);

Result<LoadReport> RunLoad(const LoadOptions& options);

}  // namespace vigil::api
