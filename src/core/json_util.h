// Small helpers over nlohmann::json: parsing that returns Result instead of
// throwing, typed field access with messages that name the field, and base64
// for binary payloads (embeddings) inside JSON.
//
// Thread-safety: stateless functions.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace vigil {

using Json = nlohmann::json;

// Parses `text`; malformed input gives InvalidArgument with the parser's position.
Result<Json> ParseJson(std::string_view text);
// Parses and requires a JSON object at the top level.
Result<Json> ParseJsonObject(std::string_view text);

// Required fields: NotFound-free InvalidArgument("field 'x' is missing" / "must be a string").
Result<std::string> GetString(const Json& obj, std::string_view key);
Result<int64_t> GetInt(const Json& obj, std::string_view key);
Result<double> GetNumber(const Json& obj, std::string_view key);
Result<bool> GetBool(const Json& obj, std::string_view key);

// Optional fields: nullopt when absent or null, an error when present with the wrong type.
Result<std::optional<std::string>> GetOptString(const Json& obj, std::string_view key);
Result<std::optional<int64_t>> GetOptInt(const Json& obj, std::string_view key);
Result<std::optional<double>> GetOptNumber(const Json& obj, std::string_view key);
Result<std::optional<bool>> GetOptBool(const Json& obj, std::string_view key);

// Standard base64 (RFC 4648, with padding).
std::string Base64Encode(const void* data, size_t size);
Result<std::vector<uint8_t>> Base64Decode(std::string_view text);

// float32 vectors as base64 of their little-endian bytes (the protocol's embedding form).
std::string EncodeFloats(const std::vector<float>& v);
Result<std::vector<float>> DecodeFloats(std::string_view base64);

// Dump that never throws on invalid UTF-8 (replaces bad bytes).
std::string DumpJson(const Json& j, int indent = -1);

}  // namespace vigil
