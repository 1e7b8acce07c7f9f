// The configuration of `triad serve` (docs/operations.md): defaults, then a JSON file, then
// environment variables, then command-line flags; each later source wins.
//
//   ConfigFlags flags{.listen = "127.0.0.1:0"};
//   auto config = ResolveConfig(flags, SystemEnvironment());
//
// Thread-safety: plain values and pure functions (SystemEnvironment reads the process's
// environment, which nothing here changes).
#pragma once

#include "triad/result.h"
#include "triad/status.h"

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "server/auth.h"
#include "server/http_server.h"
#include "server/server_context.h"

namespace triad::server {

struct ServerConfig {
  // "HOST:PORT" to listen on; port 0 picks a free one. Default: 127.0.0.1:7700.
  std::string listen = "127.0.0.1:7700";
  // The event store: a path or "sqlite:PATH". Default: ./triad.db (created if missing).
  std::string data = "./triad.db";
  // The Lua scripts folder. Empty: the store path + ".scripts".
  std::string scripts_dir;
  // Where the consumer groups live: "sqlite:PATH", "memory:" or a postgres:// URI. Empty: beside
  // the store (DefaultConsumerGroupsUri: PATH.groups, or the store's own PostgreSQL schema).
  std::string groups;
  // Bearer tokens. Empty: no authentication (only allowed on a loopback listen address).
  std::vector<TokenConfig> tokens;
  Limits limits;
  SseOptions sse;
  int io_threads = 1;
  int worker_threads = 64;
  // A kept-alive connection idle this long is closed.
  int64_t idle_timeout_ms = 60'000;
  // trace, debug, info, warn, error, off.
  std::string log_level = "info";
  // json or logfmt.
  std::string log_format = "json";
  // How long a graceful shutdown waits for running requests and subscribers.
  int64_t shutdown_timeout_ms = 10'000;
};

// Command-line flags; a set one wins over every other source.
struct ConfigFlags {
  std::optional<std::string> config_file;
  std::optional<std::string> listen;
  std::optional<std::string> data;
  std::optional<std::string> scripts_dir;
  std::optional<std::string> log_level;
  std::optional<int> io_threads;
  std::optional<int> worker_threads;
};

// Looks up an environment variable; nullopt when unset.
using EnvLookup = std::function<std::optional<std::string>(std::string_view name)>;

// The process environment.
EnvLookup SystemEnvironment();

// Splits "HOST:PORT" ("[::1]:7700" for IPv6). Errors: kInvalidArgument naming the value.
Result<std::pair<std::string, uint16_t>> ParseListen(std::string_view listen);

// `base` with the keys of the JSON object `text` applied. Strict: an unknown key, a wrong type
// or a bad value is kInvalidArgument naming the key path ("limits.max_body_bytes") and `source`.
Result<ServerConfig> ApplyConfigJson(ServerConfig base, std::string_view text,
                                     std::string_view source);

// Reads `path` and applies it as ApplyConfigJson. Errors: kNotFound when the file cannot be
// read, else ApplyConfigJson's.
Result<ServerConfig> ApplyConfigFile(ServerConfig base, const std::string& path);

// Defaults, then the file (flags.config_file, else $TRIAD_CONFIG), then $TRIAD_DATA,
// $TRIAD_LISTEN, $TRIAD_LOG_LEVEL, $TRIAD_SCRIPTS, then the flags; then checks the result:
// listen parses, thread counts >= 1, limits > 0, log level/format known, tokens valid and a
// non-loopback listen has tokens (CheckAuthConfig). Errors: kInvalidArgument naming the source
// and the value; the file's errors.
Result<ServerConfig> ResolveConfig(const ConfigFlags& flags, const EnvLookup& env);

// The store path of a `data` value ("sqlite:PATH" → PATH; a postgres:// URI → "./triad"), for
// the scripts folder default.
std::string StorePathOf(std::string_view data);

}  // namespace triad::server
