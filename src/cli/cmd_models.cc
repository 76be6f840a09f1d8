#include "cli/commands.h"

namespace vigil::cli {

void AddModelsCommand(CLI::App& app, CommandContext& ctx) {
  auto* cmd = app.add_subcommand("models", "Install, list and add face models");
  cmd->require_subcommand(1);
  (void)ctx;
}

}  // namespace vigil::cli
