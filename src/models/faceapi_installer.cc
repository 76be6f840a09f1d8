#include "models/faceapi_installer.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>

#include "core/json_util.h"
#include "core/logging.h"
#include "models/faceapi_converter.h"
#include "models/faceapi_weights.h"
#include "models/model_registry.h"

extern char** environ;

namespace vigil::models {

namespace fs = std::filesystem;

namespace {

constexpr const char* kTarballName = "vladmandic-face-api-1.7.15.tgz";
constexpr const char* kExtractDir = "face-api-1.7.15";
constexpr int kSampleCount = 6;

struct NetSpec {
  const char* id;
  const char* kind;
  const char* role;
  const char* file;
  const char* weights;  // face-api weight manifest stem under package/model
  FaceApiNet net;
  int input;
  int output_dim;
  double threshold;
};

// Converted in priority order: the embedder and detector first.
const NetSpec kNets[] = {
    {kRecognitionId, "faceapi_recognition", "embedder", "faceapi_recognition128.onnx", "face_recognition_model",
     FaceApiNet::kRecognition128, kRecognitionInputSize, 128, kFaceApiRecognitionThreshold},
    {kSsdId, "ssd_mobilenetv1", "detector", "faceapi_ssd_mobilenetv1.onnx", "ssd_mobilenetv1_model",
     FaceApiNet::kSsdMobilenetV1, kSsdInputSize, 0, kSsdScoreThreshold},
    {kLandmarkId, "landmark68", "landmarks", "faceapi_landmark68.onnx", "face_landmark_68_model",
     FaceApiNet::kLandmark68, kLandmarkInputSize, 136, 0},
};
constexpr const char* kAnchorsFile = "faceapi_ssd_mobilenetv1_anchors.f32";

std::string Source() { return std::string("npm:") + kFaceApiPackage + "@" + kFaceApiVersion; }

void Say(const InstallOptions& o, const std::string& line) {
  if (o.progress) o.progress(line);
}

Status WriteFileAtomic(const fs::path& path, const std::string& bytes) {
  const fs::path tmp = path.string() + ".tmp." + std::to_string(::getpid());
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) return Internal("cannot create " + tmp.string());
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    out.flush();
    if (!out) return Internal("cannot write " + tmp.string() + " (disk full?)");
  }
  int fd = ::open(tmp.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd >= 0) {
    (void)::fsync(fd);
    ::close(fd);
  }
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) {
    const std::string why = ec.message();
    fs::remove(tmp, ec);
    return Internal("cannot move " + tmp.string() + " into place: " + why);
  }
  return Status::Ok();
}

bool SamplesPresent(const fs::path& dir) {
  for (int i = 1; i <= kSampleCount; ++i) {
    std::error_code ec;
    const fs::path p = dir / "samples" / ("sample" + std::to_string(i) + ".jpg");
    if (!fs::is_regular_file(p, ec) || fs::file_size(p, ec) == 0) return false;
  }
  return true;
}

// Every model of the package registered and matching its checksum.
bool AllVerified(const ModelRegistry& reg, std::vector<std::string>* ok_ids) {
  bool all = true;
  std::vector<std::string> ids;
  for (const auto& n : kNets) ids.emplace_back(n.id);
  ids.emplace_back(kSsdAnchorsId);
  for (const auto& id : ids) {
    auto m = reg.FindById(id);
    // An entry written by another version of this installer (other
    // threshold, sizes) is redone so the manifest always matches the code.
    bool current = m && m->source == Source();
    for (const auto& n : kNets) {
      if (current && id == n.id) {
        current = m->kind == n.kind && m->role == n.role && m->file == n.file && m->input_width == n.input &&
                  m->output_dim == n.output_dim && m->default_threshold == n.threshold;
      }
    }
    if (current && reg.Verify(*m).ok()) {
      ok_ids->push_back(id);
    } else {
      all = false;
    }
  }
  return all;
}

