#include <iostream>

#include "cli/commands.h"

namespace vigil::cli {

void AddConfigFlags(CLI::App* cmd, const std::string& scope, ConfigFlags* flags) {
  cmd->add_option("--env-file", flags->env_file, "read variables from this file (default: ./.env when present)");
  for (const auto& var : ConfigVarsFor(scope)) {
    std::string name = var.name;
    cmd->add_option_function<std::string>(
           "--" + FlagNameFor(var.name), [flags, name](const std::string& v) { flags->values[name] = v; },
           var.help + " [" + var.name + "]")
        ->group("Configuration (flags override the environment)");
  }
}

Result<ConfigSource> LoadConfig(const std::string& scope, const ConfigFlags& flags) {
  return ConfigSource::Load(ConfigVarsFor(scope), flags.values, flags.env_file, ProcessEnv());
}

void PrintError(const std::string& command, const Status& status) {
  std::cerr << "vigil " << command << ": " << status.message() << std::endl;
}

}  // namespace vigil::cli
