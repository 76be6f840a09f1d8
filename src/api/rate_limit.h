// RateLimiter: per-key (client IP) token buckets for the endpoints that cost
// the server or an attacker something per call: sign-in (guessing the admin
// token) and POST /api/v1/recognize (a face analysis per call).
//
// Each key owns a bucket of `burst` tokens refilled at `per_second`; a call
// takes one token or is refused with the time until one is back. Memory is
// bounded: a bucket that has refilled completely carries no information and
// is dropped (lossless), and when more than `max_keys` clients are active at
// once the least recently seen one is forgotten (it gets a fresh bucket).
// Time comes from the injected Clock (steady), so tests drive it with
// FakeClock.
//
// Thread-safety: Acquire and size are safe to call concurrently (one mutex;
// the work under it is O(1) amortised).
#pragma once

#include <chrono>
#include <cstddef>
#include <list>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "api/http_types.h"
#include "core/clock.h"
#include "core/config.h"

namespace vigil::api {

struct RateLimitOptions {
  RateSpec rate;            // burst and refill; !rate.enabled(): every call is allowed
  size_t max_keys = 10000;  // most clients tracked at once
};

class RateLimiter {
 public:
  RateLimiter(RateLimitOptions options, const Clock& clock);

  struct Decision {
    bool allowed = true;
    // When refused: how long until a token is back (rounded up to whole ms).
    std::chrono::milliseconds retry_after{0};
  };
  Decision Acquire(std::string_view key);

  // Keys currently tracked (for tests and metrics).
  size_t size() const;
  bool enabled() const { return options_.rate.enabled(); }

 private:
  struct Bucket {
    double tokens = 0;
    std::chrono::steady_clock::time_point updated;
    std::list<std::string>::iterator lru;  // position in lru_ (front: most recent)
  };
  void EvictIdle(std::chrono::steady_clock::time_point now);

  const RateLimitOptions options_;
  const Clock& clock_;
  const std::chrono::nanoseconds full_refill_;  // time for an empty bucket to fill
  mutable std::mutex mu_;
  std::unordered_map<std::string, Bucket> buckets_;
  std::list<std::string> lru_;
};

// For a handler: nullopt when `req` may proceed, else the 429 response
// (Retry-After in whole seconds, JSON error naming `what`). A null limiter
// allows everything.
std::optional<Response> CheckRateLimit(RateLimiter* limiter, const Request& req, const std::string& what);

}  // namespace vigil::api
