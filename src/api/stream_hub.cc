#include "api/stream_hub.h"

#include <algorithm>

#include "core/logging.h"

namespace vigil::api {

namespace {
std::shared_ptr<spdlog::logger> Log() {
  static auto log = GetLogger("stream");
  return log;
}
}  // namespace

StreamHub::StreamHub(CommandSender send) : send_(std::move(send)) {}

bool StreamHub::SendLocked(const std::string& worker_id, const std::string& command, const std::string& camera_id,
                           const StreamParams* params) {
  protocol::Command cmd;
  cmd.command = command;
  cmd.camera_id = camera_id;
  if (params) {
    cmd.fps = params->fps;
    cmd.max_width = params->max_width;
  }
  bool sent = send_ && send_(worker_id, cmd);
  if (sent) {
    Log()->info("{} camera={} worker_id={}", command, LogValue(camera_id), LogValue(worker_id));
  } else {
    Log()->info("{} not sent, worker offline camera={} worker_id={}", command, LogValue(camera_id), LogValue(worker_id));
  }
  return sent;
}

Result<StreamHub::Token> StreamHub::Join(const std::string& camera_id, const std::string& worker_id,
                                         StreamParams params, std::weak_ptr<StreamViewer> viewer) {
  std::vector<StreamViewerPtr> orphans;  // viewers of a stream whose camera moved to another worker
  Token token = 0;
  {
    std::lock_guard lock(mu_);
    if (closed_) return Unavailable("the API is shutting down");
    auto it = cameras_.find(camera_id);
    if (it != cameras_.end() && it->second.worker_id != worker_id) {
      SendLocked(it->second.worker_id, std::string(protocol::kCommandStopStream), camera_id, nullptr);
      orphans = TakeCameraLocked(camera_id);
      it = cameras_.end();
    }
    if (it == cameras_.end()) {
      if (!SendLocked(worker_id, std::string(protocol::kCommandStartStream), camera_id, &params)) {
        return Unavailable("the worker running this camera went offline");
      }
      it = cameras_.emplace(camera_id, CameraStream{worker_id, params, {}}).first;
    } else if (params.fps > it->second.params.fps || params.max_width > it->second.params.max_width) {
      // The stream serves its most demanding viewer; the others drop what they cannot read.
      it->second.params.fps = std::max(params.fps, it->second.params.fps);
      it->second.params.max_width = std::max(params.max_width, it->second.params.max_width);
      SendLocked(worker_id, std::string(protocol::kCommandStartStream), camera_id, &it->second.params);
    }
    token = next_token_++;
    it->second.viewers.insert(token);
    viewers_.emplace(token, std::make_pair(camera_id, std::move(viewer)));
  }
  for (auto& v : orphans) v->End();
  return token;
}

void StreamHub::Leave(Token token) {
  std::lock_guard lock(mu_);
  auto v = viewers_.find(token);
  if (v == viewers_.end()) return;
  std::string camera_id = v->second.first;
  viewers_.erase(v);
  auto it = cameras_.find(camera_id);
  if (it == cameras_.end()) return;
  it->second.viewers.erase(token);
  if (!it->second.viewers.empty()) return;
  SendLocked(it->second.worker_id, std::string(protocol::kCommandStopStream), camera_id, nullptr);
  cameras_.erase(it);
}

std::string StreamHub::BuildPart(const Json& meta, std::string_view jpeg) {
  std::string m = DumpJson(meta);  // one line: JSON escapes control characters
  std::string part;
  part.reserve(jpeg.size() + m.size() + 128);
  part += "--";
  part += kBoundary;
  part += "\r\nContent-Type: image/jpeg\r\nContent-Length: ";
  part += std::to_string(jpeg.size());
  part += "\r\nX-Vigil-Meta: ";
  part += m;
  part += "\r\n\r\n";
  part.append(jpeg.data(), jpeg.size());
  part += "\r\n";
  return part;
}

void StreamHub::OnFrame(const std::string& camera_id, const Json& header, std::string_view jpeg) {
  std::vector<StreamViewerPtr> targets;
  {
    std::lock_guard lock(mu_);
    auto it = cameras_.find(camera_id);
    if (it == cameras_.end()) return;  // a frame sent before stop_stream arrived
    for (Token t : it->second.viewers) {
      if (auto v = viewers_.at(t).second.lock()) targets.push_back(std::move(v));
    }
  }
  if (targets.empty()) return;
  Json meta = Json::object();
  for (const char* key : {"seq", "captured_at", "width", "height", "tracks"}) {
    if (header.contains(key)) meta[key] = header[key];
  }
  auto part = std::make_shared<const std::string>(BuildPart(meta, jpeg));
  frames_relayed_.fetch_add(1);
  for (auto& v : targets) v->Offer(part);
}

std::vector<StreamViewerPtr> StreamHub::TakeCameraLocked(const std::string& camera_id) {
  std::vector<StreamViewerPtr> out;
  auto it = cameras_.find(camera_id);
  if (it == cameras_.end()) return out;
  for (Token t : it->second.viewers) {
    auto v = viewers_.find(t);
    if (v == viewers_.end()) continue;
    if (auto p = v->second.second.lock()) out.push_back(std::move(p));
    viewers_.erase(v);
  }
  cameras_.erase(it);
  return out;
}

void StreamHub::WorkerGone(const std::string& worker_id) {
  std::vector<StreamViewerPtr> ended;
  {
    std::lock_guard lock(mu_);
    std::vector<std::string> ids;
    for (const auto& [cam, s] : cameras_) {
      if (s.worker_id == worker_id) ids.push_back(cam);
    }
    for (const auto& cam : ids) {
      auto v = TakeCameraLocked(cam);
      ended.insert(ended.end(), v.begin(), v.end());
    }
  }
  if (!ended.empty()) Log()->info("worker gone, ending live viewers worker_id={} viewers={}", LogValue(worker_id), ended.size());
  for (auto& v : ended) v->End();
}

void StreamHub::EndCamera(const std::string& camera_id) {
  std::vector<StreamViewerPtr> ended;
  {
    std::lock_guard lock(mu_);
    auto it = cameras_.find(camera_id);
    if (it == cameras_.end()) return;
    SendLocked(it->second.worker_id, std::string(protocol::kCommandStopStream), camera_id, nullptr);
    ended = TakeCameraLocked(camera_id);
  }
  for (auto& v : ended) v->End();
}

void StreamHub::CloseAll() {
  std::vector<StreamViewerPtr> ended;
  {
    std::lock_guard lock(mu_);
    closed_ = true;
    for (const auto& [cam, s] : cameras_) {
      SendLocked(s.worker_id, std::string(protocol::kCommandStopStream), cam, nullptr);
    }
    for (auto& [t, v] : viewers_) {
      if (auto p = v.second.lock()) ended.push_back(std::move(p));
    }
    viewers_.clear();
    cameras_.clear();
  }
  for (auto& v : ended) v->End();
}

std::vector<std::pair<std::string, std::string>> StreamHub::ActiveStreams() const {
  std::lock_guard lock(mu_);
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& [cam, s] : cameras_) out.emplace_back(cam, s.worker_id);
  return out;
}

size_t StreamHub::viewers() const {
  std::lock_guard lock(mu_);
  return viewers_.size();
}

}  // namespace vigil::api
