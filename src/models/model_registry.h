// The models directory (VIGIL_MODELS_DIR) and its manifest.
//
// Layout: <dir>/manifest.json = {"version":1,"models":[ModelInfo...]}, and the
// model files next to it. `vigil models install` writes the face-api models;
// `vigil models add` registers user-supplied YuNet / ArcFace / SFace files.
//
// Well-known model ids (kinds in brackets):
//   faceapi-ssd-mobilenetv1  [ssd_mobilenetv1]     detector, input 512x512
//   faceapi-landmark68       [landmark68]          landmarks, input 112x112, 136 outputs
//   faceapi-recognition-128  [faceapi_recognition] embedder, input 150x150, 128-D
//   yunet-2022mar            [yunet]               detector (cv::FaceDetectorYN)
//   arcface                  [arcface]             embedder, input 112x112, 512-D
//   sface                    [sface]               embedder (cv::FaceRecognizerSF), 128-D
//   faceapi-ssd-anchors      [ssd_anchors]         role "data": the SSD's 5118 anchors
//                                                  (float32 ymin,xmin,ymax,xmax), see docs/models.md
//
// Thread-safety: a ModelRegistry is an immutable snapshot once opened.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/json_util.h"
#include "core/status.h"

namespace vigil::models {

struct ModelInfo {
  std::string id;      // "faceapi-recognition-128"
  std::string kind;    // "faceapi_recognition", "ssd_mobilenetv1", "landmark68", "yunet", "arcface", "sface"
  std::string role;    // "detector", "landmarks", "embedder" or "data"
  std::string file;    // file name relative to the models directory
  std::string sha256;  // lower-case hex of the file
  int input_width = 0;
  int input_height = 0;
  int output_dim = 0;            // embedding size, landmark outputs, 0 for detectors
  double default_threshold = 0;  // cosine similarity for embedders, score for detectors
  std::string source;            // "npm:@vladmandic/face-api@1.7.15" or "user:<original path>"
};

Json ModelInfoToJson(const ModelInfo& m);
Result<ModelInfo> ModelInfoFromJson(const Json& j);

class ModelRegistry {
 public:
  // Reads <dir>/manifest.json. A missing directory or manifest yields an empty
  // registry (nothing installed); a corrupt manifest is a DataLoss error.
  static Result<ModelRegistry> Open(const std::string& dir);

  const std::string& dir() const { return dir_; }
  const std::vector<ModelInfo>& models() const { return models_; }
  // The model with this id, or of this kind (first registered wins).
  std::optional<ModelInfo> FindById(const std::string& id) const;
  std::optional<ModelInfo> FindByKind(const std::string& kind) const;
  // Absolute path of a model's file.
  std::string PathOf(const ModelInfo& m) const;
  // Recomputes the file's sha256 and compares with the manifest.
  Status Verify(const ModelInfo& m) const;

  // Adds or replaces (same id) an entry and rewrites the manifest atomically
  // (write to a temporary file, fsync, rename).
  Status Upsert(const ModelInfo& m);

 private:
  std::string dir_;
  std::vector<ModelInfo> models_;
};

// sha256 of a file as lower-case hex.
Result<std::string> Sha256File(const std::string& path);

}  // namespace vigil::models
