#include "api/router.h"

#include <cassert>

namespace vigil::api {

std::vector<std::string> Router::Split(const std::string& path) {
  std::vector<std::string> out;
  size_t pos = 0;
  while (pos < path.size()) {
    if (path[pos] == '/') {
      ++pos;
      continue;
    }
    size_t next = path.find('/', pos);
    if (next == std::string::npos) next = path.size();
    out.push_back(path.substr(pos, next - pos));
    pos = next;
  }
  // "/a/b/" and "/a/b" are different resources only by accident; treat them alike
  // except that an empty trailing segment never matches a {param}.
  return out;
}

void Router::Add(const std::string& method, const std::string& pattern, Handler handler) {
  for ([[maybe_unused]] const auto& r : routes_) assert(!(r.method == method && r.pattern == pattern));
  routes_.push_back(Route{method, pattern, Split(pattern), std::move(handler)});
}

bool Router::MatchSegments(const Route& r, const std::vector<std::string>& segs,
                           std::map<std::string, std::string>* params) {
  if (r.segments.size() != segs.size()) return false;
  for (size_t i = 0; i < segs.size(); ++i) {
    const std::string& p = r.segments[i];
    if (p.size() > 2 && p.front() == '{' && p.back() == '}') {
      if (segs[i].empty()) return false;
      (*params)[p.substr(1, p.size() - 2)] = segs[i];
    } else if (p != segs[i]) {
      return false;
    }
  }
  return true;
}

Router::Match Router::Find(const std::string& method, const std::string& path) const {
  Match m;
  auto segs = Split(path);
  std::vector<std::string> allowed;
  for (const auto& r : routes_) {
    std::map<std::string, std::string> params;
    if (!MatchSegments(r, segs, &params)) continue;
    if (r.method == method || (method == "HEAD" && r.method == "GET")) {
      m.status = 200;
      m.handler = &r.handler;
      m.pattern = r.pattern;
      m.params = std::move(params);
      return m;
    }
    allowed.push_back(r.method);
    if (m.pattern.empty()) m.pattern = r.pattern;
  }
  if (!allowed.empty()) {
    m.status = 405;
    for (size_t i = 0; i < allowed.size(); ++i) m.allow += (i ? ", " : "") + allowed[i];
  }
  return m;
}

std::vector<std::pair<std::string, std::string>> Router::Routes() const {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& r : routes_) out.emplace_back(r.method, r.pattern);
  return out;
}

}  // namespace vigil::api
