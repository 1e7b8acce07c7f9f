// What every verb needs besides its own options: the global options, the I/O streams, and a way
// to open the store those options name.
#pragma once

#include "cli/cli.h"

#include "triad/event_store.h"
#include "triad/options.h"
#include "triad/result.h"

#include <memory>
#include <string>

namespace triad::cli {

// The default store when neither --data nor $TRIAD_DATA names one.
inline constexpr const char* kDefaultStorePath = "./triad.db";
// The environment variable naming the store when --data is not given.
inline constexpr const char* kStoreEnvVar = "TRIAD_DATA";

// Options accepted before or after any verb.
struct GlobalOptions {
  // --data PATH|URI. Empty: not given.
  std::string data;
  // --json: NDJSON / JSON objects instead of tables.
  bool json = false;
};

struct Context {
  CliIo& io;
  GlobalOptions global;

  // True iff tables may use ANSI styling: stdout is a terminal, --json is off and NO_COLOR is
  // unset (https://no-color.org).
  bool color() const;

  // True iff the caller asked a long-running verb to stop (SIGINT/SIGTERM).
  bool stop_requested() const;

  // The store URI: --data, else $TRIAD_DATA when set and non-empty, else ./triad.db.
  std::string StoreUri() const;
};

// Opens the store that `ctx` names with `options` (verbs set create_if_missing: only `append`
// creates a store). Errors: those of EventStore::Open(); a missing store is kNotFound with a hint
// on how to name another one.
Result<std::unique_ptr<EventStore>> OpenStore(const Context& ctx, const Options& options);

// Opens the store that `ctx` names for a reading verb: never creates it. Errors: as OpenStore().
Result<std::unique_ptr<EventStore>> OpenExistingStore(const Context& ctx);

}  // namespace triad::cli
