// CameraAssigner: which online worker runs each enabled camera.
//
// Rules, in order:
//  1. a pinned camera (brought by a worker in its hello) stays with that
//     worker while it is online, and is unassigned while it is not;
//  2. a camera keeps its current worker while that worker is online and
//     within its max_cameras (stability: no needless camera moves);
//  3. every other enabled camera goes to the least-loaded online worker with
//     room (ties broken by worker id, so the result is deterministic);
//  4. rebalance: while the most and least loaded workers differ by more than
//     one camera, one unpinned camera moves from the former to the latter
//     (this is what gives a newly joined worker its share);
//  5. a disabled camera, or one no worker has room for, is unassigned.
// Each camera ends with at most one worker, and no worker exceeds max_cameras
// (0 means no limit).
//
// Thread-safety: a pure function.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace vigil::api {

struct AssignableCamera {
  std::string id;
  bool enabled = true;
  bool pinned = false;
  std::optional<std::string> worker_id;  // current (or pinning) worker
};

struct AssignableWorker {
  std::string id;
  int max_cameras = 0;  // 0: unlimited
};

// camera id -> worker id (nullopt: unassigned), for every camera given.
std::map<std::string, std::optional<std::string>> AssignCameras(const std::vector<AssignableCamera>& cameras,
                                                                const std::vector<AssignableWorker>& online);

}  // namespace vigil::api
