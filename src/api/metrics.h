// Prometheus metrics of the API server: HTTP requests by route, method and
// status, a request latency histogram per route, named counters, and gauges
// read through callbacks when /metrics is scraped.
//
// Thread-safety: every method is safe to call concurrently. Gauge callbacks
// run on the scraping thread and must be thread-safe themselves.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <tuple>
#include <vector>

namespace vigil::api {

class Metrics {
 public:
  Metrics();

  void ObserveRequest(const std::string& route, const std::string& method, int status, double seconds);
  // Counters are created on first use; `name` must be a valid metric name.
  void Inc(const std::string& name, int64_t by = 1);
  int64_t Counter(const std::string& name) const;
  void Describe(const std::string& name, const std::string& help);
  // A gauge computed at scrape time.
  void AddGauge(const std::string& name, const std::string& help, std::function<double()> read);
  // Values another component owns, read all at once at scrape time (the
  // storage engine's counters). Names must not clash with other metrics.
  struct Sample {
    std::string name;
    std::string help;
    bool counter = false;  // else a gauge
    double value = 0;
  };
  void AddCollector(std::function<std::vector<Sample>()> collect);
  // Observes a latency (seconds) in a named histogram (e.g. event ack latency).
  void Observe(const std::string& histogram, double seconds);
  // Many observations under one lock (a committed batch of events).
  void ObserveAll(const std::string& histogram, const std::vector<double>& seconds);

  // Prometheus text exposition format 0.0.4.
  std::string Render() const;

 private:
  struct Histogram {
    std::vector<uint64_t> buckets;  // cumulative-on-render counts per bound
    uint64_t count = 0;
    double sum = 0;
  };
  static const std::vector<double>& Bounds();
  static void ObserveInto(Histogram& h, double seconds);
  static void RenderHistogram(std::string& out, const std::string& name, const std::string& labels, const Histogram& h);

  mutable std::mutex mu_;
  std::map<std::tuple<std::string, std::string, int>, uint64_t> requests_;  // (route, method, status)
  std::map<std::string, Histogram> request_latency_;                        // by route
  std::map<std::string, Histogram> histograms_;
  std::map<std::string, int64_t> counters_;
  std::map<std::string, std::string> help_;
  std::vector<std::tuple<std::string, std::string, std::function<double()>>> gauges_;
  std::vector<std::function<std::vector<Sample>()>> collectors_;
};

}  // namespace vigil::api
