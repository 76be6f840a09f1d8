// CRC-32C (Castagnoli), the checksum of the event spool's records.
//
// Thread-safety: stateless.
#pragma once

#include <cstdint>
#include <string_view>

namespace vigil::worker {

// CRC-32C of `data`, continuing from `crc` (0 to start).
uint32_t Crc32c(std::string_view data, uint32_t crc = 0);

}  // namespace vigil::worker
