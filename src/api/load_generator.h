// LoadGenerator: simulated workers over loopback for `vigil loadgen`. Each
// worker connects to /ws/worker, says hello with one camera of its own,
// waits for welcome and then sends face events at its share of the total
// rate; the ack latency of every event is measured (first send → ack).
//
// With `reconnect` (the default) a simulated worker behaves like a real one
// when its connection drops: it keeps generating events, keeps every
// unacknowledged one, reconnects with backoff and re-sends them with the
// same event ids after the next welcome. The report counts the re-sends, so
// a fault test can check that every acknowledged event is stored once.
//
// Thread-safety: Run blocks the calling thread; use one instance per run.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

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
  double drain_s = 10;     // after sending, how long to wait for the last acks
  bool reconnect = true;   // on a lost connection: reconnect and re-send unacked events
  bool collect_ids = false;  // fill LoadReport::acked_ids
};

struct LoadReport {
  int workers_connected = 0;
  int64_t events_sent = 0;     // events generated (each counted once, however often sent)
  int64_t events_acked = 0;    // distinct events acknowledged
  int64_t events_resent = 0;   // transmissions of an event after a reconnect
  int64_t events_unacked = 0;  // generated but never acknowledged when the run ended
  int64_t reconnects = 0;      // connections re-established after a drop
  std::vector<std::string> acked_ids;  // only with LoadOptions::collect_ids
  double seconds = 0;          // first send to last ack
  double acked_per_second = 0;
  double p50_ms = 0;
  double p99_ms = 0;
  double max_ms = 0;
};

// Parses "http://host:port" (or ws://) into host and port.
Status ParseApiUrl(const std::string& url, std::string* host, int* port);

Result<LoadReport> RunLoad(const LoadOptions& options);

// The report as one JSON object (without acked_ids), for `vigil loadgen --json`.
std::string LoadReportJson(const LoadReport& report);

}  // namespace vigil::api
