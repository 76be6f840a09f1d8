// libFuzzer target: decoding of uploaded images (staff enrollment photos and
// POST /api/v1/recognize). Runs FaceService::Analyze exactly as the handlers
// do: type sniffed from the content, cv::imdecode, then the mock detector,
// quality score and embedder over whatever decoded (the real models would
// make each input take tens of milliseconds without reaching more decoder
// code). Undecodable input must come back as InvalidArgument.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "api/face_service.h"
#include "core/config.h"
#include "core/logging.h"

namespace {
vigil::api::FaceService* g_faces = nullptr;
}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  vigil::LogOptions quiet;
  quiet.level = "off";
  vigil::InitLogging(quiet);
  vigil::ApiConfig config;
  config.mock_mode = true;
  config.detector_type = "mock";
  config.embedder_type = "mock";
  static vigil::api::FaceServicePtr faces = vigil::api::CreateFaceService(config);
  if (!faces->available()) std::abort();
  g_faces = faces.get();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view image(reinterpret_cast<const char*>(data), size);
  auto faces = g_faces->Analyze(image);
  if (!faces.ok()) {
    if (faces.status().code() != vigil::StatusCode::kInvalidArgument) std::abort();
    return 0;
  }
  if (vigil::api::SniffImageType(image) == vigil::api::ImageType::kUnknown) std::abort();
  for (const auto& f : *faces) {
    if (f.bbox[2] <= 0 || f.bbox[3] <= 0) std::abort();
  }
  return 0;
}
