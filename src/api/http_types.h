// Transport-free HTTP request/response values. The Beast sessions translate
// wire messages into these and back, so routing, auth and every handler are
// plain functions that unit tests call without sockets.
//
// Thread-safety: plain values.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/json_util.h"
#include "core/status.h"

namespace vigil::api {

struct Request {
  std::string method;                          // "GET", "POST", ...
  std::string path;                            // percent-decoded, without the query
  std::map<std::string, std::string> query;    // decoded query parameters (last one wins)
  bool malformed_query = false;                // a query part had a bad percent-escape (answered 400)
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
  std::map<std::string, std::string> params;   // filled by the router from {name} segments
  std::string remote;                          // peer address, for logs

  // Header value or "" (name in lower case).
  const std::string& Header(const std::string& lower_name) const;
  // Query parameter or nullopt.
  std::optional<std::string> Query(const std::string& name) const;
  // Path parameter (always present when the route matched).
  const std::string& Param(const std::string& name) const;
};

struct Response {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // extra headers (Allow, Set-Cookie, ...)
};

// 200/201 JSON bodies.
Response JsonResponse(int status, const Json& body);
// {"error":{"code":code,"message":message}}.
Response ErrorResponse(int status, const std::string& code, const std::string& message);
// Maps a non-OK Status to a fitting 4xx/5xx error response.
Response StatusResponse(const Status& status);
// HTTP status for a StatusCode (400, 404, 409, ...).
int HttpStatusFor(StatusCode code);

// Parses "a=1&b=x%20y" (and '+' as space). A part with a malformed
// percent-escape is left out and sets *malformed (when given), so the caller
// can refuse the request instead of acting on a silently narrowed filter.
std::map<std::string, std::string> ParseQuery(std::string_view query, bool* malformed = nullptr);
// Percent-decodes; false on a malformed escape. `plus_is_space` for query strings.
bool PercentDecode(std::string_view in, bool plus_is_space, std::string* out);

// Parses the request body as a JSON object; InvalidArgument with a clear
// message when it is empty, malformed or not an object.
Result<Json> ParseJsonBody(const Request& req);

}  // namespace vigil::api

// In a handler returning Response: declares `lhs` from a Result or returns
// the error as a JSON response.
#define VIGIL_ASSIGN_OR_RETURN_RESPONSE(lhs, expr) \
  VIGIL_ASSIGN_OR_RETURN_RESPONSE_IMPL(VIGIL_CONCAT(_vigil_rres_, __LINE__), lhs, expr)
#define VIGIL_ASSIGN_OR_RETURN_RESPONSE_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                                         \
  if (!tmp.ok()) return ::vigil::api::StatusResponse(tmp.status()); \
  lhs = std::move(tmp).value()
