#include "api_test_helpers.h"

#include <stdlib.h>

#include <filesystem>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "vision/mock_faces.h"

namespace vigil::api::testing {

TempDir::TempDir() {
  std::string tmpl = (std::filesystem::temp_directory_path() / "vigil-api-test-XXXXXX").string();
  char* p = mkdtemp(tmpl.data());
  path_ = p ? p : tmpl;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

ApiConfig TestConfig(const std::string& data_dir) {
  ApiConfig c;
  c.port = 0;
  c.bind_address = "127.0.0.1";
  c.admin_token = kAdminToken;
  c.worker_api_key = kWorkerKey;
  c.data_dir = data_dir;
  c.database_url = "sqlite:///" + data_dir + "/vigil.db";
  c.mock_mode = true;
  c.detector_type = "mock";
  c.embedder_type = "mock";
  c.heartbeat_interval = std::chrono::milliseconds(5000);
  c.max_body_bytes = 1 << 20;
  c.threads = 2;
  return c;
}

Request MakeRequest(const std::string& method, const std::string& target, const std::string& body, bool auth) {
  Request r;
  r.method = method;
  size_t q = target.find('?');
  r.path = target.substr(0, q);
  if (q != std::string::npos) r.query = ParseQuery(target.substr(q + 1), &r.malformed_query);
  r.body = body;
  if (auth) r.headers["authorization"] = std::string("Bearer ") + kAdminToken;
  return r;
}

void FakeConnection::SendText(std::string text) {
  Json j = ParseJson(text).value_or(Json{{"unparsed", text}});
  if (on_send) on_send(j);
  {
    std::lock_guard lock(mu_);
    sent_.push_back(std::move(j));
  }
  cv_.notify_all();
}

void FakeConnection::Close(uint16_t code, std::string) {
  {
    std::lock_guard lock(mu_);
    if (close_code_ == 0) close_code_ = code;
  }
  cv_.notify_all();
}

Json FakeConnection::WaitFor(const std::function<bool(const Json&)>& pred, std::chrono::milliseconds timeout) {
  std::unique_lock lock(mu_);
  Json found;
  cv_.wait_for(lock, timeout, [&] {
    for (const auto& j : sent_) {
      if (pred(j)) {
        found = j;
        return true;
      }
    }
    return false;
  });
  return found;
}

bool FakeConnection::WaitUntil(const std::function<bool(const std::vector<Json>&)>& pred,
                               std::chrono::milliseconds timeout) {
  std::unique_lock lock(mu_);
  return cv_.wait_for(lock, timeout, [&] { return pred(sent_); });
}

bool FakeConnection::WaitClosed(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mu_);
  return cv_.wait_for(lock, timeout, [&] { return close_code_ != 0; });
}

std::vector<Json> FakeConnection::Messages() const {
  std::lock_guard lock(mu_);
  return sent_;
}

int FakeConnection::close_code() const {
  std::lock_guard lock(mu_);
  return close_code_;
}

namespace {
std::string Jpeg(const cv::Mat& m) {
  std::vector<uchar> buf;
  cv::imencode(".jpg", m, buf, {cv::IMWRITE_JPEG_QUALITY, 90});
  return std::string(buf.begin(), buf.end());
}
}  // namespace

std::string MockPhotoJpeg(int person) { return Jpeg(vision::RenderMockFacePhoto(person)); }

std::string TwoFacesJpeg() {
  cv::Mat m(480, 640, CV_8UC3, cv::Scalar(128, 128, 128));
  vision::DrawMockFace(m, 1, {40, 120}, 160);
  vision::DrawMockFace(m, 2, {380, 120}, 160);
  return Jpeg(m);
}

std::string BlankJpeg() { return Jpeg(cv::Mat(240, 320, CV_8UC3, cv::Scalar(128, 128, 128))); }

}  // namespace vigil::api::testing
