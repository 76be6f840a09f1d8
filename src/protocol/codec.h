// Encoding and validating decoding of protocol messages (docs/protocol.md).
//
// Text frames: Encode(X) gives the JSON text of one message; DecodeText parses
// and validates one text frame into the Message variant.
//   * malformed JSON, a missing field, a field of the wrong type, a bad UUID,
//     a non-finite number, a bbox that is not 4 numbers, a malformed embedding,
//     a string/list over its limit, an oversized frame -> StatusCode::kInvalidArgument,
//     with a message that names the field ("event.bbox must be 4 numbers").
//     The peer answers error{code:"bad_message"}.
//   * a well-formed object whose `type` is not a known message ->
//     StatusCode::kUnimplemented ("unknown message type 'x'"). The peer answers
//     error{code:"unknown_type"} and keeps the connection.
// ErrorCodeFor(status) gives that wire code for a decode failure.
//
// Binary frames: u32 big-endian header length N, N bytes of JSON header (an
// object with a string `type`), then the payload. N <= 64 KiB, whole frame <= 8 MiB.
//
// Thread-safety: stateless functions, safe to call concurrently.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/json_util.h"
#include "core/status.h"
#include "protocol/messages.h"

namespace vigil::protocol {

// ---- text frames ----------------------------------------------------------

std::string Encode(const Hello& m);
std::string Encode(const Heartbeat& m);
std::string Encode(const Event& m);
std::string Encode(const Goodbye& m);
std::string Encode(const Welcome& m);
std::string Encode(const Assign& m);
std::string Encode(const Gallery& m);
std::string Encode(const Command& m);
std::string Encode(const Ack& m);
std::string Encode(const Error& m);
std::string Encode(const Message& m);

// Encode does not validate: a sender that wants to catch its own bad values
// (a NaN score, an over-long id) before they reach the wire calls Validate,
// which applies exactly the checks the receiving DecodeText will apply
// (except the frame size limits).
Status Validate(const Message& m);

// As Encode, but the JSON value (for callers that add to or embed it).
Json ToJson(const Message& m);

// Parses and validates one text frame (see the file comment for the errors).
Result<Message> DecodeText(std::string_view text);
// Validates an already parsed JSON object as a message.
Result<Message> DecodeJson(const Json& j);

// The `error.code` a peer sends back for a failed DecodeText:
// kErrorUnknownType for kUnimplemented, kErrorBadMessage otherwise.
std::string_view ErrorCodeFor(const Status& decode_status);
// True when `s` came from DecodeText for an unknown `type`.
bool IsUnknownType(const Status& s);

// ---- binary frames --------------------------------------------------------

struct BinaryFrame {
  Json header;          // a JSON object
  std::string type;     // header["type"]
  std::string payload;  // the bytes after the header
};

// Frames `header` (must be a JSON object with a string `type`) and `payload`.
// The caller keeps within the limits; EncodeBinary does not truncate.
std::string EncodeBinary(const Json& header, std::string_view payload);
// Splits and validates a binary frame: truncated input, a header length over
// kMaxBinaryHeaderBytes or past the end, a frame over kMaxBinaryFrameBytes, a
// header that is not a JSON object with a string `type` -> kInvalidArgument.
// Unknown header types are returned as they are (the caller decides).
Result<BinaryFrame> DecodeBinary(std::string_view frame);

// Snapshot (face crop of an event) frames.
Json ToJson(const SnapshotHeader& h);
Result<SnapshotHeader> ParseSnapshotHeader(const Json& header);
std::string EncodeSnapshot(const SnapshotHeader& h, std::string_view jpeg);

// Live stream frames.
Json ToJson(const StreamFrameHeader& h);
Result<StreamFrameHeader> ParseStreamFrameHeader(const Json& header);
std::string EncodeStreamFrame(const StreamFrameHeader& h, std::string_view jpeg);

// ---- fuzzing ---------------------------------------------------------------

// libFuzzer-style entry point (no main here): feeds `data` to DecodeText and
// DecodeBinary, re-encodes whatever decodes, and aborts if a decoded message
// does not survive a round trip. Always returns 0.
int FuzzDecode(const uint8_t* data, size_t size);

}  // namespace vigil::protocol
