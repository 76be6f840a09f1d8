#include <iostream>

#include "api/server.h"
#include "cli/commands.h"
#include "core/clock.h"

namespace vigil::cli {

// `vigil api`: loads ApiConfig, runs the server until SIGINT/SIGTERM, exits 0
// after a graceful shutdown (2: bad configuration, 1: startup failure).
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
    auto server = api::ApiServer::Create(*cfg, SystemClock::Instance(), &std::cout);
    if (!server.ok()) {
      PrintError("api", server.status());
      ctx.exit_code = 1;
      return;
    }
    Status st = (*server)->RunUntilSignal();
    if (!st.ok()) {
      PrintError("api", st);
      ctx.exit_code = 1;
      return;
    }
    server->reset();  // closes the database
    ctx.exit_code = 0;
  });
}

}  // namespace vigil::cli
