// Shared helpers of the models tests: temporary directories and where the
// real face-api package or installed models are.
#pragma once

#include <filesystem>
#include <optional>
#include <string>

namespace vigil::models::testing {

class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::string str() const { return path_.string(); }

 private:
  std::filesystem::path path_;
};

void WriteFile(const std::filesystem::path& p, const std::string& bytes);
std::string ReadFile(const std::filesystem::path& p);

// The models directory the tests use: $VIGIL_MODELS_DIR or <source>/data/models.
std::string ModelsDir();
// A directory holding face-api's `*-weights_manifest.json` files: the
// extracted package in the models cache, or $VIGIL_FACEAPI_MODEL_DIR.
// nullopt when neither exists (tests skip).
std::optional<std::string> FaceApiWeightsDir();
// Directory with sample1..6.jpg (installed samples or the extracted package).
std::optional<std::string> SamplesDir();

}  // namespace vigil::models::testing
