// Structured logging on spdlog. One logger per component ("api", "worker",
// "spool", ...). Messages carry key=value fields; LOG_FORMAT=json switches the
// sink to JSON lines. Never log secrets, embeddings or images.
//
// Thread-safety: InitLogging must run once in main() before other threads
// start; GetLogger and the loggers themselves are thread-safe.
#pragma once

#include <spdlog/spdlog.h>

#include <memory>
#include <string>

namespace vigil {

struct LogOptions {
  bool json = false;          // JSON lines instead of text
  std::string level = "info"; // trace, debug, info, warn, error, off
};

// Configures the default sink (stderr) and level for every logger.
void InitLogging(const LogOptions& options);
// Reads LOG_FORMAT (text|json) and LOG_LEVEL from the environment.
LogOptions LogOptionsFromEnv();

// Returns (creating on first use) the logger of a component.
std::shared_ptr<spdlog::logger> GetLogger(const std::string& component);

// Escapes a value for a key=value field: quotes it when it contains spaces,
// quotes or '='.
std::string LogValue(const std::string& v);

}  // namespace vigil
