#include "vision/real_data_helpers.h"

#include <algorithm>
#include <cstdlib>
#include <filesystem>

namespace vigil::vision::testing {
namespace fs = std::filesystem;

std::string SharedDir() {
  if (const char* e = std::getenv("VIGIL_SHARED_DIR"); e && *e) return e;
  return std::string(VIGIL_SOURCE_DIR) + "/../shared";
}

std::string ModelsDir() {
  if (const char* e = std::getenv("VIGIL_MODELS_DIR"); e && *e) return e;
  return std::string(VIGIL_SOURCE_DIR) + "/data/models";
}

std::string YuNetPath() {
  const std::string p = SharedDir() + "/models/face_detection_yunet_2022mar.onnx";
  std::error_code ec;
  return fs::is_regular_file(p, ec) ? p : std::string();
}

std::vector<std::string> SamplePaths() {
  std::vector<std::string> out;
  for (int i = 1; i <= 6; ++i) {
    const std::string p = ModelsDir() + "/samples/sample" + std::to_string(i) + ".jpg";
    std::error_code ec;
    if (!fs::is_regular_file(p, ec)) return {};
    out.push_back(p);
  }
  return out;
}

models::ModelRegistry Registry() {
  auto r = models::ModelRegistry::Open(ModelsDir());
  if (r.ok()) return std::move(*r);
  auto empty = models::ModelRegistry::Open(fs::temp_directory_path() / "vigil-no-models-here");
  return std::move(*empty);
}

std::vector<std::string> AvailableDetectors() {
  std::vector<std::string> out;
  if (!YuNetPath().empty()) out.push_back("yunet");
  auto reg = Registry();
  if (reg.FindByKind("ssd_mobilenetv1") && reg.FindByKind("ssd_anchors")) out.push_back("ssd");
  return out;
}

Result<FaceDetectorPtr> MakeDetector(const std::string& name, float threshold) {
  if (name == "yunet") return CreateYuNetDetector(YuNetPath(), threshold);
  auto reg = Registry();
  return CreateFaceDetector(name, reg, threshold);
}

Result<FaceEmbedderPtr> MakeFaceApiEmbedder() { return CreateFaceEmbedder("faceapi", Registry()); }

std::vector<std::pair<std::string, std::vector<std::string>>> Lfw10() {
  std::vector<std::pair<std::string, std::vector<std::string>>> out;
  const fs::path root = SharedDir() + "/testdata/lfw10";
  std::error_code ec;
  if (!fs::is_directory(root, ec)) return out;
  for (const auto& person : fs::directory_iterator(root, ec)) {
    if (!person.is_directory()) continue;
    std::vector<std::string> photos;
    for (const auto& f : fs::directory_iterator(person.path(), ec)) {
      if (f.is_regular_file() && f.path().extension() == ".jpg") photos.push_back(f.path().string());
    }
    std::sort(photos.begin(), photos.end());
    if (!photos.empty()) out.emplace_back(person.path().filename().string(), std::move(photos));
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace vigil::vision::testing
