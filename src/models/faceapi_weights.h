// Reader for TensorFlow.js weight files as shipped by face-api:
// `<name>-weights_manifest.json` lists groups {paths: [bin files], weights:
// [{name, shape, dtype, quantization?}]}; a group's bins, concatenated, hold
// its tensors back to back in manifest order. Quantized entries store one
// (uint8) or two (uint16) bytes per value and decode as q * scale + min;
// plain entries are little-endian float32 or int32. Everything is decoded to
// float32.
//
// Thread-safety: a loaded FaceApiWeights is immutable.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "core/status.h"

namespace vigil::models {

struct WeightTensor {
  std::vector<int64_t> shape;
  std::vector<float> values;  // row-major in TF layout
};

class FaceApiWeights {
 public:
  // Reads the manifest at `manifest_path`; bin paths are relative to its
  // directory. A missing, short or over-long bin is a DataLoss error naming
  // the file.
  static Result<FaceApiWeights> Load(const std::string& manifest_path);

  // The tensor called `name`, which must have `shape` exactly.
  Result<const WeightTensor*> Get(const std::string& name, const std::vector<int64_t>& shape) const;
  bool Has(const std::string& name) const { return tensors_.count(name) != 0; }
  const std::map<std::string, WeightTensor>& tensors() const { return tensors_; }

 private:
  std::map<std::string, WeightTensor> tensors_;
};

}  // namespace vigil::models
