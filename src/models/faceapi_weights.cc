#include "models/faceapi_weights.h"

#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/json_util.h"

namespace vigil::models {

namespace fs = std::filesystem;

namespace {

std::string ShapeString(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? "," : "") + std::to_string(shape[i]);
  return s + "]";
}

Result<std::string> ReadAll(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in) return DataLoss("cannot read weight file " + p.string());
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

float LoadLe32Float(const unsigned char* p) {
  uint32_t u = uint32_t(p[0]) | uint32_t(p[1]) << 8 | uint32_t(p[2]) << 16 | uint32_t(p[3]) << 24;
  float f;
  std::memcpy(&f, &u, sizeof f);
  return f;
}

int32_t LoadLe32Int(const unsigned char* p) {
  uint32_t u = uint32_t(p[0]) | uint32_t(p[1]) << 8 | uint32_t(p[2]) << 16 | uint32_t(p[3]) << 24;
  return static_cast<int32_t>(u);
}

}  // namespace

Result<FaceApiWeights> FaceApiWeights::Load(const std::string& manifest_path) {
  VIGIL_ASSIGN_OR_RETURN(auto text, ReadAll(manifest_path));
  auto parsed = ParseJson(text);
  if (!parsed.ok()) return DataLoss(manifest_path + ": " + parsed.status().message());
  const Json& groups = *parsed;
  if (!groups.is_array()) return DataLoss(manifest_path + ": expected a list of weight groups");
  const fs::path base = fs::path(manifest_path).parent_path();

  FaceApiWeights out;
  for (const auto& group : groups) {
    if (!group.is_object() || !group.contains("paths") || !group["paths"].is_array() || !group.contains("weights") ||
        !group["weights"].is_array()) {
      return DataLoss(manifest_path + ": a group lacks 'paths' or 'weights'");
    }
    std::string data;
    std::string names;
    for (const auto& p : group["paths"]) {
      if (!p.is_string()) return DataLoss(manifest_path + ": bin path must be a string");
      const std::string rel = p.get<std::string>();
      if (rel.find("..") != std::string::npos || (!rel.empty() && rel[0] == '/')) {
        return DataLoss(manifest_path + ": bin path '" + rel + "' leaves the model directory");
      }
      VIGIL_ASSIGN_OR_RETURN(auto chunk, ReadAll(base / rel));
      data += chunk;
      names += (names.empty() ? "" : "+") + (base / rel).string();
    }
    size_t offset = 0;
    for (const auto& w : group["weights"]) {
      if (!w.is_object()) return DataLoss(manifest_path + ": weight entry must be an object");
      auto name = GetString(w, "name");
      auto dtype = GetString(w, "dtype");
      if (!name.ok() || !dtype.ok() || !w.contains("shape") || !w["shape"].is_array()) {
        return DataLoss(manifest_path + ": weight entry lacks name, dtype or shape");
      }
      WeightTensor t;
      int64_t count = 1;
      for (const auto& d : w["shape"]) {
        if (!d.is_number_integer() || d.get<int64_t>() < 0 || d.get<int64_t>() > (int64_t{1} << 30)) {
          return DataLoss(manifest_path + ": bad shape for " + *name);
        }
        t.shape.push_back(d.get<int64_t>());
        count *= t.shape.back();
        if (count > (int64_t{1} << 30)) return DataLoss(manifest_path + ": tensor " + *name + " is too large");
      }
      t.values.resize(static_cast<size_t>(count));
      const auto* bytes = reinterpret_cast<const unsigned char*>(data.data());
      auto need = [&](size_t per_value) -> Status {
        size_t n = per_value * static_cast<size_t>(count);
        if (offset + n > data.size()) {
          return DataLoss("weight file " + names + " is truncated: tensor " + *name + " needs bytes " +
                          std::to_string(offset) + ".." + std::to_string(offset + n) + " but the file has " +
                          std::to_string(data.size()));
        }
        return Status::Ok();
      };
      if (w.contains("quantization") && !w["quantization"].is_null()) {
        const Json& q = w["quantization"];
        auto qtype = GetString(q, "dtype");
        auto scale = GetNumber(q, "scale");
        auto min = GetNumber(q, "min");
        if (!qtype.ok() || !scale.ok() || !min.ok()) {
          return DataLoss(manifest_path + ": quantization of " + *name + " lacks dtype, scale or min");
        }
        if (*qtype == "uint8") {
          VIGIL_RETURN_IF_ERROR(need(1));
          for (int64_t i = 0; i < count; ++i) {
            t.values[size_t(i)] = static_cast<float>(bytes[offset + size_t(i)] * *scale + *min);
          }
          offset += size_t(count);
        } else if (*qtype == "uint16") {
          VIGIL_RETURN_IF_ERROR(need(2));
          for (int64_t i = 0; i < count; ++i) {
            const unsigned char* p = bytes + offset + 2 * size_t(i);
            t.values[size_t(i)] = static_cast<float>((p[0] | p[1] << 8) * *scale + *min);
          }
          offset += 2 * size_t(count);
        } else {
          return Unimplemented(manifest_path + ": quantization dtype '" + *qtype + "' of " + *name +
                               " is not supported");
        }
      } else if (*dtype == "float32" || *dtype == "int32") {
        VIGIL_RETURN_IF_ERROR(need(4));
        const bool is_float = *dtype == "float32";
        for (int64_t i = 0; i < count; ++i) {
          const unsigned char* p = bytes + offset + 4 * size_t(i);
          t.values[size_t(i)] = is_float ? LoadLe32Float(p) : static_cast<float>(LoadLe32Int(p));
        }
        offset += 4 * size_t(count);
      } else {
        return Unimplemented(manifest_path + ": dtype '" + *dtype + "' of " + *name + " is not supported");
      }
      out.tensors_[*name] = std::move(t);
    }
    if (offset != data.size()) {
      return DataLoss("weight file " + names + " has " + std::to_string(data.size()) + " bytes but the manifest " +
                      "describes " + std::to_string(offset) + "; the download is corrupt");
    }
  }
  return out;
}

Result<const WeightTensor*> FaceApiWeights::Get(const std::string& name, const std::vector<int64_t>& shape) const {
  auto it = tensors_.find(name);
  if (it == tensors_.end()) return NotFound("weight tensor '" + name + "' is missing");
  if (it->second.shape != shape) {
    return InvalidArgument("weight tensor '" + name + "' has shape " + ShapeString(it->second.shape) + ", expected " +
                           ShapeString(shape));
  }
  return &it->second;
}

}  // namespace vigil::models
