#include <iostream>

#include "cli/commands.h"
#include "version.h"

namespace vigil::cli {

void AddVersionCommand(CLI::App& app, CommandContext& ctx) {
  auto* cmd = app.add_subcommand("version", "Print the version and git revision");
  cmd->callback([&ctx] {
    std::cout << "vigil " << VIGIL_VERSION << " (git " << VIGIL_GIT_REV << ")" << std::endl;
    ctx.exit_code = 0;
  });
}

}  // namespace vigil::cli
