// vigil: one executable, git-style subcommands.
#include <CLI/CLI.hpp>
#include <iostream>

#include "cli/commands.h"
#include "core/logging.h"

int main(int argc, char** argv) {
  vigil::InitLogging(vigil::LogOptionsFromEnv());
  CLI::App app{"Vigil: self-hosted face recognition for shops and offices", "vigil"};
  app.require_subcommand(1);
  app.set_help_all_flag("--help-all", "Show help for every command");
  vigil::cli::CommandContext ctx;
  vigil::cli::AddVersionCommand(app, ctx);
  vigil::cli::AddApiCommand(app, ctx);
  vigil::cli::AddWorkerCommand(app, ctx);
  vigil::cli::AddModelsCommand(app, ctx);
  vigil::cli::AddFaceCommands(app, ctx);
  vigil::cli::AddLoadgenCommand(app, ctx);
  vigil::cli::AddDemoCommand(app, ctx);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  return ctx.exit_code;
}
