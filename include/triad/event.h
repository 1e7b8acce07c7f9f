// The event envelope and the values that describe streams and appends.
//
// An event is `{id, stream, version, position, type, data, metadata, recorded_at}`
// (docs/concepts.md):
//   - `version` is its 0-based index in its stream;
//   - `position` is its 1-based index in the global log, dense and in commit order;
//   - `data` and `metadata` are JSON objects stored as the bytes received; an object in them that
//     repeats a member name is refused (include/triad/json_keys.h);
//   - `metadata` may carry `correlation_id` and `causation_id` (strings), which are also exposed
//     as first-class fields and indexed.
//
// Thread-safety: all types here are plain values.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace triad {

// 1-based index in the global log. 0 means "before the first event".
using Position = int64_t;
// 0-based index in a stream. -1 means "no stream".
using StreamVersion = int64_t;

inline constexpr StreamVersion kNoStreamVersion = -1;

// How deeply an event's data and metadata may nest objects and arrays: `{}` is 1 level,
// `{"a":[{}]}` 3. Deeper appends are refused with kInvalidArgument. The same bound holds for
// every consumer of events (the Lua JSON mapping uses it), so an event the store accepts can be
// read by every projection: a writer cannot stop them with a deep event.
inline constexpr int kMaxJsonDepth = 128;

// An event to append. Only `type` is required.
struct NewEvent {
  // A UUID in canonical text form. Empty: the store generates one (UUIDv7). A client-chosen id
  // makes retries idempotent (promise 4).
  std::string id;
  // The event type, e.g. "AccountOpened". Syntax: docs/concepts.md.
  std::string type;
  // A JSON object, stored byte for byte.
  std::string data = "{}";
  // A JSON object, stored byte for byte. "correlation_id"/"causation_id" must be strings if
  // present.
  std::string metadata = "{}";
};

// An event as stored.
struct RecordedEvent {
  std::string id;
  std::string stream;
  StreamVersion version = 0;
  Position position = 0;
  std::string type;
  std::string data;
  std::string metadata;
  // Copied from metadata; empty when absent.
  std::string correlation_id;
  std::string causation_id;
  // UTC time of the commit, microseconds since the Unix epoch.
  int64_t recorded_at_us = 0;
};

// A stored event seen without copying: every string_view points into storage-owned memory that
// is valid only for the duration of the callback that receives the view (EventStore::ScanAll).
// Copy what must outlive it.
struct EventView {
  std::string_view id;
  std::string_view stream;
  StreamVersion version = 0;
  Position position = 0;
  std::string_view type;
  std::string_view data;
  std::string_view metadata;
  std::string_view correlation_id;
  std::string_view causation_id;
  int64_t recorded_at_us = 0;
};

// Returns a view of `event`, valid while `event` lives unchanged.
EventView ViewOf(const RecordedEvent& event);

// What a successful append wrote (or, for an idempotent retry, what the first append wrote).
struct AppendResult {
  StreamVersion first_version = 0;
  StreamVersion last_version = 0;
  Position first_position = 0;
  Position last_position = 0;
  // True iff the events were already stored and nothing was written (an idempotent retry).
  bool already_stored = false;
};

// A stream's summary.
struct StreamInfo {
  std::string name;
  // The stream's category: the text before the first '-', or the whole name when it has none.
  std::string category;
  // The last event's version (event_count - 1).
  StreamVersion version = kNoStreamVersion;
  Position first_position = 0;
  Position last_position = 0;
  int64_t event_count = 0;
  // recorded_at of the last event, microseconds since the Unix epoch.
  int64_t last_recorded_at_us = 0;
};

// A saved aggregate state. See aggregate.h.
struct Snapshot {
  std::string stream;
  // The aggregate's snapshot schema; a loader ignores snapshots with another schema version.
  int32_t schema_version = 0;
  // The stream version the state includes.
  StreamVersion version = kNoStreamVersion;
  // The serialized state (usually JSON).
  std::string state;
  int64_t recorded_at_us = 0;
};

// Returns the category of `stream`: the text before the first '-', or all of it.
std::string_view CategoryOf(std::string_view stream);

// Formats microseconds since the epoch as RFC 3339 UTC with microseconds:
// "2026-11-28T02:23:01.123456Z".
std::string FormatTimestamp(int64_t micros_since_epoch);

}  // namespace triad
