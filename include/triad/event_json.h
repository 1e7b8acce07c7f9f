// JSON encodings of the values in event.h: the event envelope, append results and stream
// summaries, as the CLI (`triad ... --json`) and the HTTP API print them.
//
// Each encoding is one line of compact JSON with snake_case field names (docs/cli.md, "Output"):
//
//   RecordedEvent e = ...;
//   std::cout << triad::EventToJson(e) << "\n";   // one NDJSON line
//
// An event's `data` and `metadata` are embedded as the JSON objects they are, byte for byte as
// stored, except that line breaks between JSON tokens become spaces so that an envelope never
// spans two lines. Every other string is escaped as JSON requires.
//
// Thread-safety: pure functions of their arguments; safe to call from any thread. They never
// throw (other than std::bad_alloc).
#pragma once

#include "triad/event.h"

#include <string>
#include <string_view>

namespace triad {

// Returns the envelope of `event` as one line of JSON, without a trailing newline:
//   {"id","stream","version","position","type","data","metadata",
//    "correlation_id"?,"causation_id"?,"recorded_at"}
// `correlation_id` and `causation_id` are present iff non-empty. `recorded_at` is RFC 3339 UTC
// with microseconds (FormatTimestamp()). An empty `data` or `metadata` is written as {}.
// REQUIRES: event.data and event.metadata are JSON objects (the store validated them). Invalid
// UTF-8 in the other string fields is replaced by U+FFFD so that the output stays valid JSON.
std::string EventToJson(const RecordedEvent& event);

// Returns the result of an append to `stream` as one line of JSON, without a trailing newline:
//   {"stream","first_version","last_version","first_position","last_position","already_stored"}
std::string AppendResultToJson(std::string_view stream, const AppendResult& result);

// Returns a stream summary as one line of JSON, without a trailing newline:
//   {"stream","category","version","event_count","first_position","last_position",
//    "last_recorded_at"}
// `last_recorded_at` is RFC 3339 UTC with microseconds.
std::string StreamInfoToJson(const StreamInfo& info);

// Appends `text` to `out` as a quoted JSON string: quotes, backslashes and control characters
// escaped, invalid UTF-8 replaced by U+FFFD. Exposed for encoders of other envelopes.
void AppendJsonString(std::string& out, std::string_view text);

}  // namespace triad
