// Who this worker is, and its private corner of VIGIL_STATE_DIR.
//
// Layout: <state_dir>/<worker_id>/ holds the worker's spool and counters and a
// `lock` file that the running worker holds an exclusive flock(2) on, so two
// processes never share one id's spool. A worker without WORKER_ID reuses a
// generated id (directories marked with a `generated` file) whose lock is
// free, or generates and persists a new one ("worker-<8 hex>"). Hence
// `WORKER_ID=worker-001 vigil worker` and `WORKER_ID=worker-002 vigil worker`
// run side by side with no further setup, and a restarted worker comes back
// as itself.
//
// Thread-safety: call once at startup.
#pragma once

#include <string>

#include "core/status.h"

namespace vigil::worker {

class WorkerIdentity {
 public:
  // `configured`: WORKER_ID (may be empty). FailedPrecondition when a worker
  // with that id already runs on this state directory.
  static Result<WorkerIdentity> Acquire(const std::string& configured, const std::string& state_dir);
  WorkerIdentity(WorkerIdentity&& other) noexcept;
  WorkerIdentity& operator=(WorkerIdentity&&) = delete;
  ~WorkerIdentity();

  const std::string& id() const { return id_; }
  bool generated() const { return generated_; }
  // <state_dir>/<id>
  const std::string& dir() const { return dir_; }

 private:
  WorkerIdentity(std::string id, std::string dir, int lock_fd, bool generated)
      : id_(std::move(id)), dir_(std::move(dir)), lock_fd_(lock_fd), generated_(generated) {}
  std::string id_;
  std::string dir_;
  int lock_fd_ = -1;
  bool generated_ = false;
};

}  // namespace vigil::worker
