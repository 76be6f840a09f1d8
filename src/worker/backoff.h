// Exponential backoff with jitter for reconnects and camera retries.
//
// The n-th delay is min(max, initial * multiplier^n), scaled by a random
// factor in [1 - jitter, 1] so that many workers restarted together do not
// reconnect in lock step. Reset() after a success.
//
// Thread-safety: not thread-safe; one per retry loop.
#pragma once

#include <chrono>
#include <cstdint>
#include <random>

namespace vigil::worker {

class Backoff {
 public:
  Backoff(std::chrono::milliseconds initial, std::chrono::milliseconds max, double multiplier = 2.0,
          double jitter = 0.5, uint64_t seed = std::random_device{}());
  std::chrono::milliseconds Next();
  void Reset() { attempt_ = 0; }
  int attempts() const { return attempt_; }

 private:
  std::chrono::milliseconds initial_;
  std::chrono::milliseconds max_;
  double multiplier_;
  double jitter_;
  int attempt_ = 0;
  std::mt19937_64 rng_;
};

}  // namespace vigil::worker
