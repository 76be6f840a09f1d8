// `vigil worker`: wiring only. Configuration → identity → Worker::Run, with
// SIGINT/SIGTERM handled on a dedicated thread (sigwait): the first signal
// starts a clean shutdown, a second one exits at once (the spool keeps what
// was not sent).
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <iostream>
#include <thread>

#include "cli/commands.h"
#include "core/clock.h"
#include "version.h"
#include "worker/worker.h"
#include "worker/worker_identity.h"

namespace vigil::cli {

void AddWorkerCommand(CLI::App& app, CommandContext& ctx) {
  auto* cmd = app.add_subcommand("worker", "Run a worker (cameras -> face events -> API)");
  auto flags = std::make_shared<ConfigFlags>();
  AddConfigFlags(cmd, "worker", flags.get());
  cmd->callback([&ctx, flags] {
    auto src = LoadConfig("worker", *flags);
    if (!src.ok()) {
      PrintError("worker", src.status());
      ctx.exit_code = worker::kExitConfig;
      return;
    }
    auto cfg = BuildWorkerConfig(*src);
    if (!cfg.ok()) {
      PrintError("worker", cfg.status());
      ctx.exit_code = worker::kExitConfig;
      return;
    }
    auto identity = worker::WorkerIdentity::Acquire(cfg->worker_id, cfg->state_dir);
    if (!identity.ok()) {
      PrintError("worker", identity.status());
      ctx.exit_code = worker::kExitConfig;
      return;
    }
    // RTSP over UDP makes FFmpeg bind local RTP/RTCP ports, and a worker must
    // hold no listening or bound socket: ask for RTP interleaved over the
    // RTSP TCP connection unless the operator chose otherwise. Set before any
    // thread starts (setenv is not safe against concurrent getenv).
    setenv("OPENCV_FFMPEG_CAPTURE_OPTIONS", "rtsp_transport;tcp", /*overwrite=*/0);
    // Block the signals before any thread starts, so only sigwait sees them.
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGINT);
    sigaddset(&signals, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &signals, nullptr);

    worker::WorkerSetup setup;
    setup.config = *cfg;
    setup.worker_id = identity->id();
    setup.worker_dir = identity->dir();
    setup.version = VIGIL_VERSION;
    auto w = worker::Worker::Create(setup, SystemClock::Instance());
    if (!w.ok()) {
      PrintError("worker", w.status());
      ctx.exit_code = worker::kExitConfig;
      return;
    }
    worker::Worker* raw = w->get();
    static std::atomic<bool> running{true};
    std::thread signal_thread([signals, raw] {
      int count = 0;
      for (;;) {
        int sig = 0;
        if (sigwait(&signals, &sig) != 0) continue;
        if (++count == 1 && running) {
          raw->RequestShutdown();
        } else {
          // Second signal: leave now; unsent events stay in the spool.
          static const char msg[] = "vigil worker: second signal, exiting now\n";
          (void)!write(STDERR_FILENO, msg, sizeof msg - 1);
          _exit(128 + sig);
        }
      }
    });
    signal_thread.detach();
    int rc = (*w)->Run();
    running = false;
    if (rc != worker::kExitOk && !(*w)->failure().empty()) {
      PrintError("worker", Status(StatusCode::kFailedPrecondition, (*w)->failure()));
    }
    ctx.exit_code = rc;
  });
}

}  // namespace vigil::cli
