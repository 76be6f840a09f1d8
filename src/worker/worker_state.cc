#include "worker/worker_state.h"

#include "core/logging.h"

namespace vigil::worker {

std::string_view WorkerStateName(WorkerState s) {
  switch (s) {
    case WorkerState::kStarting: return "starting";
    case WorkerState::kConnecting: return "connecting";
    case WorkerState::kRegistering: return "registering";
    case WorkerState::kRunning: return "running";
    case WorkerState::kReconnecting: return "reconnecting";
    case WorkerState::kDraining: return "draining";
    case WorkerState::kStopped: return "stopped";
    case WorkerState::kFailed: return "failed";
  }
  return "unknown";
}

bool IsAllowedTransition(WorkerState from, WorkerState to) {
  using S = WorkerState;
  if (from == S::kStopped || from == S::kFailed) return false;
  if (to == S::kFailed) return true;
  switch (from) {
    case S::kStarting: return to == S::kConnecting || to == S::kDraining;
    case S::kConnecting: return to == S::kRegistering || to == S::kReconnecting || to == S::kDraining;
    case S::kRegistering: return to == S::kRunning || to == S::kReconnecting || to == S::kDraining;
    case S::kRunning: return to == S::kReconnecting || to == S::kDraining;
    case S::kReconnecting: return to == S::kRunning || to == S::kDraining;
    case S::kDraining: return to == S::kStopped;
    default: return false;
  }
}

WorkerStateMachine::WorkerStateMachine(Observer observer) : observer_(std::move(observer)) {
  if (!observer_) {
    observer_ = [](WorkerState from, WorkerState to, const std::string& reason) {
      auto log = GetLogger("worker");
      auto level = to == WorkerState::kFailed ? spdlog::level::err
                   : to == WorkerState::kReconnecting ? spdlog::level::warn
                                                      : spdlog::level::info;
      log->log(level, "state {} -> {} reason={}", WorkerStateName(from), WorkerStateName(to), LogValue(reason));
    };
  }
}

WorkerState WorkerStateMachine::state() const {
  std::lock_guard<std::mutex> lock(mu_);
  return state_;
}

bool WorkerStateMachine::terminal() const {
  std::lock_guard<std::mutex> lock(mu_);
  return state_ == WorkerState::kStopped || state_ == WorkerState::kFailed;
}

int WorkerStateMachine::transitions() const {
  std::lock_guard<std::mutex> lock(mu_);
  return transitions_;
}

Status WorkerStateMachine::TransitionTo(WorkerState next, const std::string& reason) {
  WorkerState from;
  {
    std::lock_guard<std::mutex> lock(mu_);
    from = state_;
    if (from == next) return Status::Ok();
    if (!IsAllowedTransition(from, next)) {
      return FailedPrecondition("no transition " + std::string(WorkerStateName(from)) + " -> " +
                                std::string(WorkerStateName(next)));
    }
    state_ = next;
    ++transitions_;
  }
  if (observer_) observer_(from, next, reason);
  return Status::Ok();
}

}  // namespace vigil::worker
