#include "worker/test_env_helpers.h"

#include <cstdlib>
#include <filesystem>
#include <stdexcept>

namespace vigil::worker::testing {

TempDir::TempDir() {
  const char* base = std::getenv("TMPDIR");
  std::string tmpl = std::string(base && *base ? base : "/tmp") + "/vigil-worker-test-XXXXXX";
  if (!::mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
  path_ = tmpl;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

namespace {
class FaultyFile final : public WritableFile {
 public:
  FaultyFile(WritableFilePtr inner, FaultInjectionEnv* env) : inner_(std::move(inner)), env_(env) {}
  Status Append(std::string_view data) override {
    if (env_->fail_writes) {
      ++env_->failed_appends;
      (void)inner_->Append(data.substr(0, data.size() / 2));
      return ResourceExhausted("injected: no space left on device");
    }
    return inner_->Append(data);
  }
  Status Sync() override { return inner_->Sync(); }
  Status Close() override { return inner_->Close(); }

 private:
  WritableFilePtr inner_;
  FaultInjectionEnv* env_;
};
}  // namespace

Result<WritableFilePtr> FaultInjectionEnv::NewAppendableFile(const std::string& path) {
  VIGIL_ASSIGN_OR_RETURN(auto f, DefaultEnv().NewAppendableFile(path));
  return WritableFilePtr(std::make_unique<FaultyFile>(std::move(f), this));
}

Status FaultInjectionEnv::WriteFileAtomic(const std::string& path, std::string_view data, bool sync) {
  if (fail_writes) return ResourceExhausted("injected: no space left on device");
  return DefaultEnv().WriteFileAtomic(path, data, sync);
}

}  // namespace vigil::worker::testing
