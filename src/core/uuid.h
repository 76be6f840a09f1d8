// Random (version 4) UUIDs from the OS's CSPRNG.
//
// Thread-safety: all functions are safe to call concurrently.
#pragma once

#include <string>
#include <string_view>

namespace vigil {

// "xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx", lower-case hex, y in [89ab].
std::string NewUuid();
// True for any canonical 8-4-4-4-12 hex UUID (any version).
bool IsUuid(std::string_view s);
// `n` random bytes as lower-case hex (2n characters), for tokens and keys.
std::string RandomHex(size_t n);

}  // namespace vigil
