// Decoding the server's JSON answers (docs/http-api.md) into the library's value types, so that
// a verb prints the same thing whether its data came from an embedded store or a server; and
// the one JSON encoding the CLI adds, a projection status (the server's field names).
//
// Every decoder fails with kInternal "unexpected answer from the server: ..." naming the field
// that is missing or of the wrong type: a mismatch between this CLI and the server it talks to.
//
// Thread-safety: pure functions; safe from any thread.
#pragma once

#include "triad/consumer_groups.h"
#include "triad/document.h"
#include "triad/event.h"
#include "triad/projection_engine.h"
#include "triad/read_model_backend.h"
#include "triad/result.h"

#include <string>
#include <string_view>
#include <vector>

namespace triad::cli {

// RFC 3339 UTC with up to 6 fraction digits ("2026-11-28T09:00:00.000001Z") as microseconds
// since the epoch: the inverse of FormatTimestamp(). Errors: kInvalidArgument naming the text.
Result<int64_t> ParseTimestamp(std::string_view text);

// One event envelope (EventToJson's format, e.g. an SSE event's data). `data` and `metadata` are
// kept as the JSON text the server sent.
Result<RecordedEvent> DecodeEvent(std::string_view json);

// The `events` array of a body ({"stream","version","events"} or {"events","next_position",...}).
Result<std::vector<RecordedEvent>> DecodeEvents(std::string_view body);

// {"events", "next_position", "head_position"}: the head position.
Result<Position> DecodeHeadPosition(std::string_view body);

// {"stream","first_version","last_version","first_position","last_position","already_stored"}.
Result<AppendResult> DecodeAppendResult(std::string_view body);

// {"streams": [...], "next_after"}: the streams.
Result<std::vector<StreamInfo>> DecodeStreams(std::string_view body);

// {"projections": [status...]}.
Result<std::vector<ProjectionStatus>> DecodeProjections(std::string_view body);

// One status object.
Result<ProjectionStatus> DecodeProjection(std::string_view body);

// A status as the server writes it, one line:
//   {"name","version","state","serving","registered","leased","checkpoint","head_position","lag_events",
//    "lag_seconds","events_per_second","last_error","last_error_position","dead_letters",
//    "collections","error_policy","trigger"}
std::string ProjectionStatusToJson(const ProjectionStatus& status);

// {"document": {..., "_meta": {...}}, "as_of"}. The document's id is `id` (the answer does not
// repeat it).
Result<DocumentRead> DecodeDocumentRead(std::string_view body, std::string_view id);

// {"documents": [...], "next_after", "as_of"}. Document ids are empty (the answer has none).
Result<QueryPage> DecodeQueryPage(std::string_view body);

// {"count", "as_of"}.
Result<CountResult> DecodeCount(std::string_view body);

// One group ({"name","settings",checkpoint,...}) and {"groups": [...]}.
Result<GroupInfo> DecodeGroup(std::string_view body);
Result<std::vector<GroupInfo>> DecodeGroups(std::string_view body);

// {"parked": [...]}.
Result<std::vector<ParkedMessage>> DecodeParked(std::string_view body);

}  // namespace triad::cli
