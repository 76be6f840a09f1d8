// Authentication of REST, dashboard and worker requests.
//
// * Admin: `Authorization: Bearer <API_ADMIN_TOKEN>` or the `vigil_session`
//   cookie issued by POST /api/v1/session. The cookie value is
//   "<expiry unix ms>.<hex HMAC(expiry)>" keyed by a hash of the admin token,
//   so it needs no server-side state, survives restarts and works across
//   replicas; changing the admin token invalidates every session.
// * Worker: `Authorization: Bearer <WORKER_API_KEY>` on /ws/worker.
// Comparisons are constant-time (libsodium) over fixed-size digests, so
// neither the content nor the length of a secret leaks through timing.
//
// Thread-safety: Authenticator is immutable after construction; safe to share.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "api/http_types.h"
#include "core/status.h"

namespace vigil::api {

inline constexpr const char* kSessionCookie = "vigil_session";
inline constexpr int64_t kSessionLifetimeMs = 7LL * 24 * 3600 * 1000;

// Constant-time equality of two secrets of any length.
bool SecretEquals(std::string_view a, std::string_view b);

// The token of an "Authorization: Bearer <token>" header, if any.
std::optional<std::string> BearerToken(const Request& req);
// The value of cookie `name` in the Cookie header, if any.
std::optional<std::string> CookieValue(const Request& req, std::string_view name);

class Authenticator {
 public:
  Authenticator(std::string admin_token, std::string worker_key);

  // Bearer admin token or a valid, unexpired session cookie.
  bool IsAdmin(const Request& req, int64_t now_unix_ms) const;
  bool IsWorker(const Request& req) const;
  bool CheckAdminToken(std::string_view token) const;

  // A new session cookie value valid until now + kSessionLifetimeMs.
  std::string IssueSession(int64_t now_unix_ms) const;
  bool CheckSession(std::string_view value, int64_t now_unix_ms) const;

  // Set-Cookie header values.
  static std::string SessionCookieHeader(const std::string& value, bool secure);
  static std::string ClearSessionCookieHeader(bool secure);

 private:
  std::string Mac(std::string_view message) const;  // hex

  std::string admin_token_;
  std::string worker_key_;
  std::string session_key_;  // 32 bytes derived from the admin token
};

// Returns the configured secret when non-empty; otherwise reads `path`, or
// creates it (mode 0600, 32 random bytes as hex) when absent. `*created` tells
// the caller to print it once. Errors name the file.
Result<std::string> LoadOrCreateSecret(const std::string& path, const std::string& configured, bool* created);

}  // namespace vigil::api
