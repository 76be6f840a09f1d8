// The process's own CPU use and resident memory, from /proc/self.
//
// Thread-safety: a ProcStats is used by one thread (the heartbeat).
#pragma once

#include <cstdint>

namespace vigil::worker {

class ProcStats {
 public:
  ProcStats();
  // Fraction of one core used since the previous call (or construction).
  double CpuSinceLast();
  static int64_t RssBytes();

 private:
  double last_cpu_s_ = 0;
  double last_wall_s_ = 0;
};

}  // namespace vigil::worker
