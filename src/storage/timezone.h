// UTC offsets of IANA time zones, read from the system's compiled zoneinfo
// (TZif files under /usr/share/zoneinfo or $TZDIR). Used by reports to put
// visits into the site's local hours and days; GCC 12 has no std::chrono tzdb.
//
// Thread-safety: TimeZoneCache is safe for concurrent use (internal mutex).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "core/status.h"

namespace vigil::storage {

// One zone's transitions: from `at` (unix seconds) on, the offset is `offset_s`.
class TimeZone {
 public:
  // "UTC", "Etc/UTC", "" -> UTC; "+02:00"/"-0530" -> a fixed offset; anything
  // else is looked up as an IANA name. NotFound when no such zone file exists.
  static Result<TimeZone> Load(const std::string& name);
  static TimeZone Utc() { return TimeZone(); }

  // Offset from UTC in seconds at the instant `unix_ms`.
  int64_t OffsetSeconds(int64_t unix_ms) const;

 private:
  struct Transition {
    int64_t at;
    int64_t offset_s;
  };
  std::vector<Transition> transitions_;  // sorted by `at`
  // Before the first transition. After the last one the last offset holds:
  // Debian ships "fat" TZif files with explicit transitions up to 2037; the
  // POSIX rule in the footer (needed past that, or for "slim" files) is not
  // interpreted.
  int64_t initial_offset_s_ = 0;
};

// Loads each zone once; unknown names fall back to UTC (reported by `known`).
class TimeZoneCache {
 public:
  const TimeZone& Get(const std::string& name, bool* known = nullptr);

 private:
  std::mutex mu_;
  std::map<std::string, std::unique_ptr<TimeZone>> zones_;
  std::map<std::string, bool> known_;
};

}  // namespace vigil::storage
