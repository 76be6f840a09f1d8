// The SQLite schema as an ordered list of migrations. Migration i (0-based)
// brings the schema to version i + 1; applied versions are recorded in
// schema_version. Never edit a released migration: append a new one.
//
// Thread-safety: constant data.
#pragma once

#include <string>
#include <vector>

namespace vigil::storage {

const std::vector<std::string>& SqliteMigrations();

}  // namespace vigil::storage
