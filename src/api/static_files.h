// Serves the dashboard's static files from one root directory.
//
// Request paths are resolved segment by segment: "..", ".", empty segments,
// backslashes and NUL bytes are refused, and the canonical result must stay
// under the canonical root (so a symlink cannot lead out either). "/" and
// directories serve their index.html.
//
// Thread-safety: immutable after construction; Serve is safe concurrently.
#pragma once

#include <string>

#include "api/http_types.h"

namespace vigil::api {

class StaticFiles {
 public:
  // `root` may not exist (then every request is 404 with a hint).
  explicit StaticFiles(std::string root);

  // GET/HEAD of `req.path`: 200 with the file, or 404.
  Response Serve(const Request& req) const;
  const std::string& root() const { return root_; }

  // "text/html; charset=utf-8" etc. by extension; application/octet-stream otherwise.
  static std::string ContentTypeFor(const std::string& path);

 private:
  std::string root_;  // canonical, or "" when missing
};

// The web directory: $VIGIL_WEB_DIR, else <dir of the executable>/web,
// else the source tree's web/ (compiled in). "" when none exists.
std::string FindWebDir();

}  // namespace vigil::api
