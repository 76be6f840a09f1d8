#include <iostream>

#include "cli/commands.h"

namespace vigil::cli {

// Placeholder until the api issue lands: validates the configuration and
// reports that the command is not built yet.
void AddApiCommand(CLI::App& app, CommandContext& ctx) {
  auto* cmd = app.add_subcommand("api", "Run the API server (REST, WebSocket, dashboard)");
  auto flags = std::make_shared<ConfigFlags>();
  AddConfigFlags(cmd, "api", flags.get());
  cmd->callback([&ctx, flags] {
    auto src = LoadConfig("api", *flags);
    if (!src.ok()) {
      PrintError("api", src.status());
      ctx.exit_code = 2;
      return;
    }
    auto cfg = BuildApiConfig(*src);
    if (!cfg.ok()) {
      PrintError("api", cfg.status());
      ctx.exit_code = 2;
      return;
    }
    PrintError("api", Unimplemented("not built yet"));
    ctx.exit_code = 3;
  });
}

}  // namespace vigil::cli