// The tarball to install from: --from, or the npm cache (fetched on demand),
// checked against the pinned integrity either way.
Result<std::string> ObtainTarball(const InstallOptions& o, const fs::path& cache) {
  std::string path = o.from_tarball;
  if (path.empty()) {
    path = (cache / kTarballName).string();
    std::error_code ec;
    bool cached = fs::exists(path, ec);
    if (cached) {
      auto integrity = NpmIntegrityOfFile(path);
      if (integrity.ok() && *integrity == kFaceApiIntegrity) {
        Say(o, "using cached " + path);
        return path;
      }
      Say(o, "cached tarball " + path + " does not verify; fetching again");
      fs::remove(path, ec);
    }
    Say(o, std::string("fetching ") + kFaceApiPackage + "@" + kFaceApiVersion + " with npm pack");
    auto rc = RunProgram({o.npm, "pack", std::string(kFaceApiPackage) + "@" + kFaceApiVersion, "--pack-destination",
                          cache.string(), "--loglevel=error"});
    if (!rc.ok()) return rc.status().WithContext("npm pack");
    if (*rc != 0 || !fs::exists(path, ec)) {
      return Unavailable("npm pack " + std::string(kFaceApiPackage) + "@" + kFaceApiVersion + " failed (exit " +
                         std::to_string(*rc) +
                         "); check network access to the npm registry, or download the tarball elsewhere and "
                         "pass --from FILE");
    }
  } else {
    std::error_code ec;
    if (!fs::is_regular_file(path, ec)) return NotFound("tarball " + path + " does not exist");
  }
  VIGIL_ASSIGN_OR_RETURN(auto integrity, NpmIntegrityOfFile(path));
  if (integrity != kFaceApiIntegrity) {
    return DataLoss("tarball " + path + " does not match the pinned integrity of " + kFaceApiPackage + "@" +
                    kFaceApiVersion + " (got " + integrity + "); refusing to install it");
  }
  Say(o, "tarball verified (sha512 matches the pinned integrity)");
  return path;
}

Status Extract(const InstallOptions& o, const std::string& tarball, const fs::path& dest) {
  std::error_code ec;
  fs::remove_all(dest, ec);  // a fresh copy; stale files must not mix in
  fs::create_directories(dest, ec);
  if (ec) return Internal("cannot create " + dest.string() + ": " + ec.message());
  std::vector<std::string> argv = {"tar", "-xzf", tarball, "-C", dest.string(), "--no-same-owner"};
  for (const auto& n : kNets) {
    argv.push_back(std::string("package/model/") + n.weights + "-weights_manifest.json");
    argv.push_back(std::string("package/model/") + n.weights + ".bin");
  }
  for (int i = 1; i <= kSampleCount; ++i) argv.push_back("package/demo/sample" + std::to_string(i) + ".jpg");
  Say(o, "extracting weights and demo photos");
  VIGIL_ASSIGN_OR_RETURN(int rc, RunProgram(argv));
  if (rc != 0)
    return DataLoss("tar could not extract the face-api files from " + tarball + " (exit " + std::to_string(rc) + ")");
  return Status::Ok();
}

}  // namespace

Result<int> RunProgram(const std::vector<std::string>& argv, const std::string& stdout_path) {
  if (argv.empty()) return InvalidArgument("no program to run");
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  const std::string out = stdout_path.empty() ? "/dev/null" : stdout_path;
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = 0;
  int err = posix_spawnp(&pid, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (err != 0) return Unavailable("cannot run " + argv[0] + ": " + std::strerror(err));
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return Internal("waitpid failed: " + std::string(std::strerror(errno)));
  }
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  return Internal(argv[0] + " was killed by signal " + std::to_string(WTERMSIG(status)));
}

Result<std::string> NpmIntegrityOfFile(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) return NotFound("cannot open " + path + ": " + std::strerror(errno));
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> closer(f, &std::fclose);
  std::unique_ptr<EVP_MD_CTX, void (*)(EVP_MD_CTX*)> ctx(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
  if (!ctx || EVP_DigestInit_ex(ctx.get(), EVP_sha512(), nullptr) != 1) return Internal("sha512 init failed");
  std::vector<unsigned char> buf(1 << 16);
  while (true) {
    size_t n = std::fread(buf.data(), 1, buf.size(), f);
    if (n > 0 && EVP_DigestUpdate(ctx.get(), buf.data(), n) != 1) return Internal("sha512 update failed");
    if (n < buf.size()) {
      if (std::ferror(f)) return Internal("read error on " + path);
      break;
    }
  }
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_DigestFinal_ex(ctx.get(), md, &len) != 1) return Internal("sha512 final failed");
  return "sha512-" + Base64Encode(md, len);
}

