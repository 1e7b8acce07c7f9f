// The CLI's exit codes (docs/cli.md, Exit codes) and the one place that maps a StatusCode to them.
#pragma once

#include "triad/status.h"

namespace triad::cli {

inline constexpr int kExitOk = 0;
// Storage, I/O or integrity failure: the command was fine but could not be carried out.
inline constexpr int kExitFailure = 1;
// The command line or its input is invalid (unknown option, bad JSON, bad stream name).
// Nothing was stored; retrying unchanged fails again.
inline constexpr int kExitUsage = 2;
// Conflict with the stored state: wrong expected version, or an event id already stored with
// other content.
inline constexpr int kExitConflict = 3;
// The store or stream asked for does not exist.
inline constexpr int kExitNotFound = 4;

// The exit code for a verb that ended with `code`.
int ExitCodeFor(StatusCode code);

}  // namespace triad::cli
