// Where frames come from: a video file, an RTSP/HTTP stream, a local device,
// a folder of images, a single image, or the synthetic mock scene.
//
// URL forms accepted by OpenFrameSource:
//   "rtsp://...", "rtsps://...", "http://...", "https://..."  network stream (FFmpeg)
//   "0", "1", ...                                           local device index
//   "/path/video.mp4"                                       video file
//   "/path/folder"                                          images in name order
//   "/path/photo.jpg"                                       one image
//   any of the three above + "?loop=1"                      replayed from the start
//                                                           at its end, forever
//                                                           ("file://" prefix allowed)
//   "mock://<name>[?fail_after=N&width=W&height=H]"          synthetic scene (mock_faces.h)
//
// Read() errors:
//   NotFound     end of a finite source (file, folder, image): nothing more will come
//                (never for ?loop=1, unless not a single frame can be read);
//   Unavailable  a live source stopped delivering (camera unplugged, stream
//                dropped); reopening later may succeed.
// OpenFrameSource errors: NotFound for a path that does not exist,
// Unavailable for a stream or device that cannot be opened, InvalidArgument
// for a malformed URL.
//
// Thread-safety: a FrameSource is used by one thread at a time.
#pragma once

#include <cstdint>
#include <memory>
#include <opencv2/core/mat.hpp>
#include <string>

#include "core/clock.h"
#include "core/status.h"

namespace vigil::vision {

struct Frame {
  cv::Mat bgr;                   // 8-bit, 3 channels
  int64_t captured_unix_ms = 0;  // from the injected clock at capture
  int64_t seq = 0;               // 0, 1, 2, ... per source
};

class FrameSource {
 public:
  virtual ~FrameSource() = default;
  // The next frame. Blocks at most as long as the underlying capture does;
  // never sleeps to pace frames (the caller decides the rate).
  virtual Result<Frame> Read() = 0;
  // The URL it was opened with (without secrets: user:password is masked).
  virtual std::string url() const = 0;
  // True for cameras and streams, false for files, folders and images.
  // The synthetic source counts as live.
  virtual bool is_live() const = 0;
};
using FrameSourcePtr = std::unique_ptr<FrameSource>;

// `clock` must outlive the source.
Result<FrameSourcePtr> OpenFrameSource(const std::string& url, Clock& clock);

// "rtsp://user:secret@host/x" -> "rtsp://user:***@host/x"; other URLs unchanged.
std::string MaskUrlCredentials(const std::string& url);

}  // namespace vigil::vision
