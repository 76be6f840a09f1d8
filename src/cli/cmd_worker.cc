#include <iostream>

#include "cli/commands.h"

namespace vigil::cli {

// Placeholder until the worker issue lands: validates the configuration and
// reports that the command is not built yet.
void AddWorkerCommand(CLI::App& app, CommandContext& ctx) {
  auto* cmd = app.add_subcommand("worker", "Run a worker (cameras -> face events -> API)");
  auto flags = std::make_shared<ConfigFlags>();
  AddConfigFlags(cmd, "worker", flags.get());
  cmd->callback([&ctx, flags] {
    auto src = LoadConfig("worker", *flags);
    if (!src.ok()) {
      PrintError("worker", src.status());
      ctx.exit_code = 2;
      return;
    }
    auto cfg = BuildWorkerConfig(*src);
    if (!cfg.ok()) {
      PrintError("worker", cfg.status());
      ctx.exit_code = 2;
      return;
    }
    PrintError("worker", Unimplemented("not built yet"));
    ctx.exit_code = 3;
  });
}

}  // namespace vigil::cli
