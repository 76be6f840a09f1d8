#include "core/json_util.h"

#include <sodium.h>

#include <bit>
#include <cstring>

namespace vigil {
namespace {

std::string FieldName(std::string_view key) { return "field '" + std::string(key) + "'"; }

template <typename T, typename Check, typename Get>
Result<T> GetRequired(const Json& obj, std::string_view key, const char* type_name, Check check, Get get) {
  if (!obj.is_object()) return InvalidArgument("expected a JSON object");
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return InvalidArgument(FieldName(key) + " is missing");
  if (!check(*it)) return InvalidArgument(FieldName(key) + " must be " + type_name);
  return get(*it);
}

template <typename T, typename Check, typename Get>
Result<std::optional<T>> GetOptional(const Json& obj, std::string_view key, const char* type_name, Check check,
                                     Get get) {
  if (!obj.is_object()) return InvalidArgument("expected a JSON object");
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return std::optional<T>();
  if (!check(*it)) return InvalidArgument(FieldName(key) + " must be " + type_name);
  return std::optional<T>(get(*it));
}

bool IsInt(const Json& j) {
  if (j.is_number_integer()) return true;
  if (j.is_number_float()) {
    double d = j.get<double>();
    // Range check first: casting an out-of-range double to int64 is undefined.
    if (!(d >= -9.2e18 && d <= 9.2e18)) return false;
    return d == static_cast<double>(static_cast<int64_t>(d));
  }
  return false;
}
int64_t AsInt(const Json& j) { return j.is_number_float() ? static_cast<int64_t>(j.get<double>()) : j.get<int64_t>(); }

}  // namespace

Result<Json> ParseJson(std::string_view text) {
  try {
    return Json::parse(text);
  } catch (const Json::exception& e) {
    return InvalidArgument(std::string("malformed JSON: ") + e.what());
  }
}

Result<Json> ParseJsonObject(std::string_view text) {
  VIGIL_ASSIGN_OR_RETURN(Json j, ParseJson(text));
  if (!j.is_object()) return InvalidArgument("expected a JSON object");
  return j;
}

Result<std::string> GetString(const Json& obj, std::string_view key) {
  return GetRequired<std::string>(
      obj, key, "a string", [](const Json& j) { return j.is_string(); },
      [](const Json& j) { return j.get<std::string>(); });
}
Result<int64_t> GetInt(const Json& obj, std::string_view key) {
  return GetRequired<int64_t>(obj, key, "an integer", IsInt, AsInt);
}
Result<double> GetNumber(const Json& obj, std::string_view key) {
  return GetRequired<double>(
      obj, key, "a number", [](const Json& j) { return j.is_number(); },
      [](const Json& j) { return j.get<double>(); });
}
Result<bool> GetBool(const Json& obj, std::string_view key) {
  return GetRequired<bool>(
      obj, key, "a boolean", [](const Json& j) { return j.is_boolean(); }, [](const Json& j) { return j.get<bool>(); });
}
Result<std::optional<std::string>> GetOptString(const Json& obj, std::string_view key) {
  return GetOptional<std::string>(
      obj, key, "a string", [](const Json& j) { return j.is_string(); },
      [](const Json& j) { return j.get<std::string>(); });
}
Result<std::optional<int64_t>> GetOptInt(const Json& obj, std::string_view key) {
  return GetOptional<int64_t>(obj, key, "an integer", IsInt, AsInt);
}
Result<std::optional<double>> GetOptNumber(const Json& obj, std::string_view key) {
  return GetOptional<double>(
      obj, key, "a number", [](const Json& j) { return j.is_number(); },
      [](const Json& j) { return j.get<double>(); });
}
Result<std::optional<bool>> GetOptBool(const Json& obj, std::string_view key) {
  return GetOptional<bool>(
      obj, key, "a boolean", [](const Json& j) { return j.is_boolean(); }, [](const Json& j) { return j.get<bool>(); });
}

std::string Base64Encode(const void* data, size_t size) {
  const size_t out_len = sodium_base64_ENCODED_LEN(size, sodium_base64_VARIANT_ORIGINAL);
  std::string out(out_len, '\0');
  sodium_bin2base64(out.data(), out_len, static_cast<const unsigned char*>(data), size,
                    sodium_base64_VARIANT_ORIGINAL);
  out.resize(out_len - 1);  // drop the terminating NUL
  return out;
}

Result<std::vector<uint8_t>> Base64Decode(std::string_view text) {
  std::vector<uint8_t> out(text.size() / 4 * 3 + 3);
  size_t bin_len = 0;
  const char* end = nullptr;
  if (sodium_base642bin(out.data(), out.size(), text.data(), text.size(), nullptr, &bin_len, &end,
                        sodium_base64_VARIANT_ORIGINAL) != 0 ||
      end != text.data() + text.size()) {
    return InvalidArgument("malformed base64");
  }
  out.resize(bin_len);
  return out;
}

std::string EncodeFloats(const std::vector<float>& v) {
  static_assert(std::endian::native == std::endian::little, "big-endian hosts need byte swapping here");
  return Base64Encode(v.data(), v.size() * sizeof(float));
}

Result<std::vector<float>> DecodeFloats(std::string_view base64) {
  VIGIL_ASSIGN_OR_RETURN(auto bytes, Base64Decode(base64));
  if (bytes.size() % sizeof(float) != 0) return InvalidArgument("embedding byte length is not a multiple of 4");
  std::vector<float> v(bytes.size() / sizeof(float));
  std::memcpy(v.data(), bytes.data(), bytes.size());
  return v;
}

std::string DumpJson(const Json& j, int indent) { return j.dump(indent, ' ', false, Json::error_handler_t::replace); }

}  // namespace vigil
