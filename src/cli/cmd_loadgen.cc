#include "cli/commands.h"

namespace vigil::cli {

void AddLoadgenCommand(CLI::App& app, CommandContext& ctx) {
  (void)app;
  (void)ctx;
}

}  // namespace vigil::cli
