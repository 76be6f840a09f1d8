#include "api/auth.h"

#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "core/uuid.h"

namespace vigil::api {

namespace {

using Digest = std::array<unsigned char, crypto_generichash_BYTES>;

Digest Hash(std::string_view s, std::string_view key = {}) {
  Digest d{};
  crypto_generichash(d.data(), d.size(), reinterpret_cast<const unsigned char*>(s.data()), s.size(),
                     key.empty() ? nullptr : reinterpret_cast<const unsigned char*>(key.data()), key.size());
  return d;
}

std::string ToHex(const unsigned char* p, size_t n) {
  static const char* kHex = "0123456789abcdef";
  std::string out(n * 2, '0');
  for (size_t i = 0; i < n; ++i) {
    out[2 * i] = kHex[p[i] >> 4];
    out[2 * i + 1] = kHex[p[i] & 15];
  }
  return out;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n')) s.remove_suffix(1);
  return s;
}

}  // namespace

bool SecretEquals(std::string_view a, std::string_view b) {
  if (sodium_init() < 0) return false;
  Digest da = Hash(a), db = Hash(b);
  return sodium_memcmp(da.data(), db.data(), da.size()) == 0;
}

std::optional<std::string> BearerToken(const Request& req) {
  std::string_view h = Trim(req.Header("authorization"));
  constexpr std::string_view kPrefix = "bearer ";
  if (h.size() <= kPrefix.size()) return std::nullopt;
  for (size_t i = 0; i < kPrefix.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(h[i])) != kPrefix[i]) return std::nullopt;
  }
  std::string_view t = Trim(h.substr(kPrefix.size()));
  if (t.empty()) return std::nullopt;
  return std::string(t);
}

std::optional<std::string> CookieValue(const Request& req, std::string_view name) {
  std::string_view h = req.Header("cookie");
  size_t pos = 0;
  while (pos < h.size()) {
    size_t semi = h.find(';', pos);
    if (semi == std::string_view::npos) semi = h.size();
    std::string_view part = Trim(h.substr(pos, semi - pos));
    size_t eq = part.find('=');
    if (eq != std::string_view::npos && Trim(part.substr(0, eq)) == name) {
      std::string_view v = Trim(part.substr(eq + 1));
      if (v.size() >= 2 && v.front() == '"' && v.back() == '"') v = v.substr(1, v.size() - 2);
      return std::string(v);
    }
    pos = semi + 1;
  }
  return std::nullopt;
}

Authenticator::Authenticator(std::string admin_token, std::string worker_key)
    : admin_token_(std::move(admin_token)), worker_key_(std::move(worker_key)) {
  if (sodium_init() < 0) {
    // Hash() below then still works (generichash needs no init); comparisons fail closed.
  }
  Digest k = Hash(admin_token_, "vigil-session-key-v1");
  session_key_.assign(reinterpret_cast<const char*>(k.data()), k.size());
}

bool Authenticator::CheckAdminToken(std::string_view token) const {
  return !admin_token_.empty() && SecretEquals(token, admin_token_);
}

bool Authenticator::IsAdmin(const Request& req, int64_t now_unix_ms) const {
  if (auto t = BearerToken(req)) return CheckAdminToken(*t);
  if (auto c = CookieValue(req, kSessionCookie)) return CheckSession(*c, now_unix_ms);
  return false;
}

bool Authenticator::IsWorker(const Request& req) const {
  auto t = BearerToken(req);
  return t && !worker_key_.empty() && SecretEquals(*t, worker_key_);
}

std::string Authenticator::Mac(std::string_view message) const {
  Digest d = Hash(message, session_key_);
  return ToHex(d.data(), d.size());
}

std::string Authenticator::IssueSession(int64_t now_unix_ms) const {
  std::string expiry = std::to_string(now_unix_ms + kSessionLifetimeMs);
  return expiry + "." + Mac(expiry);
}

bool Authenticator::CheckSession(std::string_view value, int64_t now_unix_ms) const {
  size_t dot = value.find('.');
  if (dot == std::string_view::npos || dot == 0 || dot > 19) return false;
  std::string_view expiry = value.substr(0, dot);
  int64_t exp = 0;
  for (char c : expiry) {
    if (c < '0' || c > '9') return false;
    exp = exp * 10 + (c - '0');
  }
  // Compare the MAC before looking at the expiry so timing says nothing about either.
  bool mac_ok = SecretEquals(value.substr(dot + 1), Mac(expiry));
  return mac_ok && exp > now_unix_ms;
}

namespace {
std::string CookieHeader(const std::string& value, int64_t max_age_s, bool secure) {
  std::string out = kSessionCookie;
  out.append("=").append(value).append("; Path=/; Max-Age=").append(std::to_string(max_age_s));
  out.append("; HttpOnly; SameSite=Strict");
  if (secure) out.append("; Secure");
  return out;
}
}  // namespace

std::string Authenticator::SessionCookieHeader(const std::string& value, bool secure) {
  return CookieHeader(value, kSessionLifetimeMs / 1000, secure);
}

std::string Authenticator::ClearSessionCookieHeader(bool secure) { return CookieHeader("", 0, secure); }

Result<std::string> LoadOrCreateSecret(const std::string& path, const std::string& configured, bool* created) {
  *created = false;
  if (!configured.empty()) return configured;
  std::ifstream in(path);
  if (in) {
    std::stringstream ss;
    ss << in.rdbuf();
    std::string v(Trim(ss.str()));
    if (v.size() < 8) return FailedPrecondition(path + ": secret file is empty or too short; delete it to regenerate");
    return v;
  }
  std::string secret = RandomHex(32);
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0600);
  if (fd < 0) return Unavailable(path + ": cannot create secret file: " + std::strerror(errno));
  std::string line = secret + "\n";
  bool ok = ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size());
  ok = (::fsync(fd) == 0) && ok;
  ::close(fd);
  if (!ok) return Unavailable(path + ": cannot write secret file");
  *created = true;
  return secret;
}

}  // namespace vigil::api
