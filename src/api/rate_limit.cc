#include "api/rate_limit.h"

#include <algorithm>
#include <cmath>

namespace vigil::api {

namespace {

std::chrono::nanoseconds FullRefill(const RateSpec& r) {
  if (!r.enabled()) return std::chrono::nanoseconds(0);
  return std::chrono::nanoseconds(static_cast<int64_t>(std::ceil(r.burst / r.per_second * 1e9)));
}

}  // namespace

RateLimiter::RateLimiter(RateLimitOptions options, const Clock& clock)
    : options_(options), clock_(clock), full_refill_(FullRefill(options.rate)) {}

void RateLimiter::EvictIdle(std::chrono::steady_clock::time_point now) {
  // lru_ is ordered by last update, so the idle buckets are all at its back.
  while (!lru_.empty()) {
    auto it = buckets_.find(lru_.back());
    if (now - it->second.updated < full_refill_) break;
    buckets_.erase(it);
    lru_.pop_back();
  }
}

RateLimiter::Decision RateLimiter::Acquire(std::string_view key) {
  Decision d;
  if (!options_.rate.enabled()) return d;
  std::lock_guard lock(mu_);
  auto now = clock_.SteadyNow();
  EvictIdle(now);
  std::string k(key);
  auto it = buckets_.find(k);
  if (it == buckets_.end()) {
    if (options_.max_keys > 0 && buckets_.size() >= options_.max_keys) {
      // More active clients than we track: forget the least recent one. It
      // only gains a fresh bucket, and an attacker with that many addresses
      // is not slowed by a per-address limit anyway.
      buckets_.erase(lru_.back());
      lru_.pop_back();
    }
    lru_.push_front(k);
    Bucket b;
    b.tokens = options_.rate.burst;
    b.updated = now;
    b.lru = lru_.begin();
    it = buckets_.emplace(std::move(k), b).first;
  } else {
    Bucket& b = it->second;
    double elapsed_s = std::chrono::duration<double>(now - b.updated).count();
    if (elapsed_s > 0) b.tokens = std::min(options_.rate.burst, b.tokens + elapsed_s * options_.rate.per_second);
    b.updated = now;
    lru_.splice(lru_.begin(), lru_, b.lru);
  }
  Bucket& b = it->second;
  if (b.tokens >= 1.0) {
    b.tokens -= 1.0;
    return d;
  }
  d.allowed = false;
  double wait_ms = (1.0 - b.tokens) / options_.rate.per_second * 1000.0;
  d.retry_after = std::chrono::milliseconds(std::max<int64_t>(1, static_cast<int64_t>(std::ceil(wait_ms))));
  return d;
}

size_t RateLimiter::size() const {
  std::lock_guard lock(mu_);
  return buckets_.size();
}

std::optional<Response> CheckRateLimit(RateLimiter* limiter, const Request& req, const std::string& what) {
  if (!limiter) return std::nullopt;
  auto d = limiter->Acquire(req.remote.empty() ? std::string_view("unknown") : std::string_view(req.remote));
  if (d.allowed) return std::nullopt;
  int64_t secs = std::max<int64_t>(1, (d.retry_after.count() + 999) / 1000);
  Response r = ErrorResponse(
      429, "rate_limited", "too many " + what + " requests from this address; retry in " + std::to_string(secs) + " s");
  r.headers.emplace_back("Retry-After", std::to_string(secs));
  return r;
}

}  // namespace vigil::api
