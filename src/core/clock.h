// Injectable clocks. Production code takes a `Clock&`; tests pass a FakeClock
// and advance it explicitly, so no test sleeps or reads the wall clock.
//
// Thread-safety: SystemClock is stateless; FakeClock is safe for concurrent
// use (its time is an atomic).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>

namespace vigil {

class Clock {
 public:
  virtual ~Clock() = default;
  // Wall-clock time (UTC), for timestamps that leave the process.
  virtual std::chrono::system_clock::time_point Now() const = 0;
  // Monotonic time, for timeouts and intervals.
  virtual std::chrono::steady_clock::time_point SteadyNow() const = 0;

  int64_t NowUnixMs() const {
    return std::chrono::duration_cast<std::chrono::milliseconds>(Now().time_since_epoch()).count();
  }
};

class SystemClock final : public Clock {
 public:
  std::chrono::system_clock::time_point Now() const override { return std::chrono::system_clock::now(); }
  std::chrono::steady_clock::time_point SteadyNow() const override { return std::chrono::steady_clock::now(); }
  // A process-wide instance for wiring in main(); libraries take Clock&.
  static Clock& Instance();
};

class FakeClock final : public Clock {
 public:
  explicit FakeClock(int64_t start_unix_ms = 1'700'000'000'000) : ms_(start_unix_ms) {}
  std::chrono::system_clock::time_point Now() const override {
    return std::chrono::system_clock::time_point(std::chrono::milliseconds(ms_.load()));
  }
  std::chrono::steady_clock::time_point SteadyNow() const override {
    return std::chrono::steady_clock::time_point(std::chrono::milliseconds(ms_.load()));
  }
  void Advance(std::chrono::milliseconds d) { ms_ += d.count(); }
  void SetUnixMs(int64_t ms) { ms_ = ms; }

 private:
  std::atomic<int64_t> ms_;
};

// "2026-11-29T06:00:00.123Z"
std::string FormatIso8601Ms(int64_t unix_ms);
// Parses "2026-11-29T06:00:00Z", "...00.123Z", "...+01:00" or a plain date
// "2026-11-29" (midnight UTC). Returns false on malformed input.
bool ParseIso8601Ms(const std::string& text, int64_t* unix_ms);

}  // namespace vigil
