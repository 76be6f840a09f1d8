#include "worker/proc_stats.h"

#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>

namespace vigil::worker {
namespace {

double CpuSeconds() {
  rusage ru{};
  if (getrusage(RUSAGE_SELF, &ru) != 0) return 0;
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

double WallSeconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

}  // namespace

ProcStats::ProcStats() : last_cpu_s_(CpuSeconds()), last_wall_s_(WallSeconds()) {}

double ProcStats::CpuSinceLast() {
  double cpu = CpuSeconds(), wall = WallSeconds();
  double dt = wall - last_wall_s_;
  double used = dt > 0 ? (cpu - last_cpu_s_) / dt : 0;
  last_cpu_s_ = cpu;
  last_wall_s_ = wall;
  return used < 0 ? 0 : used;
}

int64_t ProcStats::RssBytes() {
  FILE* f = std::fopen("/proc/self/statm", "r");
  if (!f) return 0;
  long long size = 0, resident = 0;
  int n = std::fscanf(f, "%lld %lld", &size, &resident);
  std::fclose(f);
  if (n != 2) return 0;
  return static_cast<int64_t>(resident) * static_cast<int64_t>(sysconf(_SC_PAGESIZE));
}

}  // namespace vigil::worker
