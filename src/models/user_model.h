// `vigil models add yunet|arcface|sface FILE`: user-supplied ONNX models.
// A probe run on a synthetic image proves the file loads in OpenCV 4.6 and
// produces the shapes its kind promises before it is copied into the models
// directory and registered. OpenCV exceptions are caught here and become
// InvalidArgument errors that name the file.
//
// Thread-safety: stateless functions; run one add per models directory at a time.
#pragma once

#include <string>
#include <vector>

#include "core/status.h"
#include "models/model_registry.h"

namespace vigil::models {

// "yunet", "arcface", "sface".
const std::vector<std::string>& UserModelKinds();

// Loads `path` as `kind`, runs it once and returns the manifest entry it
// would get (everything but sha256 and file, which AddUserModel fills in).
Result<ModelInfo> ProbeUserModel(const std::string& kind, const std::string& path);

// Probes, copies the file into `models_dir` as <id>.onnx (atomically) and
// registers it, replacing an earlier entry with the same id.
Result<ModelInfo> AddUserModel(const std::string& models_dir, const std::string& kind, const std::string& path);

}  // namespace vigil::models
