// The worker ⇄ API messages of protocol version 1 (docs/protocol.md) as typed
// structs. These are plain values: the codec (codec.h) turns them into JSON
// text frames and back, validating every field on the way in.
//
// Conventions: timestamps are int64 Unix milliseconds (UTC) here and ISO-8601
// strings with milliseconds on the wire; embeddings are float vectors here and
// base64 of little-endian float32 on the wire; "field|null" on the wire is a
// std::optional here.
//
// Thread-safety: plain value types; no shared state.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace vigil::protocol {

// ---------------------------------------------------------------------------
// Constants

inline constexpr int kProtocolVersion = 1;

// WebSocket close codes (RFC 6455 application range 4000-4999 plus 1001).
inline constexpr uint16_t kCloseGoingAway = 1001;          // API shutting down
inline constexpr uint16_t kCloseProtocolViolation = 4400;  // malformed messages / protocol violation
inline constexpr uint16_t kCloseAuth = 4401;               // authentication failed
inline constexpr uint16_t kCloseDuplicateWorker = 4409;    // worker_id already has a live session
inline constexpr uint16_t kCloseUnsupportedVersion = 4426;

// Limits. A text frame is at most 1 MiB, except `gallery` (API → worker), which
// may carry a full snapshot of a large staff gallery and is allowed up to
// kMaxGalleryFrameBytes; a worker therefore reads with that larger limit.
inline constexpr size_t kMaxTextFrameBytes = 1 << 20;      // 1 MiB
inline constexpr size_t kMaxGalleryFrameBytes = 16 << 20;  // 16 MiB
inline constexpr size_t kMaxBinaryHeaderBytes = 64 << 10;  // 64 KiB
inline constexpr size_t kMaxBinaryFrameBytes = 8 << 20;    // 8 MiB, length prefix included
inline constexpr size_t kMaxIdLength = 256;                // ids: worker, camera, site, staff, face, model
inline constexpr size_t kMaxStringLength = 4096;           // names, urls, reasons, messages
inline constexpr size_t kMaxEmbeddingDim = 4096;           // floats per embedding
inline constexpr size_t kMaxListLength = 100000;           // cameras, tracks, ack ids, gallery entries
// Bad messages in a row after which the API closes with kCloseProtocolViolation.
inline constexpr int kMaxConsecutiveBadMessages = 3;
// The API drops a session that missed this many heartbeat intervals.
inline constexpr int kMissedHeartbeatsForTimeout = 3;

// `type` values of text frames.
inline constexpr std::string_view kTypeHello = "hello";
inline constexpr std::string_view kTypeHeartbeat = "heartbeat";
inline constexpr std::string_view kTypeEvent = "event";
inline constexpr std::string_view kTypeGoodbye = "goodbye";
inline constexpr std::string_view kTypeWelcome = "welcome";
inline constexpr std::string_view kTypeAssign = "assign";
inline constexpr std::string_view kTypeGallery = "gallery";
inline constexpr std::string_view kTypeCommand = "command";
inline constexpr std::string_view kTypeAck = "ack";
inline constexpr std::string_view kTypeError = "error";
// `type` values of binary frame headers.
inline constexpr std::string_view kBinaryTypeSnapshot = "snapshot";
inline constexpr std::string_view kBinaryTypeFrame = "frame";

// `error.code` values.
inline constexpr std::string_view kErrorDuplicateWorker = "duplicate_worker";
inline constexpr std::string_view kErrorBadMessage = "bad_message";
inline constexpr std::string_view kErrorUnknownType = "unknown_type";
inline constexpr std::string_view kErrorUnsupportedVersion = "unsupported_version";
inline constexpr std::string_view kErrorUnauthorized = "unauthorized";
inline constexpr std::string_view kErrorUnknownCommand = "unknown_command";
inline constexpr std::string_view kErrorInternal = "internal";

// `command.command` values.
inline constexpr std::string_view kCommandStartStream = "start_stream";
inline constexpr std::string_view kCommandStopStream = "stop_stream";
inline constexpr std::string_view kCommandReload = "reload";
inline constexpr std::string_view kCommandShutdown = "shutdown";

// Worker `state` values.
inline constexpr std::string_view kWorkerStarting = "starting";
inline constexpr std::string_view kWorkerConnecting = "connecting";
inline constexpr std::string_view kWorkerRegistering = "registering";
inline constexpr std::string_view kWorkerRunning = "running";
inline constexpr std::string_view kWorkerReconnecting = "reconnecting";
inline constexpr std::string_view kWorkerDraining = "draining";
inline constexpr std::string_view kWorkerStopped = "stopped";
inline constexpr std::string_view kWorkerFailed = "failed";
// Camera `state` values.
inline constexpr std::string_view kCameraStarting = "starting";
inline constexpr std::string_view kCameraRunning = "running";
inline constexpr std::string_view kCameraRetrying = "retrying";
inline constexpr std::string_view kCameraFailed = "failed";
inline constexpr std::string_view kCameraStopped = "stopped";

bool IsValidWorkerState(std::string_view s);
bool IsValidCameraState(std::string_view s);

// ---------------------------------------------------------------------------
// Shared parts

// [x, y, w, h] in pixels of the source frame.
using BBox = std::array<double, 4>;

// A camera the worker brings itself (hello.cameras).
struct LocalCamera {
  std::string id;
  std::string name;
  std::string url;
  friend bool operator==(const LocalCamera&, const LocalCamera&) = default;
};

// A camera the API assigns (welcome.cameras, assign.cameras).
struct CameraAssignment {
  std::string id;
  std::string name;
  std::string url;
  std::optional<std::string> site_id;
  double fps = 0;  // frames per second to process; > 0
  friend bool operator==(const CameraAssignment&, const CameraAssignment&) = default;
};

