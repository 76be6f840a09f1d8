#include "api/metrics.h"

#include <cstdio>

namespace vigil::api {

namespace {

std::string FormatDouble(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.9g", v);
  return buf;
}

std::string EscapeLabel(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (c == '\\' || c == '"') out.push_back('\\');
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out.push_back(c);
  }
  return out;
}

}  // namespace

Metrics::Metrics() = default;

const std::vector<double>& Metrics::Bounds() {
  static const std::vector<double> kBounds = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                              0.1,    0.25,  0.5,    1,     2.5,  5,     10};
  return kBounds;
}

void Metrics::ObserveInto(Histogram& h, double seconds) {
  const auto& b = Bounds();
  if (h.buckets.empty()) h.buckets.assign(b.size(), 0);
  for (size_t i = 0; i < b.size(); ++i) {
    if (seconds <= b[i]) {
      ++h.buckets[i];
      break;
    }
  }
  ++h.count;
  h.sum += seconds;
}

void Metrics::ObserveRequest(const std::string& route, const std::string& method, int status, double seconds) {
  std::lock_guard lock(mu_);
  ++requests_[{route, method, status}];
  ObserveInto(request_latency_[route], seconds);
}

void Metrics::Inc(const std::string& name, int64_t by) {
  std::lock_guard lock(mu_);
  counters_[name] += by;
}

int64_t Metrics::Counter(const std::string& name) const {
  std::lock_guard lock(mu_);
  auto it = counters_.find(name);
  return it == counters_.end() ? 0 : it->second;
}

void Metrics::Describe(const std::string& name, const std::string& help) {
  std::lock_guard lock(mu_);
  help_[name] = help;
}

void Metrics::AddGauge(const std::string& name, const std::string& help, std::function<double()> read) {
  std::lock_guard lock(mu_);
  gauges_.emplace_back(name, help, std::move(read));
}

void Metrics::AddCollector(std::function<std::vector<Sample>()> collect) {
  std::lock_guard lock(mu_);
  collectors_.push_back(std::move(collect));
}

void Metrics::Observe(const std::string& histogram, double seconds) {
  std::lock_guard lock(mu_);
  ObserveInto(histograms_[histogram], seconds);
}

void Metrics::ObserveAll(const std::string& histogram, const std::vector<double>& seconds) {
  std::lock_guard lock(mu_);
  Histogram& h = histograms_[histogram];
  for (double s : seconds) ObserveInto(h, s);
}

void Metrics::RenderHistogram(std::string& out, const std::string& name, const std::string& labels,
                              const Histogram& h) {
  const auto& b = Bounds();
  uint64_t cum = 0;
  std::string sep = labels.empty() ? "" : ",";
  for (size_t i = 0; i < b.size(); ++i) {
    cum += h.buckets.empty() ? 0 : h.buckets[i];
    out += name + "_bucket{" + labels + sep + "le=\"" + FormatDouble(b[i]) + "\"} " + std::to_string(cum) + "\n";
  }
  out += name + "_bucket{" + labels + sep + "le=\"+Inf\"} " + std::to_string(h.count) + "\n";
  std::string l = labels.empty() ? "" : "{" + labels + "}";
  out += name + "_sum" + l + " " + FormatDouble(h.sum) + "\n";
  out += name + "_count" + l + " " + std::to_string(h.count) + "\n";
}

std::string Metrics::Render() const {
  // Gauges are read outside the lock: their callbacks take other components' locks.
  std::vector<std::tuple<std::string, std::string, std::function<double()>>> gauges;
  std::vector<std::function<std::vector<Sample>()>> collectors;
  {
    std::lock_guard lock(mu_);
    gauges = gauges_;
    collectors = collectors_;
  }
  std::vector<double> gauge_values;
  for (const auto& g : gauges) gauge_values.push_back(std::get<2>(g)());
  std::vector<Sample> collected;
  for (const auto& c : collectors) {
    auto more = c();
    collected.insert(collected.end(), std::make_move_iterator(more.begin()), std::make_move_iterator(more.end()));
  }
  std::string out;
  std::lock_guard lock(mu_);
  out += "# HELP vigil_http_requests_total HTTP requests by route pattern, method and status.\n";
  out += "# TYPE vigil_http_requests_total counter\n";
  for (const auto& [key, n] : requests_) {
    const auto& [route, method, status] = key;
    out += "vigil_http_requests_total{route=\"" + EscapeLabel(route) + "\",method=\"" + EscapeLabel(method) +
           "\",status=\"" + std::to_string(status) + "\"} " + std::to_string(n) + "\n";
  }
  out += "# HELP vigil_http_request_duration_seconds HTTP request latency by route pattern.\n";
  out += "# TYPE vigil_http_request_duration_seconds histogram\n";
  for (const auto& [route, h] : request_latency_) {
    RenderHistogram(out, "vigil_http_request_duration_seconds", "route=\"" + EscapeLabel(route) + "\"", h);
  }
  for (const auto& [name, h] : histograms_) {
    auto help = help_.find(name);
    if (help != help_.end()) out += "# HELP " + name + " " + help->second + "\n";
    out += "# TYPE " + name + " histogram\n";
    RenderHistogram(out, name, "", h);
  }
  for (const auto& [name, v] : counters_) {
    auto help = help_.find(name);
    if (help != help_.end()) out += "# HELP " + name + " " + help->second + "\n";
    out += "# TYPE " + name + " counter\n";
    out += name + " " + std::to_string(v) + "\n";
  }
  for (size_t i = 0; i < gauges.size(); ++i) {
    const auto& [name, help, read] = gauges[i];
    out += "# HELP " + name + " " + help + "\n";
    out += "# TYPE " + name + " gauge\n";
    out += name + " " + FormatDouble(gauge_values[i]) + "\n";
  }
  for (const auto& c : collected) {
    out += "# HELP " + c.name + " " + c.help + "\n";
    out += "# TYPE " + c.name + (c.counter ? " counter\n" : " gauge\n");
    out += c.name + " " + FormatDouble(c.value) + "\n";
  }
  return out;
}

}  // namespace vigil::api
