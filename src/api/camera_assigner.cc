#include "api/camera_assigner.h"

#include <algorithm>
#include <limits>

namespace vigil::api {

std::map<std::string, std::optional<std::string>> AssignCameras(const std::vector<AssignableCamera>& cameras,
                                                                const std::vector<AssignableWorker>& online) {
  std::map<std::string, std::optional<std::string>> out;
  std::map<std::string, int> capacity;  // worker -> max (INT_MAX when unlimited)
  std::map<std::string, int> load;
  for (const auto& w : online) {
    capacity[w.id] = w.max_cameras > 0 ? w.max_cameras : std::numeric_limits<int>::max();
    load[w.id] = 0;
  }
  auto is_online = [&](const std::optional<std::string>& w) { return w && capacity.count(*w) > 0; };

  std::vector<const AssignableCamera*> sorted;
  for (const auto& c : cameras) sorted.push_back(&c);
  std::sort(sorted.begin(), sorted.end(), [](auto* a, auto* b) { return a->id < b->id; });

  // 1. pinned cameras.
  for (const auto* c : sorted) {
    if (!c->pinned) continue;
    if (c->enabled && is_online(c->worker_id)) {
      out[c->id] = c->worker_id;
      ++load[*c->worker_id];
    } else {
      out[c->id] = std::nullopt;
    }
  }
  // 2. keep current placements within capacity.
  std::vector<const AssignableCamera*> pending;
  for (const auto* c : sorted) {
    if (c->pinned) continue;
    if (!c->enabled) {
      out[c->id] = std::nullopt;
      continue;
    }
    if (is_online(c->worker_id) && load[*c->worker_id] < capacity[*c->worker_id]) {
      out[c->id] = c->worker_id;
      ++load[*c->worker_id];
    } else {
      pending.push_back(c);
    }
  }
  auto least_loaded_with_room = [&]() -> std::optional<std::string> {
    std::optional<std::string> best;
    for (const auto& [id, n] : load) {  // map order = id order, so ties go to the smallest id
      if (n >= capacity[id]) continue;
      if (!best || n < load[*best]) best = id;
    }
    return best;
  };
  // 3. place the rest.
  for (const auto* c : pending) {
    auto w = least_loaded_with_room();
    out[c->id] = w;
    if (w) ++load[*w];
  }
  // 4. rebalance unpinned cameras.
  for (;;) {
    std::optional<std::string> most;
    for (const auto& [id, n] : load) {
      if (!most || n > load[*most]) most = id;
    }
    auto least = least_loaded_with_room();
    if (!most || !least || load[*most] - load[*least] <= 1) break;
    // Move the movable camera with the largest id (deterministic).
    std::optional<std::string> victim;
    for (auto it = sorted.rbegin(); it != sorted.rend(); ++it) {
      const auto* c = *it;
      if (!c->pinned && out[c->id] == most) {
        victim = c->id;
        break;
      }
    }
    if (!victim) break;  // all of its cameras are pinned
    out[*victim] = least;
    --load[*most];
    ++load[*least];
  }
  return out;
}

}  // namespace vigil::api
