#include "server/config.h"

#include "triad/consumer_groups.h"

#include <nlohmann/json.hpp>

#include <charconv>
#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>

#include "server/request_log.h"

namespace triad::server {
namespace {

using Json = nlohmann::json;

// Reads the members of one JSON object, refusing unknown keys.
class ObjectReader {
 public:
  ObjectReader(const Json& object, std::string prefix, std::string_view source)
      : object_(object), prefix_(std::move(prefix)), source_(source) {}

  Status Error(std::string_view key, std::string_view what) const {
    return InvalidArgumentError(std::string(source_) + ": " + prefix_ + std::string(key) + " " +
                                std::string(what));
  }

  template <typename Int>
  Status ReadInt(std::string_view key, Int& target, int64_t min) {
    seen_.emplace(key);
    auto it = object_.find(key);
    if (it == object_.end()) return Status::OK();
    if (!it->is_number_integer() || it->template get<int64_t>() < min) {
      return Error(key, "must be an integer >= " + std::to_string(min));
    }
    target = static_cast<Int>(it->template get<int64_t>());
    return Status::OK();
  }

  Status ReadString(std::string_view key, std::string& target) {
    seen_.emplace(key);
    auto it = object_.find(key);
    if (it == object_.end()) return Status::OK();
    if (!it->is_string()) return Error(key, "must be a string");
    target = it->get<std::string>();
    return Status::OK();
  }

  const Json* Child(std::string_view key) {
    seen_.emplace(key);
    auto it = object_.find(key);
    return it == object_.end() ? nullptr : &*it;
  }

  // kInvalidArgument naming every key not read.
  Status CheckNoUnknownKeys() const {
    std::string unknown;
    for (const auto& [key, value] : object_.items()) {
      if (seen_.count(key) != 0) continue;
      if (!unknown.empty()) unknown += ", ";
      unknown += prefix_ + key;
    }
    if (unknown.empty()) return Status::OK();
    return InvalidArgumentError(std::string(source_) +
                                ": unknown configuration key(s): " + unknown);
  }