Result<InstallReport> InstallFaceApi(const InstallOptions& o) {
  if (o.models_dir.empty()) return InvalidArgument("models directory is empty (set VIGIL_MODELS_DIR or --dir)");
  const fs::path dir = o.models_dir;
  const fs::path cache = dir / ".cache";
  std::error_code ec;
  fs::create_directories(cache, ec);
  if (ec) return Internal("cannot create " + cache.string() + ": " + ec.message());

  VIGIL_ASSIGN_OR_RETURN(auto reg, ModelRegistry::Open(dir.string()));
  std::vector<std::string> ok_ids;
  InstallReport report;
  if (AllVerified(reg, &ok_ids) && SamplesPresent(dir)) {
    Say(o, "all " + std::to_string(ok_ids.size()) + " face-api models in " + dir.string() +
               " verify against the manifest; nothing to do");
    return report;
  }
  for (const auto& id : ok_ids) Say(o, id + ": already installed and verified");

  VIGIL_ASSIGN_OR_RETURN(auto tarball, ObtainTarball(o, cache));
  const fs::path extracted = cache / kExtractDir;
  VIGIL_RETURN_IF_ERROR(Extract(o, tarball, extracted));
  const fs::path model_dir = extracted / "package" / "model";
  auto verified = [&](const std::string& id) { return std::find(ok_ids.begin(), ok_ids.end(), id) != ok_ids.end(); };

  for (const auto& n : kNets) {
    const bool need_anchors = n.net == FaceApiNet::kSsdMobilenetV1 && !verified(kSsdAnchorsId);
    if (verified(n.id) && !need_anchors) continue;
    Say(o, std::string(n.id) + ": converting " + n.weights + " to ONNX");
    auto weights = FaceApiWeights::Load((model_dir / (std::string(n.weights) + "-weights_manifest.json")).string());
    if (!weights.ok()) return weights.status().WithContext(n.id);
    if (!verified(n.id)) {
      auto onnx = BuildFaceApiOnnx(n.net, *weights);
      if (!onnx.ok()) return onnx.status().WithContext(n.id);
      VIGIL_RETURN_IF_ERROR(WriteFileAtomic(dir / n.file, *onnx));
      VIGIL_ASSIGN_OR_RETURN(auto sum, Sha256File((dir / n.file).string()));
      ModelInfo m;
      m.id = n.id;
      m.kind = n.kind;
      m.role = n.role;
      m.file = n.file;
      m.sha256 = sum;
      m.input_width = m.input_height = n.input;
      m.output_dim = n.output_dim;
      m.default_threshold = n.threshold;
      m.source = Source();
      VIGIL_RETURN_IF_ERROR(reg.Upsert(m));
      report.written.emplace_back(n.id);
      Say(o, std::string(n.id) + ": wrote " + n.file + " (" + std::to_string(onnx->size() / 1024) + " KiB)");
    }
    if (need_anchors) {
      VIGIL_ASSIGN_OR_RETURN(auto bytes, SsdAnchorBytes(*weights));
      VIGIL_RETURN_IF_ERROR(WriteFileAtomic(dir / kAnchorsFile, bytes));
      VIGIL_ASSIGN_OR_RETURN(auto sum, Sha256File((dir / kAnchorsFile).string()));
      ModelInfo m;
      m.id = kSsdAnchorsId;
      m.kind = "ssd_anchors";
      m.role = "data";
      m.file = kAnchorsFile;
      m.sha256 = sum;
      m.output_dim = kSsdAnchorCount;
      m.source = Source();
      VIGIL_RETURN_IF_ERROR(reg.Upsert(m));
      report.written.emplace_back(kSsdAnchorsId);
      Say(o, std::string(kSsdAnchorsId) + ": wrote " + kAnchorsFile);
    }
  }

  fs::create_directories(dir / "samples", ec);
  for (int i = 1; i <= kSampleCount; ++i) {
    const std::string name = "sample" + std::to_string(i) + ".jpg";
    fs::copy_file(extracted / "package" / "demo" / name, dir / "samples" / name, fs::copy_options::overwrite_existing,
                  ec);
    if (ec) return Internal("cannot copy demo photo " + name + ": " + ec.message());
  }
  Say(o, "copied demo photos to " + (dir / "samples").string());
  report.changed = true;
  Say(o, "installed " + std::to_string(report.written.size()) + " file(s) into " + dir.string());
  return report;
}

}  // namespace vigil::models
