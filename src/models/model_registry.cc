#include "models/model_registry.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>

namespace vigil::models {

namespace fs = std::filesystem;

namespace {

constexpr int kManifestVersion = 1;
constexpr const char* kManifestName = "manifest.json";

std::string ToHex(const unsigned char* data, size_t n) {
  static const char* kDigits = "0123456789abcdef";
  std::string out;
  out.reserve(n * 2);
  for (size_t i = 0; i < n; ++i) {
    out.push_back(kDigits[data[i] >> 4]);
    out.push_back(kDigits[data[i] & 0xf]);
  }
  return out;
}

// Writes `text` to `path` so that a crash leaves either the old or the new
// file, never a torn one: temporary file in the same directory, fsync, rename,
// then fsync of the directory so the rename itself is durable.
Status WriteFileAtomic(const std::string& path, const std::string& text) {
  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return Internal("cannot create " + tmp + ": " + std::strerror(errno));
  size_t done = 0;
  while (done < text.size()) {
    ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      std::string err = std::strerror(errno);
      ::close(fd);
      ::unlink(tmp.c_str());
      return Internal("cannot write " + tmp + ": " + err);
    }
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    std::string err = std::strerror(errno);
    ::unlink(tmp.c_str());
    return Internal("cannot flush " + tmp + ": " + err);
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    std::string err = std::strerror(errno);
    ::unlink(tmp.c_str());
    return Internal("cannot rename " + tmp + " to " + path + ": " + err);
  }
  std::string dir = fs::path(path).parent_path().string();
  if (dir.empty()) dir = ".";
  int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    (void)::fsync(dfd);  // best effort: some filesystems refuse fsync on directories
    ::close(dfd);
  }
  return Status::Ok();
}

}  // namespace

Json ModelInfoToJson(const ModelInfo& m) {
  return Json{{"id", m.id},
              {"kind", m.kind},
              {"role", m.role},
              {"file", m.file},
              {"sha256", m.sha256},
              {"input_width", m.input_width},
              {"input_height", m.input_height},
              {"output_dim", m.output_dim},
              {"default_threshold", m.default_threshold},
              {"source", m.source}};
}

Result<ModelInfo> ModelInfoFromJson(const Json& j) {
  if (!j.is_object()) return InvalidArgument("model entry must be an object");
  ModelInfo m;
  VIGIL_ASSIGN_OR_RETURN(m.id, GetString(j, "id"));
  VIGIL_ASSIGN_OR_RETURN(m.kind, GetString(j, "kind"));
  VIGIL_ASSIGN_OR_RETURN(m.role, GetString(j, "role"));
  VIGIL_ASSIGN_OR_RETURN(m.file, GetString(j, "file"));
  VIGIL_ASSIGN_OR_RETURN(m.sha256, GetString(j, "sha256"));
  VIGIL_ASSIGN_OR_RETURN(auto w, GetInt(j, "input_width"));
  VIGIL_ASSIGN_OR_RETURN(auto h, GetInt(j, "input_height"));
  VIGIL_ASSIGN_OR_RETURN(auto d, GetInt(j, "output_dim"));
  VIGIL_ASSIGN_OR_RETURN(m.default_threshold, GetNumber(j, "default_threshold"));
  VIGIL_ASSIGN_OR_RETURN(auto src, GetOptString(j, "source"));
  m.input_width = static_cast<int>(w);
  m.input_height = static_cast<int>(h);
  m.output_dim = static_cast<int>(d);
  m.source = src.value_or("");
  if (m.id.empty()) return InvalidArgument("model id must not be empty");
  // The file must stay inside the models directory.
  if (m.file.empty() || m.file.find('/') != std::string::npos || m.file == "." || m.file == "..") {
    return InvalidArgument("model '" + m.id + "': file must be a plain file name, got '" + m.file + "'");
  }
  return m;
}

