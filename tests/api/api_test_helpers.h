// Shared fixtures of the api tests: a temporary data directory, a test
// configuration (MOCK_MODE, SQLite in the temp dir) and a fake worker
// connection that records what the hub sends.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include "api/http_types.h"
#include "api/worker_hub.h"
#include "core/config.h"
#include "core/json_util.h"

namespace vigil::api::testing {

class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

ApiConfig TestConfig(const std::string& data_dir);

inline constexpr const char* kAdminToken = "test-admin-token-123";
inline constexpr const char* kWorkerKey = "test-worker-key-456";

Request MakeRequest(const std::string& method, const std::string& target, const std::string& body = "",
                    bool auth = true);

class FakeConnection final : public WorkerConnection {
 public:
  void SendText(std::string text) override;
  void Close(uint16_t code, std::string reason) override;

  // Waits (bounded) until a sent message satisfies `pred`; returns it or null.
  Json WaitFor(const std::function<bool(const Json&)>& pred, std::chrono::milliseconds timeout =
                                                                 std::chrono::seconds(10));
  Json WaitForType(const std::string& type) {
    return WaitFor([&](const Json& j) { return j.value("type", "") == type; });
  }
  // Waits (bounded) until `pred` holds for everything sent so far.
  bool WaitUntil(const std::function<bool(const std::vector<Json>&)>& pred,
                 std::chrono::milliseconds timeout = std::chrono::seconds(10));
  bool WaitClosed(std::chrono::milliseconds timeout = std::chrono::seconds(10));
  std::vector<Json> Messages() const;
  int close_code() const;
  // Called (under no lock) for every message as it is sent.
  std::function<void(const Json&)> on_send;

 private:
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Json> sent_;
  int close_code_ = 0;
};

// A JPEG of `img` (a cv::Mat hidden behind void* to keep OpenCV out of here).
std::string MockPhotoJpeg(int person);
std::string TwoFacesJpeg();
std::string BlankJpeg();

}  // namespace vigil::api::testing
