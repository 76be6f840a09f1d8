// Method + path-pattern routing. Patterns are literal segments and `{name}`
// segments that match one non-empty path segment ("/api/v1/cameras/{id}").
// A path that matches some pattern but not with this method gives 405 and
// the Allow list; a path that matches nothing gives 404.
//
// Thread-safety: build the table (Add) before serving; Find is then safe to
// call concurrently.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "api/http_types.h"

namespace vigil::api {

using Handler = std::function<Response(const Request&)>;

class Router {
 public:
  // Registers `handler` for `method` on `pattern`. Registering the same
  // method and pattern twice is a programming error (asserts).
  void Add(const std::string& method, const std::string& pattern, Handler handler);

  struct Match {
    int status = 404;                            // 200 when a handler matched, else 404 or 405
    const Handler* handler = nullptr;            // valid while the router lives
    std::string pattern;                         // matched pattern (metrics label); "" when 404
    std::map<std::string, std::string> params;   // {name} values
    std::string allow;                           // for 405: "GET, POST"
  };
  Match Find(const std::string& method, const std::string& path) const;

  // Every registered (method, pattern), in registration order.
  std::vector<std::pair<std::string, std::string>> Routes() const;

 private:
  struct Route {
    std::string method;
    std::string pattern;
    std::vector<std::string> segments;  // "{id}" kept as is
    Handler handler;
  };
  static std::vector<std::string> Split(const std::string& path);
  static bool MatchSegments(const Route& r, const std::vector<std::string>& segs,
                            std::map<std::string, std::string>* params);

  std::vector<Route> routes_;
};

}  // namespace vigil::api