 private:
  const Json& object_;
  std::string prefix_;
  std::string_view source_;
  std::set<std::string, std::less<>> seen_;
};

#define TRIAD_CONFIG_RETURN_IF_ERROR(expr) \
  do {                                     \
    Status status_ = (expr);               \
    if (!status_.ok()) return status_;     \
  } while (false)

Status ApplyLimits(const Json& json, std::string_view source, Limits& limits) {
  if (!json.is_object())
    return InvalidArgumentError(std::string(source) + ": limits must be an object");
  ObjectReader reader(json, "limits.", source);
  TRIAD_CONFIG_RETURN_IF_ERROR(reader.ReadInt("max_body_bytes", limits.max_body_bytes, 1));
  TRIAD_CONFIG_RETURN_IF_ERROR(reader.ReadInt("max_header_bytes", limits.max_header_bytes, 1024));
  TRIAD_CONFIG_RETURN_IF_ERROR(
      reader.ReadInt("max_events_per_append", limits.max_events_per_append, 1));
  TRIAD_CONFIG_RETURN_IF_ERROR(reader.ReadInt("max_read_limit", limits.max_read_limit, 1));
  TRIAD_CONFIG_RETURN_IF_ERROR(reader.ReadInt("max_wait_ms", limits.max_wait_ms, 0));
  TRIAD_CONFIG_RETURN_IF_ERROR(reader.ReadInt("max_sse_clients", limits.max_sse_clients, 0));
  TRIAD_CONFIG_RETURN_IF_ERROR(reader.ReadInt("max_waiters", limits.max_waiters, 0));
  TRIAD_CONFIG_RETURN_IF_ERROR(
      reader.ReadInt("max_sse_buffer_bytes", limits.max_sse_buffer_bytes, 1024));
  return reader.CheckNoUnknownKeys();
}

Status ApplySse(const Json& json, std::string_view source, SseOptions& sse) {
  if (!json.is_object())
    return InvalidArgumentError(std::string(source) + ": sse must be an object");
  ObjectReader reader(json, "sse.", source);
  TRIAD_CONFIG_RETURN_IF_ERROR(reader.ReadInt("heartbeat_ms", sse.heartbeat_ms, 1));
  TRIAD_CONFIG_RETURN_IF_ERROR(reader.ReadInt("max_lag_events", sse.max_lag_events, 1));
  TRIAD_CONFIG_RETURN_IF_ERROR(reader.ReadInt("write_timeout_ms", sse.write_timeout_ms, 1));
  TRIAD_CONFIG_RETURN_IF_ERROR(reader.ReadInt("batch_events", sse.batch_events, 1));
  TRIAD_CONFIG_RETURN_IF_ERROR(reader.ReadInt("max_buffer_bytes", sse.max_buffer_bytes, 1024));
  TRIAD_CONFIG_RETURN_IF_ERROR(reader.ReadInt("poll_interval_ms", sse.poll_interval_ms, 1));
  return reader.CheckNoUnknownKeys();
}

Status ApplyTokens(const Json& json, std::string_view source, std::vector<TokenConfig>& tokens) {
  if (!json.is_array())
    return InvalidArgumentError(std::string(source) + ": tokens must be an array");
  tokens.clear();
  for (size_t i = 0; i < json.size(); ++i) {
    const std::string prefix = "tokens[" + std::to_string(i) + "].";
    if (!json[i].is_object()) {
      return InvalidArgumentError(std::string(source) + ": " + prefix.substr(0, prefix.size() - 1) +
                                  " must be an object {name, token, role}");
    }
    ObjectReader reader(json[i], prefix, source);
    TokenConfig token;
    std::string role = "read";
    TRIAD_CONFIG_RETURN_IF_ERROR(reader.ReadString("name", token.name));
    TRIAD_CONFIG_RETURN_IF_ERROR(reader.ReadString("token", token.token));
    TRIAD_CONFIG_RETURN_IF_ERROR(reader.ReadString("role", role));
    TRIAD_CONFIG_RETURN_IF_ERROR(reader.CheckNoUnknownKeys());
    auto parsed = ParseRole(role);
    if (!parsed || *parsed == Role::kNone) {
      return reader.Error("role", "'" + role + "' is not read, write or admin");
    }
    token.role = *parsed;
    tokens.push_back(std::move(token));
  }
  return Status::OK();
}

}  // namespace

EnvLookup SystemEnvironment() {
  return [](std::string_view name) -> std::optional<std::string> {
    // getenv is not thread-safe against setenv; nothing in the server calls setenv.
    const char* value = std::getenv(std::string(name).c_str());  // NOLINT(concurrency-mt-unsafe)
    if (value == nullptr) return std::nullopt;
    return std::string(value);
  };
}

Result<std::pair<std::string, uint16_t>> ParseListen(std::string_view listen) {
  const size_t colon = listen.rfind(':');
  if (colon == std::string_view::npos || colon == 0) {
    return InvalidArgumentError("listen address '" + std::string(listen) +
                                "' is not HOST:PORT (e.g. 127.0.0.1:7700)");
  }
  std::string_view host = listen.substr(0, colon);
  std::string_view port_text = listen.substr(colon + 1);
  unsigned port = 0;
  auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (ec != std::errc() || end != port_text.data() + port_text.size() || port > 65535) {
    return InvalidArgumentError("listen address '" + std::string(listen) + "' has a bad port");
  }
  if (host.starts_with('[') && host.ends_with(']')) host = host.substr(1, host.size() - 2);
  return std::pair<std::string, uint16_t>(std::string(host), static_cast<uint16_t>(port));
}

Result<ServerConfig> ApplyConfigJson(ServerConfig base, std::string_view text,
                                     std::string_view source) {
  Json json = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded()) return InvalidArgumentError(std::string(source) + ": not valid JSON");
  if (!json.is_object()) return InvalidArgumentError(std::string(source) + ": not a JSON object");
  ObjectReader reader(json, "", source);
  TRIAD_CONFIG_RETURN_IF_ERROR(reader.ReadString("listen", base.listen));
  TRIAD_CONFIG_RETURN_IF_ERROR(reader.ReadString("data", base.data));
  TRIAD_CONFIG_RETURN_IF_ERROR(reader.ReadString("scripts_dir", base.scripts_dir));
  TRIAD_CONFIG_RETURN_IF_ERROR(reader.ReadString("groups", base.groups));
  TRIAD_CONFIG_RETURN_IF_ERROR(reader.ReadString("log_level", base.log_level));
  TRIAD_CONFIG_RETURN_IF_ERROR(reader.ReadString("log_format", base.log_format));
  TRIAD_CONFIG_RETURN_IF_ERROR(reader.ReadInt("io_threads", base.io_threads, 1));
  TRIAD_CONFIG_RETURN_IF_ERROR(reader.ReadInt("worker_threads", base.worker_threads, 1));
  TRIAD_CONFIG_RETURN_IF_ERROR(reader.ReadInt("idle_timeout_ms", base.idle_timeout_ms, 1));
  TRIAD_CONFIG_RETURN_IF_ERROR(reader.ReadInt("shutdown_timeout_ms", base.shutdown_timeout_ms, 0));
  if (const Json* tokens = reader.Child("tokens")) {
    TRIAD_CONFIG_RETURN_IF_ERROR(ApplyTokens(*tokens, source, base.tokens));
  }
  if (const Json* limits = reader.Child("limits")) {
    TRIAD_CONFIG_RETURN_IF_ERROR(ApplyLimits(*limits, source, base.limits));
  }
  if (const Json* sse = reader.Child("sse")) {
    TRIAD_CONFIG_RETURN_IF_ERROR(ApplySse(*sse, source, base.sse));
  }
  TRIAD_CONFIG_RETURN_IF_ERROR(reader.CheckNoUnknownKeys());
  return base;
}