Result<ModelRegistry> ModelRegistry::Open(const std::string& dir) {
  ModelRegistry reg;
  reg.dir_ = dir;
  const fs::path manifest = fs::path(dir) / kManifestName;
  std::error_code ec;
  if (!fs::exists(manifest, ec)) return reg;  // nothing installed yet
  std::ifstream in(manifest, std::ios::binary);
  if (!in) return Internal("cannot read " + manifest.string());
  std::stringstream ss;
  ss << in.rdbuf();
  auto parsed = ParseJsonObject(ss.str());
  if (!parsed.ok()) return DataLoss(manifest.string() + " is corrupt: " + parsed.status().message());
  const Json& j = *parsed;
  auto version = GetInt(j, "version");
  if (!version.ok()) return DataLoss(manifest.string() + " is corrupt: " + version.status().message());
  if (*version != kManifestVersion) {
    return DataLoss(manifest.string() + ": unsupported manifest version " + std::to_string(*version));
  }
  auto it = j.find("models");
  if (it == j.end() || !it->is_array()) return DataLoss(manifest.string() + " is corrupt: 'models' must be an array");
  for (const auto& e : *it) {
    auto m = ModelInfoFromJson(e);
    if (!m.ok()) return DataLoss(manifest.string() + " is corrupt: " + m.status().message());
    reg.models_.push_back(std::move(*m));
  }
  return reg;
}

std::optional<ModelInfo> ModelRegistry::FindById(const std::string& id) const {
  for (const auto& m : models_) {
    if (m.id == id) return m;
  }
  return std::nullopt;
}

std::optional<ModelInfo> ModelRegistry::FindByKind(const std::string& kind) const {
  for (const auto& m : models_) {
    if (m.kind == kind) return m;
  }
  return std::nullopt;
}

std::string ModelRegistry::PathOf(const ModelInfo& m) const {
  std::error_code ec;
  fs::path p = fs::absolute(fs::path(dir_) / m.file, ec);
  if (ec) p = fs::path(dir_) / m.file;
  return p.lexically_normal().string();
}

Status ModelRegistry::Verify(const ModelInfo& m) const {
  const std::string path = PathOf(m);
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) return NotFound("model '" + m.id + "': file " + path + " is missing");
  VIGIL_ASSIGN_OR_RETURN(auto sum, Sha256File(path));
  if (sum != m.sha256) {
    return DataLoss("model '" + m.id + "': checksum mismatch for " + path + " (expected " + m.sha256 + ", got " + sum +
                    "); reinstall it");
  }
  return Status::Ok();
}

Status ModelRegistry::Upsert(const ModelInfo& m) {
  if (m.id.empty()) return InvalidArgument("model id must not be empty");
  bool replaced = false;
  std::vector<ModelInfo> next = models_;
  for (auto& e : next) {
    if (e.id == m.id) {
      e = m;
      replaced = true;
    }
  }
  if (!replaced) next.push_back(m);
  Json arr = Json::array();
  for (const auto& e : next) arr.push_back(ModelInfoToJson(e));
  Json doc{{"version", kManifestVersion}, {"models", arr}};
  std::error_code ec;
  fs::create_directories(dir_, ec);
  if (ec) return Internal("cannot create models directory " + dir_ + ": " + ec.message());
  VIGIL_RETURN_IF_ERROR(WriteFileAtomic((fs::path(dir_) / kManifestName).string(), DumpJson(doc, 2) + "\n"));
  models_ = std::move(next);
  return Status::Ok();
}

Result<std::string> Sha256File(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) return NotFound("cannot open " + path + ": " + std::strerror(errno));
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> closer(f, &std::fclose);
  std::unique_ptr<EVP_MD_CTX, void (*)(EVP_MD_CTX*)> ctx(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
  if (!ctx || EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr) != 1) return Internal("sha256 init failed");
  std::vector<unsigned char> buf(1 << 16);
  while (true) {
    size_t n = std::fread(buf.data(), 1, buf.size(), f);
    if (n > 0 && EVP_DigestUpdate(ctx.get(), buf.data(), n) != 1) return Internal("sha256 update failed");
    if (n < buf.size()) {
      if (std::ferror(f)) return Internal("read error on " + path);
      break;
    }
  }
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_DigestFinal_ex(ctx.get(), md, &len) != 1) return Internal("sha256 final failed");
  return ToHex(md, len);
}

}  // namespace vigil::models
