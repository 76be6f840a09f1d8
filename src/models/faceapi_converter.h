// Converts face-api's TensorFlow.js weights to ONNX graphs that OpenCV 4.6
// DNN loads (opset 10, float32 initializers, explicit pads, batch-norm and
// scale layers folded, input normalisation baked in). docs/models.md gives
// each graph's inputs, outputs and semantics.
//
// Thread-safety: stateless functions.
#pragma once

#include <string>

#include "core/status.h"
#include "models/faceapi_weights.h"

namespace vigil::models {

enum class FaceApiNet { kSsdMobilenetV1, kLandmark68, kRecognition128 };

// The serialized ONNX ModelProto of `net` built from `weights`; an error
// names the missing or mis-shaped tensor.
Result<std::string> BuildFaceApiOnnx(FaceApiNet net, const FaceApiWeights& weights);

// The SSD anchors (`Output/extra_dim`, 5118 x (ymin, xmin, ymax, xmax)) as
// little-endian float32 bytes.
Result<std::string> SsdAnchorBytes(const FaceApiWeights& weights);

// Graph interface constants, shared with docs/models.md and the tests.
inline constexpr int kSsdInputSize = 512;
inline constexpr int kSsdAnchorCount = 5118;
inline constexpr int kLandmarkInputSize = 112;
inline constexpr int kRecognitionInputSize = 150;

}  // namespace vigil::models
