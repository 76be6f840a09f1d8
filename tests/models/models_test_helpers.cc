#include "models/models_test_helpers.h"

#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <random>
#include <sstream>

namespace vigil::models::testing {

namespace fs = std::filesystem;

TempDir::TempDir() {
  std::random_device rd;
  path_ = fs::temp_directory_path() /
          ("vigil_models_test_" + std::to_string(::getpid()) + "_" + std::to_string(rd()) + std::to_string(rd()));
  fs::create_directories(path_);
}

TempDir::~TempDir() {
  std::error_code ec;
  fs::remove_all(path_, ec);
}

void WriteFile(const fs::path& p, const std::string& bytes) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out << bytes;
}

std::string ReadFile(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string ModelsDir() {
  if (const char* env = std::getenv("VIGIL_MODELS_DIR"); env != nullptr && *env != '\0') return env;
  return std::string(VIGIL_SOURCE_DIR) + "/data/models";
}

std::optional<std::string> FaceApiWeightsDir() {
  std::vector<fs::path> candidates;
  if (const char* env = std::getenv("VIGIL_FACEAPI_MODEL_DIR"); env != nullptr && *env != '\0') {
    candidates.emplace_back(env);
  }
  candidates.push_back(fs::path(ModelsDir()) / ".cache" / "face-api-1.7.15" / "package" / "model");
  for (const auto& c : candidates) {
    std::error_code ec;
    if (fs::exists(c / "face_recognition_model-weights_manifest.json", ec)) return c.string();
  }
  return std::nullopt;
}

std::optional<std::string> SamplesDir() {
  std::vector<fs::path> candidates = {fs::path(ModelsDir()) / "samples"};
  if (auto w = FaceApiWeightsDir()) candidates.push_back(fs::path(*w).parent_path() / "demo");
  for (const auto& c : candidates) {
    std::error_code ec;
    if (fs::exists(c / "sample1.jpg", ec)) return c.string();
  }
  return std::nullopt;
}

}  // namespace vigil::models::testing
