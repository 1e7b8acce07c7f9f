// The one check for repeated member names in JSON objects. JSON parsers disagree on
// {"a":1,"a":2} (most keep the last, some the first, simdjson's lookups find the first), so a
// body or an event that repeats a key means different things to different readers. Triad refuses
// such input everywhere it takes JSON: event data and metadata (EventStore::Append), HTTP
// request bodies, and the CLI's NDJSON events.
//
//   Status s = triad::CheckJsonKeysUnique(R"({"a":1,"a":2})", "data");
//   // s: kInvalidArgument "data: key 'a' appears twice at the top level"
//
// Thread-safety: safe to call from any thread (the parser is per thread).
#pragma once

#include "triad/status.h"

#include <string_view>

namespace triad {

// OK iff `json` is valid JSON in which no object, at any depth, has the same member name twice
// (compared after unescaping, so "a" and "\u0061" are the same name). `what` names the document
// in messages ("data", "the request body").
// Errors: kInvalidArgument naming the repeated key and where it is (e.g. "data: key 'id'
// appears twice in 'items[2]'"), or saying that `json` is not valid JSON.
Status CheckJsonKeysUnique(std::string_view json, std::string_view what);

}  // namespace triad
