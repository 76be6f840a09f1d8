// LiveHub: fans JSON messages (new events, visits, worker status) out to
// every connected browser on /ws/live.
//
// Broadcast copies the subscriber list under the lock and sends outside it
// (as in Beast's chat-multi shared_state). Each subscriber's Deliver must not
// block: the WebSocket session queues with a bound and drops itself when a
// browser falls behind, so one slow browser never slows the hub or others.
//
// Thread-safety: all methods are safe to call concurrently.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "core/json_util.h"

namespace vigil::api {

class LiveSubscriber {
 public:
  virtual ~LiveSubscriber() = default;
  // Queues a text message; never blocks.
  virtual void Deliver(std::shared_ptr<const std::string> text) = 0;
  // Closes the subscriber (server shutdown).
  virtual void CloseLive() = 0;
};

class LiveHub {
 public:
  using Token = uint64_t;
  Token Join(std::weak_ptr<LiveSubscriber> s);
  void Leave(Token t);
  void Publish(const Json& message);
  void CloseAll();
  size_t size() const;

 private:
  mutable std::mutex mu_;
  std::map<Token, std::weak_ptr<LiveSubscriber>> subs_;
  Token next_ = 1;
};

}  // namespace vigil::api
