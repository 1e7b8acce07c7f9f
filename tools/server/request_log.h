// The server's structured log: one line per answered request, plus startup and shutdown lines,
// on stderr through spdlog, as JSON (default) or logfmt (docs/operations.md, "Logs").
//
// Thread-safety: every function is safe to call concurrently after ConfigureLogging().
#pragma once

#include "triad/result.h"
#include "triad/status.h"

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace triad::server {

enum class LogFormat { kJson, kLogfmt };

// Parses "json" or "logfmt". Errors: kInvalidArgument naming the value.
Result<LogFormat> ParseLogFormat(std::string_view name);

// Sets the level ("trace", "debug", "info", "warn", "error", "off") and format of every later
// line. Errors: kInvalidArgument naming an unknown level.
Status ConfigureLogging(std::string_view level, LogFormat format);

// One answered request.
struct RequestLogEntry {
  std::string_view request_id;
  std::string_view method;
  std::string_view path;
  // The route name, "unmatched" when none matched.
  std::string_view route;
  int status = 0;
  int64_t duration_us = 0;
};

// Logs `entry` at info level (warn for 5xx).
void LogRequest(const RequestLogEntry& entry);

// Logs `message` with extra key/value fields at info, warn or error level.
void LogEvent(std::string_view level, std::string_view message,
              const std::vector<std::pair<std::string, std::string>>& fields = {});

}  // namespace triad::server
