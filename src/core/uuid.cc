#include "core/uuid.h"

#include <sys/random.h>

#include <array>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <vector>

namespace vigil {
namespace {

void FillRandom(uint8_t* out, size_t n) {
  size_t done = 0;
  while (done < n) {
    ssize_t r = getrandom(out + done, n - done, 0);
    if (r < 0) {
      if (errno == EINTR) continue;
      // getrandom cannot fail on Linux >= 3.17 once the pool is seeded; this
      // is an impossible state, not an expected error.
      throw std::runtime_error("getrandom failed");
    }
    done += static_cast<size_t>(r);
  }
}

constexpr char kHex[] = "0123456789abcdef";

}  // namespace

std::string NewUuid() {
  std::array<uint8_t, 16> b{};
  FillRandom(b.data(), b.size());
  b[6] = static_cast<uint8_t>((b[6] & 0x0F) | 0x40);
  b[8] = static_cast<uint8_t>((b[8] & 0x3F) | 0x80);
  std::string out;
  out.reserve(36);
  for (size_t i = 0; i < b.size(); ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out.push_back('-');
    out.push_back(kHex[b[i] >> 4]);
    out.push_back(kHex[b[i] & 0xF]);
  }
  return out;
}

std::string NewTimeOrderedUuid(int64_t unix_ms) {
  std::string id = NewUuid();
  const auto ms = static_cast<uint64_t>(unix_ms) & 0xffffffffffffULL;
  for (int i = 0; i < 12; ++i) {
    const char h = kHex[(ms >> (44 - 4 * i)) & 0xF];
    id[static_cast<size_t>(i < 8 ? i : i + 1)] = h;  // skip the dash at 8
  }
  id[14] = '7';
  return id;
}

bool IsUuid(std::string_view s) {
  if (s.size() != 36) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (c != '-') return false;
    } else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'))) {
      return false;
    }
  }
  return true;
}

std::string RandomHex(size_t n) {
  std::vector<uint8_t> b(n);
  FillRandom(b.data(), n);
  std::string out;
  out.reserve(n * 2);
  for (uint8_t v : b) {
    out.push_back(kHex[v >> 4]);
    out.push_back(kHex[v & 0xF]);
  }
  return out;
}

}  // namespace vigil
