#include "worker/worker_identity.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "core/uuid.h"
#include "worker/env.h"

namespace vigil::worker {
namespace {

// Opens and locks <dir>/lock. Returns the fd, -1 when another process holds
// it, or an error.
Result<int> TryLock(const std::string& dir) {
  std::string path = dir + "/lock";
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return Unavailable("open " + path + ": " + std::strerror(errno));
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    int err = errno;
    ::close(fd);
    if (err == EWOULDBLOCK) return -1;
    return Unavailable("flock " + path + ": " + std::strerror(err));
  }
  return fd;
}

}  // namespace

WorkerIdentity::WorkerIdentity(WorkerIdentity&& o) noexcept
    : id_(std::move(o.id_)), dir_(std::move(o.dir_)), lock_fd_(o.lock_fd_), generated_(o.generated_) {
  o.lock_fd_ = -1;
}

WorkerIdentity::~WorkerIdentity() {
  if (lock_fd_ >= 0) ::close(lock_fd_);
}

Result<WorkerIdentity> WorkerIdentity::Acquire(const std::string& configured, const std::string& state_dir) {
  Env& env = DefaultEnv();
  VIGIL_RETURN_IF_ERROR(env.CreateDirs(state_dir).WithContext("VIGIL_STATE_DIR"));
  if (!configured.empty()) {
    std::string dir = state_dir + "/" + configured;
    VIGIL_RETURN_IF_ERROR(env.CreateDirs(dir));
    VIGIL_ASSIGN_OR_RETURN(int fd, TryLock(dir));
    if (fd < 0) {
      return FailedPrecondition("another worker with id " + configured + " is already running on " + state_dir +
                                " (set a different WORKER_ID)");
    }
    return WorkerIdentity(configured, dir, fd, false);
  }
  VIGIL_ASSIGN_OR_RETURN(auto names, env.ListDir(state_dir));
  std::sort(names.begin(), names.end());
  for (const auto& name : names) {
    std::string dir = state_dir + "/" + name;
    if (!env.ReadFile(dir + "/generated").ok()) continue;
    VIGIL_ASSIGN_OR_RETURN(int fd, TryLock(dir));
    if (fd >= 0) return WorkerIdentity(name, dir, fd, true);
  }
  std::string id = "worker-" + RandomHex(4);
  std::string dir = state_dir + "/" + id;
  VIGIL_RETURN_IF_ERROR(env.CreateDirs(dir));
  VIGIL_ASSIGN_OR_RETURN(int fd, TryLock(dir));
  if (fd < 0) return Internal("fresh worker directory " + dir + " is locked");
  VIGIL_RETURN_IF_ERROR(env.WriteFileAtomic(dir + "/generated", id + "\n", true));
  return WorkerIdentity(id, dir, fd, true);
}

}  // namespace vigil::worker
