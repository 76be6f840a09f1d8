// libFuzzer target: the worker <-> API protocol codec (text and binary frames).
// protocol::FuzzDecode checks that whatever decodes survives a round trip;
// on top of it, a text frame that decodes must also pass Validate, which
// promises the same checks as DecodeText minus the frame size limits.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "protocol/codec.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  vigil::protocol::FuzzDecode(data, size);
  std::string_view in(reinterpret_cast<const char*>(data), size);
  auto m = vigil::protocol::DecodeText(in);
  if (m.ok()) {
    if (!vigil::protocol::Validate(*m).ok()) std::abort();
  } else {
    // Every decode failure maps to a wire error code.
    if (vigil::protocol::ErrorCodeFor(m.status()).empty()) std::abort();
  }
  return 0;
}
