#include "api/static_files.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <system_error>

namespace vigil::api {

namespace fs = std::filesystem;

StaticFiles::StaticFiles(std::string root) {
  std::error_code ec;
  fs::path p = fs::canonical(root, ec);
  if (!ec && fs::is_directory(p, ec)) root_ = p.string();
}

std::string StaticFiles::ContentTypeFor(const std::string& path) {
  std::string ext = fs::path(path).extension().string();
  for (auto& c : ext) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (ext == ".html" || ext == ".htm") return "text/html; charset=utf-8";
  if (ext == ".js" || ext == ".mjs") return "text/javascript; charset=utf-8";
  if (ext == ".css") return "text/css; charset=utf-8";
  if (ext == ".json" || ext == ".map") return "application/json";
  if (ext == ".svg") return "image/svg+xml";
  if (ext == ".png") return "image/png";
  if (ext == ".jpg" || ext == ".jpeg") return "image/jpeg";
  if (ext == ".gif") return "image/gif";
  if (ext == ".webp") return "image/webp";
  if (ext == ".ico") return "image/x-icon";
  if (ext == ".woff2") return "font/woff2";
  if (ext == ".woff") return "font/woff";
  if (ext == ".txt") return "text/plain; charset=utf-8";
  if (ext == ".webmanifest") return "application/manifest+json";
  return "application/octet-stream";
}

Response StaticFiles::Serve(const Request& req) const {
  if (root_.empty()) return ErrorResponse(404, "not_found", "dashboard files not found (set VIGIL_WEB_DIR)");
  const std::string& path = req.path;
  if (path.empty() || path[0] != '/') return ErrorResponse(404, "not_found", "no such file");
  fs::path rel;
  size_t pos = 1;
  while (pos <= path.size()) {
    size_t next = path.find('/', pos);
    if (next == std::string::npos) next = path.size();
    std::string seg = path.substr(pos, next - pos);
    if (seg.empty()) {
      if (next != path.size()) return ErrorResponse(404, "not_found", "no such file");  // "//"
    } else {
      if (seg == "." || seg == ".." || seg.find('\\') != std::string::npos || seg.find('\0') != std::string::npos ||
          seg[0] == '.') {
        return ErrorResponse(404, "not_found", "no such file");
      }
      rel /= seg;
    }
    pos = next + 1;
  }
  std::error_code ec;
  fs::path full = fs::path(root_) / rel;
  if (fs::is_directory(full, ec)) full /= "index.html";
  fs::path canon = fs::canonical(full, ec);
  if (ec || !fs::is_regular_file(canon, ec)) return ErrorResponse(404, "not_found", "no such file");
  std::string cs = canon.string();
  if (cs.compare(0, root_.size(), root_) != 0 || (cs.size() > root_.size() && cs[root_.size()] != '/')) {
    return ErrorResponse(404, "not_found", "no such file");
  }
  std::ifstream in(canon, std::ios::binary);
  if (!in) return ErrorResponse(404, "not_found", "no such file");
  std::ostringstream ss;
  ss << in.rdbuf();
  Response r;
  r.status = 200;
  r.content_type = ContentTypeFor(cs);
  r.body = ss.str();
  r.headers.emplace_back("Cache-Control", "no-cache");
  r.headers.emplace_back("X-Content-Type-Options", "nosniff");
  return r;
}

std::string FindWebDir() {
  std::error_code ec;
  if (const char* env = std::getenv("VIGIL_WEB_DIR"); env && *env) {
    return fs::is_directory(env, ec) ? std::string(env) : std::string();
  }
  fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    for (fs::path cand : {exe.parent_path() / "web", exe.parent_path() / ".." / "share" / "vigil" / "web"}) {
      if (fs::is_directory(cand, ec)) return cand.string();
    }
  }
#ifdef VIGIL_DEFAULT_WEB_DIR
  if (fs::is_directory(VIGIL_DEFAULT_WEB_DIR, ec)) return VIGIL_DEFAULT_WEB_DIR;
#endif
  return "";
}

}  // namespace vigil::api
