#include "api/http_types.h"

namespace vigil::api {

namespace {
const std::string kEmpty;
}  // namespace

const std::string& Request::Header(const std::string& lower_name) const {
  auto it = headers.find(lower_name);
  return it == headers.end() ? kEmpty : it->second;
}

std::optional<std::string> Request::Query(const std::string& name) const {
  auto it = query.find(name);
  if (it == query.end()) return std::nullopt;
  return it->second;
}

const std::string& Request::Param(const std::string& name) const {
  auto it = params.find(name);
  return it == params.end() ? kEmpty : it->second;
}

Response JsonResponse(int status, const Json& body) {
  Response r;
  r.status = status;
  r.body = DumpJson(body);
  return r;
}

Response ErrorResponse(int status, const std::string& code, const std::string& message) {
  return JsonResponse(status, Json{{"error", Json{{"code", code}, {"message", message}}}});
}

int HttpStatusFor(StatusCode code) {
  switch (code) {
    case StatusCode::kOk: return 200;
    case StatusCode::kInvalidArgument: return 400;
    case StatusCode::kNotFound: return 404;
    case StatusCode::kAlreadyExists: return 409;
    case StatusCode::kFailedPrecondition: return 409;
    case StatusCode::kPermissionDenied: return 401;
    case StatusCode::kResourceExhausted: return 429;
    case StatusCode::kUnavailable: return 503;
    case StatusCode::kDeadlineExceeded: return 504;
    case StatusCode::kUnimplemented: return 501;
    case StatusCode::kCancelled: return 503;
    case StatusCode::kDataLoss:
    case StatusCode::kInternal: return 500;
  }
  return 500;
}

Response StatusResponse(const Status& status) {
  std::string code;
  switch (status.code()) {
    case StatusCode::kInvalidArgument: code = "bad_request"; break;
    case StatusCode::kNotFound: code = "not_found"; break;
    case StatusCode::kAlreadyExists: code = "conflict"; break;
    case StatusCode::kFailedPrecondition: code = "failed_precondition"; break;
    case StatusCode::kPermissionDenied: code = "unauthorized"; break;
    case StatusCode::kResourceExhausted: code = "resource_exhausted"; break;
    case StatusCode::kUnavailable: code = "unavailable"; break;
    case StatusCode::kDeadlineExceeded: code = "timeout"; break;
    case StatusCode::kUnimplemented: code = "not_implemented"; break;
    default: code = "internal"; break;
  }
  int http = HttpStatusFor(status.code());
  // Internal details are not for clients; the caller logs them.
  std::string message = http >= 500 && status.code() != StatusCode::kUnavailable ? "internal error" : status.message();
  return ErrorResponse(http, code, message);
}

bool PercentDecode(std::string_view in, bool plus_is_space, std::string* out) {
  out->clear();
  out->reserve(in.size());
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  for (size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    if (c == '%') {
      if (i + 2 >= in.size()) return false;
      int hi = hex(in[i + 1]);
      int lo = hex(in[i + 2]);
      if (hi < 0 || lo < 0) return false;
      out->push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else if (c == '+' && plus_is_space) {
      out->push_back(' ');
    } else {
      out->push_back(c);
    }
  }
  return true;
}

std::map<std::string, std::string> ParseQuery(std::string_view query, bool* malformed) {
  std::map<std::string, std::string> out;
  size_t pos = 0;
  while (pos <= query.size()) {
    size_t amp = query.find('&', pos);
    if (amp == std::string_view::npos) amp = query.size();
    std::string_view part = query.substr(pos, amp - pos);
    if (!part.empty()) {
      size_t eq = part.find('=');
      std::string key, value;
      bool ok = PercentDecode(part.substr(0, eq), true, &key);
      if (eq != std::string_view::npos) ok = ok && PercentDecode(part.substr(eq + 1), true, &value);
      if (!ok && malformed) *malformed = true;
      if (ok && !key.empty()) out[key] = value;
    }
    pos = amp + 1;
  }
  return out;
}

Result<Json> ParseJsonBody(const Request& req) {
  if (req.body.empty()) return InvalidArgument("request body must be a JSON object");
  auto j = ParseJsonObject(req.body);
  if (!j.ok()) return InvalidArgument("malformed JSON body: " + j.status().message());
  return j;
}

}  // namespace vigil::api
