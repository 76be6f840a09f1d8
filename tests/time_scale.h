// VIGIL_TEST_TIME_SCALE, at least 1: the sanitizer stages (scripts/sanitize)
// set 3 under ASan and 10 under TSan, where every process runs that much
// slower. Tests stretch waits for work the sanitized code does (and shrink
// loads they offer) by it; requirements the product states keep their own
// bound. Shared by the API and integration tests.
#pragma once

#include <chrono>
#include <cstdint>
#include <cstdlib>

namespace vigil::test {

inline double TimeScale() {
  const char* e = std::getenv("VIGIL_TEST_TIME_SCALE");
  const double v = e ? std::atof(e) : 1.0;
  return v > 1.0 ? v : 1.0;
}

inline std::chrono::milliseconds Scaled(std::chrono::milliseconds d) {
  return std::chrono::milliseconds(static_cast<int64_t>(static_cast<double>(d.count()) * TimeScale()));
}

}  // namespace vigil::test
