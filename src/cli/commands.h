// The subcommands of the `vigil` executable. Each lives in its own cmd_*.cc
// and only wires libraries together; main() registers them all.
#pragma once

#include <CLI/CLI.hpp>
#include <map>
#include <string>

#include "core/config.h"
#include "core/status.h"

namespace vigil::cli {

// Shared by every command: the exit code the process returns.
struct CommandContext {
  int exit_code = 0;
};

void AddVersionCommand(CLI::App& app, CommandContext& ctx);
void AddApiCommand(CLI::App& app, CommandContext& ctx);
void AddWorkerCommand(CLI::App& app, CommandContext& ctx);
void AddModelsCommand(CLI::App& app, CommandContext& ctx);
void AddFaceCommands(CLI::App& app, CommandContext& ctx);  // detect, embed, compare
void AddLoadgenCommand(CLI::App& app, CommandContext& ctx);
void AddDemoCommand(CLI::App& app, CommandContext& ctx);     // demo prepare

// Adds `--env-file` and one `--<var-name>` flag per variable of `scope`
// (e.g. --worker-fps for WORKER_FPS) to `cmd`. Values land in `flags`.
struct ConfigFlags {
  std::map<std::string, std::string> values;
  std::string env_file;
};
void AddConfigFlags(CLI::App* cmd, const std::string& scope, ConfigFlags* flags);
// Loads the layered configuration of `scope`; on error prints one line and
// returns the error.
Result<ConfigSource> LoadConfig(const std::string& scope, const ConfigFlags& flags);

// Prints "vigil <command>: <message>" on stderr.
void PrintError(const std::string& command, const Status& status);

}  // namespace vigil::cli
