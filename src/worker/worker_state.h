// The worker's lifecycle:
//
//   Starting → Connecting → Registering → Running ⇄ Reconnecting → Draining → Stopped
//                                         (any live state) → Failed
//
// Reconnecting covers the whole retry cycle (backoff, connect, hello) until a
// new `welcome` returns the worker to Running. Draining is entered from any
// live state on shutdown. Stopped and Failed are terminal. Each transition is
// logged once by the machine; staying in the same state is a no-op.
//
// Thread-safety: all methods are safe to call concurrently.
#pragma once

#include <functional>
#include <mutex>
#include <string>
#include <string_view>

#include "core/status.h"

namespace vigil::worker {

enum class WorkerState { kStarting, kConnecting, kRegistering, kRunning, kReconnecting, kDraining, kStopped, kFailed };

// The protocol's name of a state ("running", ...).
std::string_view WorkerStateName(WorkerState s);
bool IsAllowedTransition(WorkerState from, WorkerState to);

class WorkerStateMachine {
 public:
  // Called (under no lock) after each transition; the default logs one line.
  using Observer = std::function<void(WorkerState from, WorkerState to, const std::string& reason)>;
  explicit WorkerStateMachine(Observer observer = nullptr);

  WorkerState state() const;
  // Moves to `next`. OK and nothing logged when already there;
  // FailedPrecondition for a transition the diagram does not have (the state
  // is left unchanged).
  Status TransitionTo(WorkerState next, const std::string& reason);
  bool terminal() const;
  // How many transitions happened (for tests).
  int transitions() const;

 private:
  mutable std::mutex mu_;
  WorkerState state_ = WorkerState::kStarting;
  int transitions_ = 0;
  Observer observer_;
};

}  // namespace vigil::worker
