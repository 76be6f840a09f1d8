#include "api/live_hub.h"

#include <vector>

namespace vigil::api {

LiveHub::Token LiveHub::Join(std::weak_ptr<LiveSubscriber> s) {
  std::lock_guard lock(mu_);
  Token t = next_++;
  subs_.emplace(t, std::move(s));
  return t;
}

void LiveHub::Leave(Token t) {
  std::lock_guard lock(mu_);
  subs_.erase(t);
}

void LiveHub::Publish(const Json& message) {
  std::vector<std::weak_ptr<LiveSubscriber>> targets;
  {
    std::lock_guard lock(mu_);
    if (subs_.empty()) return;
    targets.reserve(subs_.size());
    for (const auto& [t, s] : subs_) targets.push_back(s);
  }
  auto text = std::make_shared<const std::string>(DumpJson(message));
  for (auto& w : targets) {
    if (auto s = w.lock()) s->Deliver(text);
  }
}

void LiveHub::CloseAll() {
  std::vector<std::weak_ptr<LiveSubscriber>> targets;
  {
    std::lock_guard lock(mu_);
    for (const auto& [t, s] : subs_) targets.push_back(s);
  }
  for (auto& w : targets) {
    if (auto s = w.lock()) s->CloseLive();
  }
}

size_t LiveHub::size() const {
  std::lock_guard lock(mu_);
  return subs_.size();
}

}  // namespace vigil::api
