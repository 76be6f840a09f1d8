// Locating shared test data and installed models for the real-model tests.
// Everything here is optional: tests GTEST_SKIP when it is absent.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "models/model_registry.h"
#include "vision/face_detector.h"
#include "vision/face_embedder.h"

namespace vigil::vision::testing {

// VIGIL_SHARED_DIR, else <source>/../shared.
std::string SharedDir();
// VIGIL_MODELS_DIR, else <source>/data/models.
std::string ModelsDir();
// The YuNet file in shared/models, or "" when absent.
std::string YuNetPath();
// <models>/samples/sample1..6.jpg when all six exist, else empty.
std::vector<std::string> SamplePaths();
// The registry of ModelsDir() (empty when nothing is installed).
models::ModelRegistry Registry();

// Detectors/embedders that are available here, by name ("yunet", "ssd"; "faceapi").
std::vector<std::string> AvailableDetectors();
Result<FaceDetectorPtr> MakeDetector(const std::string& name, float threshold);
Result<FaceEmbedderPtr> MakeFaceApiEmbedder();

// LFW-style folder: person name -> photo paths (sorted). Empty when absent.
std::vector<std::pair<std::string, std::vector<std::string>>> Lfw10();

}  // namespace vigil::vision::testing
