// Random (version 4) and time-ordered (version 7, RFC 9562) UUIDs from the
// OS's CSPRNG.
//
// Thread-safety: all functions are safe to call concurrently.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace vigil {

// "xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx", lower-case hex, y in [89ab].
std::string NewUuid();
// "tttttttt-tttt-7xxx-yxxx-xxxxxxxxxxxx": the first 48 bits are `unix_ms`
// (big-endian), then the version, 12 random bits, the variant and 62 random
// bits. Ids made close in time sort close together, so a B-tree keyed by them
// (events, customers, visits) takes new rows at its end instead of dirtying
// a random page for each; they stay unguessable in their random 74 bits.
std::string NewTimeOrderedUuid(int64_t unix_ms);
// True for any canonical 8-4-4-4-12 hex UUID (any version).
bool IsUuid(std::string_view s);
// `n` random bytes as lower-case hex (2n characters), for tokens and keys.
std::string RandomHex(size_t n);

}  // namespace vigil
