// `vigil models install`: fetches the pinned face-api npm package (or takes
// a local tarball), checks its sha512 against a constant pinned in the code,
// extracts the weight files and demo photos, converts the three nets to ONNX
// and registers them in the models directory's manifest.
//
// Idempotent: a model whose manifest entry still verifies is left alone, and
// when everything verifies nothing at all is done.
//
// Thread-safety: run one install per models directory at a time.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "core/status.h"

namespace vigil::models {

inline constexpr const char* kFaceApiPackage = "@vladmandic/face-api";
inline constexpr const char* kFaceApiVersion = "1.7.15";
// npm's dist.integrity of @vladmandic/face-api@1.7.15 (sha512, base64).
inline constexpr const char* kFaceApiIntegrity =
    "sha512-WDMmK3CfNLo8jylWqMoQgf4nIst3M0fzx1dnac96wv/dvMTN4DxC/Pq1DGtduDk1lktCamQ3MIDXFnvrdHTXDw==";

// Manifest ids and files written by the installer.
inline constexpr const char* kSsdId = "faceapi-ssd-mobilenetv1";
inline constexpr const char* kSsdAnchorsId = "faceapi-ssd-anchors";
inline constexpr const char* kLandmarkId = "faceapi-landmark68";
inline constexpr const char* kRecognitionId = "faceapi-recognition-128";

// Cosine-similarity threshold written for the 128-D net: calibrated on
// ../shared/testdata/lfw10 and the npm demo samples (docs/thresholds.md).
inline constexpr double kFaceApiRecognitionThreshold = 0.942;
// face-api's own SSD score threshold.
inline constexpr double kSsdScoreThreshold = 0.5;

struct InstallOptions {
  std::string models_dir;
  std::string from_tarball;                          // empty: `npm pack` into <models_dir>/.cache
  std::string npm = "npm";                           // the npm executable (tests swap it)
  std::function<void(const std::string&)> progress;  // one line per step; may be empty
};

struct InstallReport {
  bool changed = false;              // false: everything already verified
  std::vector<std::string> written;  // ids of the models (re)written
};

Result<InstallReport> InstallFaceApi(const InstallOptions& options);

// sha512 of a file in npm's integrity form ("sha512-<base64>").
Result<std::string> NpmIntegrityOfFile(const std::string& path);

// Runs argv[0] (looked up in PATH) with `argv`, without a shell; stdout goes
// to `stdout_path` (or /dev/null when empty), stderr is inherited. Returns the
// exit status; an error when it cannot start or dies from a signal.
Result<int> RunProgram(const std::vector<std::string>& argv, const std::string& stdout_path = "");

}  // namespace vigil::models