Result<ServerConfig> ApplyConfigFile(ServerConfig base, const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFoundError("cannot read the configuration file '" + path + "'");
  std::stringstream text;
  text << in.rdbuf();
  return ApplyConfigJson(std::move(base), text.str(), path);
}

std::string StorePathOf(std::string_view data) {
  // A server-backed store (postgres://…) has no file: its node keeps ./triad.scripts.
  if (data.find("://") != std::string_view::npos) return "./triad";
  if (data.starts_with("sqlite:")) data.remove_prefix(7);
  return std::string(data);
}

Result<ServerConfig> ResolveConfig(const ConfigFlags& flags, const EnvLookup& env) {
  ServerConfig config;
  std::optional<std::string> file = flags.config_file;
  if (!file) file = env("TRIAD_CONFIG");
  if (file && !file->empty()) {
    auto loaded = ApplyConfigFile(std::move(config), *file);
    if (!loaded.ok()) return loaded.status();
    config = std::move(*loaded);
  }
  auto from_env = [&env](const char* name, std::string& target) {
    if (auto value = env(name); value && !value->empty()) target = *value;
  };
  from_env("TRIAD_DATA", config.data);
  from_env("TRIAD_LISTEN", config.listen);
  from_env("TRIAD_LOG_LEVEL", config.log_level);
  from_env("TRIAD_SCRIPTS", config.scripts_dir);
  from_env("TRIAD_GROUPS", config.groups);
  if (flags.listen) config.listen = *flags.listen;
  if (flags.data) config.data = *flags.data;
  if (flags.scripts_dir) config.scripts_dir = *flags.scripts_dir;
  if (flags.log_level) config.log_level = *flags.log_level;
  if (flags.io_threads) config.io_threads = *flags.io_threads;
  if (flags.worker_threads) config.worker_threads = *flags.worker_threads;

  auto listen = ParseListen(config.listen);
  if (!listen.ok()) return listen.status();
  if (config.io_threads < 1 || config.worker_threads < 1) {
    return InvalidArgumentError("io_threads and worker_threads must be at least 1");
  }
  if (config.data.empty()) return InvalidArgumentError("data (the store path) is empty");
  if (config.scripts_dir.empty()) config.scripts_dir = StorePathOf(config.data) + ".scripts";
  if (config.groups.empty()) config.groups = DefaultConsumerGroupsUri(config.data);
  auto format = ParseLogFormat(config.log_format);
  if (!format.ok()) return format.status();
  if (config.log_level != "trace" && config.log_level != "debug" && config.log_level != "info" &&
      config.log_level != "warn" && config.log_level != "error" && config.log_level != "off") {
    return InvalidArgumentError("log_level '" + config.log_level +
                                "' is not trace, debug, info, warn, error or off");
  }
  Status auth = CheckAuthConfig(config.tokens, listen->first);
  if (!auth.ok()) return auth;
  return config;
}

}  // namespace triad::server
