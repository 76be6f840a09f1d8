#include "api/beast_request.h"

#include <cctype>
#include <string_view>

namespace vigil::api {

Request ToApiRequest(const boost::beast::http::request<boost::beast::http::string_body>& req, std::string remote) {
  Request r;
  r.method = std::string(req.method_string());
  const auto raw_target = req.target();
  const std::string_view target(raw_target.data(), raw_target.size());
  const size_t q = target.find('?');
  std::string_view path = target.substr(0, q);
  if (!PercentDecode(path, false, &r.path)) r.path = "/\x01invalid";  // matches no route and no file
  if (q != std::string_view::npos) r.query = ParseQuery(target.substr(q + 1), &r.malformed_query);
  for (const auto& f : req) {
    std::string name(f.name_string());
    for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    auto [it, inserted] = r.headers.emplace(name, std::string(f.value()));
    if (!inserted) it->second += (name == "cookie" ? "; " : ", ") + std::string(f.value());
  }
  r.body = req.body();
  r.remote = std::move(remote);
  return r;
}

}  // namespace vigil::api
