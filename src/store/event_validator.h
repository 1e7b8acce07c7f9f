// Validation of everything a caller hands to the store (promise 7: bad input is refused, never
// stored). Each error names what was wrong and where: "event 3: data is not a JSON object".
#pragma once

#include "triad/backend.h"
#include "triad/clock.h"
#include "triad/event.h"
#include "triad/options.h"
#include "triad/result.h"

#include <span>
#include <string_view>
#include <vector>

namespace triad::internal {

// Stream names: 1..max_stream_name_bytes of [A-Za-z0-9] and "-_.:@+=~", starting with a letter,
// a digit or '_'. The '-' separates the category from the id.
Status ValidateStreamName(std::string_view stream, const Options& options);

// Event types: 1..max_event_type_bytes of [A-Za-z0-9] and "_.:-", starting with a letter.
Status ValidateEventType(std::string_view type, const Options& options);

// OK iff `json` is a well-formed JSON object in valid UTF-8. `what` names it in the error.
// (Appends also check the nesting depth, kMaxJsonDepth; stored events are not re-judged by it.
// Check() uses it on stored events, which may predate the duplicate-key rule below.)
Status ValidateJsonObject(std::string_view json, std::string_view what);

// ValidateJsonObject, and no object in `json` repeats a member name (include/triad/json_keys.h):
// what an append's data must pass.
Status ValidateNewJsonObject(std::string_view json, std::string_view what);

// Checks every event of one append against the limits (kMaxJsonDepth included) and syntax rules,
// assigns ids to events without one (UUIDv7 from `clock`), canonicalizes client ids, and extracts
// correlation_id and causation_id from metadata. `client_ids` receives, per event, whether its id
// came from the caller.
Result<std::vector<PreparedEvent>> PrepareEvents(std::span<const NewEvent> events,
                                                 const Options& options, Clock& clock,
                                                 std::vector<bool>& client_ids);

}  // namespace triad::internal
