// Reads the events of `triad append STREAM -`: NDJSON, one event per line,
//   {"id"?: "<uuid>", "type": "<type>", "data"?: {...}, "metadata"?: {...}}
// Blank lines are skipped. `data` and `metadata` are kept byte for byte as written (the store
// stores them as received); the store validates everything else it can (types, ids, JSON).
#pragma once

#include "triad/event.h"
#include "triad/result.h"

#include <istream>
#include <string_view>
#include <vector>

namespace triad::cli {

// Parses one NDJSON line into an event. Errors: kInvalidArgument naming the problem ("not valid
// JSON: ...", "data is not a JSON object", "unknown field 'x'"), without a location prefix.
Result<NewEvent> ParseEventLine(std::string_view line);

// Reads every line of `in`. Errors: kInvalidArgument "event N (line L): <problem>", where N is
// the 0-based index among the events (as the store numbers them in its own errors) and L the
// 1-based line; kInvalidArgument when no event was read; kUnavailable when reading fails.
Result<std::vector<NewEvent>> ReadNdjsonEvents(std::istream& in);

}  // namespace triad::cli
