// The REST representations of stored records (DESIGN.md §4): ids are
// strings, times are ISO-8601 UTC with milliseconds, optional values are null.
//
// Thread-safety: stateless functions.
#pragma once

#include <optional>
#include <string>

#include "core/json_util.h"
#include "storage/repository.h"

namespace vigil::api {

Json ToJson(const storage::Site& s);
Json ToJson(const storage::Camera& c);
// `live`: whether the hub has a live session for the worker (it wins over the
// stored status, which lags behind by design). `cameras`: assigned camera ids.
Json ToJson(const storage::Worker& w, bool live, const std::vector<std::string>& cameras);
Json ToJson(const storage::Staff& s);
// A face record never carries its embedding (biometric data stays server-side).
Json ToJson(const storage::StaffFace& f);
Json ToJson(const storage::Customer& c);
Json ToJson(const storage::FaceEvent& e);
Json ToJson(const storage::Visit& v);

Json OptJson(const std::optional<std::string>& v);
Json OptJson(const std::optional<double>& v);
std::string IsoTime(int64_t unix_ms);  // "" for 0

}  // namespace vigil::api
