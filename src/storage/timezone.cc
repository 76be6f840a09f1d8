#include "storage/timezone.h"

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <iterator>

namespace vigil::storage {
namespace {

int64_t ReadBigEndian(const std::string& b, size_t pos, int bytes) {
  uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) v = (v << 8) | static_cast<uint8_t>(b[pos + static_cast<size_t>(i)]);
  if (bytes == 4) return static_cast<int32_t>(static_cast<uint32_t>(v));
  return static_cast<int64_t>(v);
}

// "+02:00", "-0530", "+2" -> seconds; false when not a fixed offset.
bool ParseFixedOffset(const std::string& s, int64_t* out) {
  if (s.size() < 2 || (s[0] != '+' && s[0] != '-')) return false;
  std::string digits;
  for (size_t i = 1; i < s.size(); ++i) {
    if (s[i] == ':') continue;
    if (s[i] < '0' || s[i] > '9') return false;
    digits += s[i];
  }
  int64_t h = 0, m = 0;
  if (digits.size() <= 2) {
    h = std::atoi(digits.c_str());
  } else if (digits.size() == 4) {
    h = std::atoi(digits.substr(0, 2).c_str());
    m = std::atoi(digits.substr(2).c_str());
  } else {
    return false;
  }
  if (h > 14 || m > 59) return false;
  *out = (s[0] == '-' ? -1 : 1) * (h * 3600 + m * 60);
  return true;
}

bool SafeZoneName(const std::string& name) {
  if (name.empty() || name.size() > 64 || name[0] == '/') return false;
  if (name.find("..") != std::string::npos) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '/' || c == '_' ||
           c == '-' || c == '+';
  });
}

}  // namespace

Result<TimeZone> TimeZone::Load(const std::string& name) {
  TimeZone tz;
  if (name.empty() || name == "UTC" || name == "Etc/UTC" || name == "Z" || name == "GMT") return tz;
  int64_t fixed = 0;
  if (ParseFixedOffset(name, &fixed)) {
    tz.initial_offset_s_ = fixed;
    return tz;
  }
  if (!SafeZoneName(name)) return InvalidArgument("not a time zone name: " + name);
  const char* dir = std::getenv("TZDIR");
  std::string path = std::string(dir && *dir ? dir : "/usr/share/zoneinfo") + "/" + name;
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFound("unknown time zone " + name);
  std::string b((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto bad = [&] { return DataLoss("malformed zone file " + path); };
  if (b.size() < 44 || b.compare(0, 4, "TZif") != 0) return bad();

  // Parses one header + data block starting at `pos` with `tbytes`-byte times.
  auto parse_block = [&](size_t pos, int tbytes, size_t* end) -> Status {
    if (b.size() < pos + 44) return bad();
    const int64_t isutcnt = ReadBigEndian(b, pos + 20, 4), isstdcnt = ReadBigEndian(b, pos + 24, 4),
                  leapcnt = ReadBigEndian(b, pos + 28, 4), timecnt = ReadBigEndian(b, pos + 32, 4),
                  typecnt = ReadBigEndian(b, pos + 36, 4), charcnt = ReadBigEndian(b, pos + 40, 4);
    if (isutcnt < 0 || isstdcnt < 0 || leapcnt < 0 || timecnt < 0 || typecnt <= 0 || charcnt < 0) return bad();
    size_t p = pos + 44;
    const size_t times_at = p;
    const size_t idx_at = times_at + static_cast<size_t>(timecnt) * static_cast<size_t>(tbytes);
    const size_t types_at = idx_at + static_cast<size_t>(timecnt);
    const size_t after = types_at + static_cast<size_t>(typecnt) * 6 + static_cast<size_t>(charcnt) +
                         static_cast<size_t>(leapcnt) * static_cast<size_t>(tbytes + 4) +
                         static_cast<size_t>(isstdcnt) + static_cast<size_t>(isutcnt);
    if (b.size() < after) return bad();
    std::vector<int64_t> offsets;
    for (int64_t i = 0; i < typecnt; ++i) offsets.push_back(ReadBigEndian(b, types_at + static_cast<size_t>(i) * 6, 4));
    tz.transitions_.clear();
    for (int64_t i = 0; i < timecnt; ++i) {
      const int64_t at = ReadBigEndian(b, times_at + static_cast<size_t>(i) * static_cast<size_t>(tbytes), tbytes);
      const auto type = static_cast<uint8_t>(b[idx_at + static_cast<size_t>(i)]);
      if (type >= offsets.size()) return bad();
      tz.transitions_.push_back({at, offsets[type]});
    }
    // RFC 8536: local time before the first transition uses type 0.
    tz.initial_offset_s_ = offsets[0];
    *end = after;
    return Status::Ok();
  };

  size_t end = 0;
  VIGIL_RETURN_IF_ERROR(parse_block(0, 4, &end));
  if (b[4] >= '2') VIGIL_RETURN_IF_ERROR(parse_block(end, 8, &end));
  std::sort(tz.transitions_.begin(), tz.transitions_.end(),
            [](const Transition& x, const Transition& y) { return x.at < y.at; });
  return tz;
}

int64_t TimeZone::OffsetSeconds(int64_t unix_ms) const {
  const int64_t s = unix_ms >= 0 ? unix_ms / 1000 : -((-unix_ms + 999) / 1000);
  auto it = std::upper_bound(transitions_.begin(), transitions_.end(), s,
                             [](int64_t v, const Transition& t) { return v < t.at; });
  if (it == transitions_.begin()) return initial_offset_s_;
  return std::prev(it)->offset_s;
}

const TimeZone& TimeZoneCache::Get(const std::string& name, bool* known) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = zones_.find(name);
  if (it == zones_.end()) {
    auto loaded = TimeZone::Load(name);
    known_[name] = loaded.ok();
    it = zones_.emplace(name, std::make_unique<TimeZone>(loaded.ok() ? *loaded : TimeZone::Utc())).first;
  }
  if (known) *known = known_[name];
  return *it->second;
}

}  // namespace vigil::storage
