// What every verb needs besides its own options: the global options, the I/O streams, and the
// Client that those options name (an embedded store or a server).
#pragma once

#include "cli/cli.h"
#include "cli/client/client.h"

#include "triad/result.h"
#include "triad/status.h"

#include <memory>
#include <string>

namespace triad::cli {

// The default store when no option or environment variable names a store or a server.
inline constexpr const char* kDefaultStorePath = "./triad.db";
// The environment variable naming the store when --data is not given.
inline constexpr const char* kStoreEnvVar = "TRIAD_DATA";
// The environment variable naming the server when --url is not given.
inline constexpr const char* kUrlEnvVar = "TRIAD_URL";
// The environment variable holding the bearer token when --token is not given.
inline constexpr const char* kTokenEnvVar = "TRIAD_TOKEN";

// Options accepted before or after any verb.
struct GlobalOptions {
  // --data PATH|URI. Empty: not given.
  std::string data;
  // --url URL. Empty: not given.
  std::string url;
  // --token TOKEN. Empty: not given.
  std::string token;
  // --json: NDJSON / JSON objects instead of tables.
  bool json = false;
};

struct Context {
  CliIo& io;
  GlobalOptions global;
  // Opened by client() on first use.
  std::unique_ptr<Client> opened_client = nullptr;

  // True iff tables may use ANSI styling: stdout is a terminal, --json is off and NO_COLOR is
  // unset (https://no-color.org).
  bool color() const;

  // True iff the caller asked a long-running verb to stop (SIGINT/SIGTERM).
  bool stop_requested() const;

  // The value of environment variable `name`, or "" when unset.
  std::string Env(const char* name) const;

  // The server URL when the verbs talk to a server: --url, else $TRIAD_URL unless --data is
  // given. Empty: an embedded store.
  std::string ServerUrl() const;

  // The store URI of embedded mode: --data, else $TRIAD_DATA when set and non-empty, else
  // ./triad.db.
  std::string StoreUri() const;

  // Errors: kInvalidArgument when --url and --data are both given.
  Status CheckGlobalOptions() const;

  // The client the global options name, opened (lazily: nothing is touched until a call) on
  // first use: a RemoteClient when ServerUrl() is set, else an EmbeddedClient on StoreUri().
  // Errors: as CheckGlobalOptions().
  Result<Client*> client();
};

}  // namespace triad::cli
