#include "server/request_log.h"

#include "triad/event.h"
#include "triad/event_json.h"

#include <atomic>
#include <chrono>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

namespace triad::server {
namespace {

std::atomic<LogFormat> g_format{LogFormat::kJson};

std::shared_ptr<spdlog::logger> Logger() {
  static std::shared_ptr<spdlog::logger> logger = [] {
    auto created = spdlog::stderr_logger_mt("triad_server");
    created->set_pattern("%v");
    return created;
  }();
  return logger;
}

int64_t NowMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// A logfmt value: bare when it has no spaces, quotes or '=', else quoted with escapes.
void AppendLogfmtValue(std::string& out, std::string_view value) {
  const bool bare = !value.empty() && value.find_first_of(" \"=\\\n\t") == std::string_view::npos;
  if (bare) {
    out += value;
    return;
  }
  AppendJsonString(out, value);
}

using Fields = std::vector<std::pair<std::string_view, std::string>>;

// `fields` values are raw text; numbers are marked by `numeric` so that JSON keeps their type.
std::string Format(std::string_view level, const Fields& fields, const std::vector<bool>& numeric) {
  std::string out;
  const std::string ts = FormatTimestamp(NowMicros());
  if (g_format.load() == LogFormat::kJson) {
    out = "{\"ts\":\"" + ts + "\",\"level\":\"" + std::string(level) + "\"";
    for (size_t i = 0; i < fields.size(); ++i) {
      out += ',';
      AppendJsonString(out, fields[i].first);
      out += ':';
      if (numeric[i]) {
        out += fields[i].second;
      } else {
        AppendJsonString(out, fields[i].second);
      }
    }
    out += '}';
  } else {
    out = "ts=" + ts + " level=" + std::string(level);
    for (const auto& [key, value] : fields) {
      out += ' ';
      out += key;
      out += '=';
      AppendLogfmtValue(out, value);
    }
  }
  return out;
}

spdlog::level::level_enum LevelOf(std::string_view level) {
  return spdlog::level::from_str(std::string(level));
}

}  // namespace

Result<LogFormat> ParseLogFormat(std::string_view name) {
  if (name == "json") return LogFormat::kJson;
  if (name == "logfmt") return LogFormat::kLogfmt;
  return InvalidArgumentError("log_format '" + std::string(name) + "' is not json or logfmt");
}

Status ConfigureLogging(std::string_view level, LogFormat format) {
  // spdlog maps unknown names to "off"; only "off" itself may mean off.
  spdlog::level::level_enum parsed = LevelOf(level);
  if (parsed == spdlog::level::off && level != "off") {
    return InvalidArgumentError("log_level '" + std::string(level) +
                                "' is not trace, debug, info, warn, error or off");
  }
  Logger()->set_level(parsed);
  g_format.store(format);
  return Status::OK();
}

void LogRequest(const RequestLogEntry& entry) {
  const std::string_view level = entry.status >= 500 ? "warn" : "info";
  auto logger = Logger();
  if (!logger->should_log(LevelOf(level))) return;
  Fields fields = {{"msg", "request"},
                   {"request_id", std::string(entry.request_id)},
                   {"method", std::string(entry.method)},
                   {"path", std::string(entry.path)},
                   {"route", std::string(entry.route)},
                   {"status", std::to_string(entry.status)},
                   {"duration_us", std::to_string(entry.duration_us)}};
  logger->log(LevelOf(level),
              Format(level, fields, {false, false, false, false, false, true, true}));
}

void LogEvent(std::string_view level, std::string_view message,
              const std::vector<std::pair<std::string, std::string>>& fields) {
  auto logger = Logger();
  if (!logger->should_log(LevelOf(level))) return;
  Fields all = {{"msg", std::string(message)}};
  for (const auto& [key, value] : fields) all.emplace_back(key, value);
  logger->log(LevelOf(level), Format(level, all, std::vector<bool>(all.size(), false)));
}

}  // namespace triad::server
