#include "worker/backoff.h"

#include <algorithm>
#include <cmath>

namespace vigil::worker {

Backoff::Backoff(std::chrono::milliseconds initial, std::chrono::milliseconds max, double multiplier, double jitter,
                 uint64_t seed)
    : initial_(initial), max_(max), multiplier_(multiplier), jitter_(std::clamp(jitter, 0.0, 1.0)), rng_(seed) {}

std::chrono::milliseconds Backoff::Next() {
  double base = static_cast<double>(initial_.count()) * std::pow(multiplier_, std::min(attempt_, 40));
  base = std::min(base, static_cast<double>(max_.count()));
  ++attempt_;
  std::uniform_real_distribution<double> dist(1.0 - jitter_, 1.0);
  return std::chrono::milliseconds(static_cast<int64_t>(base * dist(rng_)));
}

}  // namespace vigil::worker