struct Capabilities {
  std::string detector;
  std::string embedder;
  std::vector<std::string> models;  // embedding model ids the worker produces
  int64_t max_cameras = 0;          // >= 0
  friend bool operator==(const Capabilities&, const Capabilities&) = default;
};

struct CameraStatus {
  std::string id;
  std::string state;  // kCamera*
  double fps = 0;     // >= 0, measured
  int64_t faces = 0;  // >= 0, faces in view / seen recently
  std::optional<std::string> error;
  friend bool operator==(const CameraStatus&, const CameraStatus&) = default;
};

// Cumulative counters since the worker's state directory was created (all >= 0).
struct WorkerStats {
  int64_t events_created = 0;
  int64_t events_acked = 0;
  int64_t events_spooled = 0;
  int64_t events_dropped = 0;
  int64_t faces_seen = 0;
  double cpu = 0;  // fraction of one core, >= 0
  int64_t rss_bytes = 0;
  int64_t uptime_s = 0;
  friend bool operator==(const WorkerStats&, const WorkerStats&) = default;
};

// ---------------------------------------------------------------------------
// Worker → API

struct Hello {
  int64_t protocol = kProtocolVersion;  // decoded as sent; the API checks it (4426)
  std::string worker_id;
  std::string host;
  int64_t pid = 0;
  std::string version;
  Capabilities capabilities;
  std::vector<LocalCamera> cameras;
  std::string state = std::string(kWorkerRegistering);
  friend bool operator==(const Hello&, const Hello&) = default;
};

struct Heartbeat {
  int64_t seq = 0;
  std::string state;       // kWorker*
  int64_t sent_at_ms = 0;  // wire: "sent_at", ISO-8601
  std::vector<CameraStatus> cameras;
  WorkerStats stats;
  friend bool operator==(const Heartbeat&, const Heartbeat&) = default;
};

struct Event {
  std::string event_id;  // UUID, chosen by the worker; the idempotency key
  std::string worker_id;
  std::string camera_id;
  std::optional<std::string> site_id;
  int64_t captured_at_ms = 0;  // wire: "captured_at", ISO-8601
  int64_t track_id = 0;
  BBox bbox{};
  double det_score = 0;          // [0, 1]
  double quality = 0;            // [0, 1]
  std::string model;             // embedding model id
  std::vector<float> embedding;  // L2-normalised, 1..kMaxEmbeddingDim floats, all finite
  std::optional<std::string> staff_id;
  std::optional<double> staff_similarity;
  bool has_snapshot = false;
  friend bool operator==(const Event&, const Event&) = default;
};

struct Goodbye {
  std::string reason;
  WorkerStats stats;
  friend bool operator==(const Goodbye&, const Goodbye&) = default;
};

// ---------------------------------------------------------------------------
// API → worker

struct Welcome {
  std::string session_id;                // UUID
  int64_t heartbeat_interval_ms = 5000;  // > 0
  std::vector<CameraAssignment> cameras;
  int64_t gallery_version = 0;
  friend bool operator==(const Welcome&, const Welcome&) = default;
};

struct Assign {
  std::vector<CameraAssignment> cameras;  // the full set; cameras not listed stop
  friend bool operator==(const Assign&, const Assign&) = default;
};

struct GalleryEntry {
  std::string staff_id;
  std::string name;
  std::string face_id;
  std::vector<float> embedding;
  friend bool operator==(const GalleryEntry&, const GalleryEntry&) = default;
};

struct Gallery {
  int64_t version = 0;
  bool full = false;  // true: replace the worker's gallery for `model`
  std::string model;
  std::vector<GalleryEntry> upsert;
  std::vector<std::string> remove;  // face ids; only in deltas (must be empty when full)
  friend bool operator==(const Gallery&, const Gallery&) = default;
};

// `args` are typed: start_stream needs camera_id (fps, max_width optional);
// stop_stream needs camera_id; reload and shutdown take none. Commands the
// decoder does not know are passed through (the worker answers
// error{code:"unknown_command"}).
struct Command {
  std::string command;
  std::optional<std::string> camera_id;
  std::optional<double> fps;         // > 0
  std::optional<int64_t> max_width;  // > 0
  friend bool operator==(const Command&, const Command&) = default;
};

struct Ack {
  std::vector<std::string> event_ids;  // UUIDs
  friend bool operator==(const Ack&, const Ack&) = default;
};

struct Error {
  std::string code;  // kError*
  std::string message;
  friend bool operator==(const Error&, const Error&) = default;
};

using Message = std::variant<Hello, Heartbeat, Event, Goodbye, Welcome, Assign, Gallery, Command, Ack, Error>;

// The wire `type` of a message ("hello", ...).
std::string_view TypeName(const Message& m);

// ---------------------------------------------------------------------------
// Binary frame headers

struct SnapshotHeader {
  std::string event_id;  // UUID of the event this crop belongs to
  std::string content_type = "image/jpeg";
  friend bool operator==(const SnapshotHeader&, const SnapshotHeader&) = default;
};

struct StreamTrack {
  int64_t track_id = 0;
  BBox bbox{};
  std::optional<std::string> name;
  std::optional<std::string> staff_id;
  friend bool operator==(const StreamTrack&, const StreamTrack&) = default;
};

struct StreamFrameHeader {
  std::string camera_id;
  int64_t seq = 0;
  int64_t captured_at_ms = 0;  // wire: "captured_at", ISO-8601
  int64_t width = 0;
  int64_t height = 0;
  std::vector<StreamTrack> tracks;
  friend bool operator==(const StreamFrameHeader&, const StreamFrameHeader&) = default;
};

}  // namespace vigil::protocol
