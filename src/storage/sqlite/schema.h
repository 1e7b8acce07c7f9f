// The SQLite schema of a Triad store (docs/storage-format.md). Version 1.
#pragma once

#include <cstdint>

namespace triad::internal::sqlite {

// PRAGMA application_id of a Triad store: "TRIA".
inline constexpr int32_t kApplicationId = 0x54524941;
// The schema version this binary writes; a store with a newer one is refused.
inline constexpr int64_t kSchemaVersion = 1;

inline constexpr const char* kCreateSchema = R"sql(
CREATE TABLE IF NOT EXISTS triad_meta (
  key   TEXT PRIMARY KEY,
  value TEXT NOT NULL
) STRICT;

CREATE TABLE IF NOT EXISTS streams (
  stream_id        INTEGER PRIMARY KEY,
  name             TEXT NOT NULL UNIQUE,
  category         TEXT NOT NULL,
  version          INTEGER NOT NULL,
  first_position   INTEGER NOT NULL,
  last_position    INTEGER NOT NULL,
  last_recorded_at INTEGER NOT NULL
) STRICT;
CREATE INDEX IF NOT EXISTS streams_by_category ON streams (category, name);

CREATE TABLE IF NOT EXISTS events (
  position       INTEGER PRIMARY KEY AUTOINCREMENT,
  id             TEXT NOT NULL,
  stream_id      INTEGER NOT NULL REFERENCES streams (stream_id),
  version        INTEGER NOT NULL,
  type           TEXT NOT NULL,
  data           TEXT NOT NULL,
  metadata       TEXT NOT NULL,
  correlation_id TEXT,
  causation_id   TEXT,
  recorded_at    INTEGER NOT NULL
) STRICT;
CREATE UNIQUE INDEX IF NOT EXISTS events_by_id ON events (id);
CREATE UNIQUE INDEX IF NOT EXISTS events_by_stream ON events (stream_id, version);
CREATE INDEX IF NOT EXISTS events_by_type ON events (type, position);
CREATE INDEX IF NOT EXISTS events_by_correlation ON events (correlation_id)
  WHERE correlation_id IS NOT NULL;

CREATE TABLE IF NOT EXISTS snapshots (
  stream         TEXT PRIMARY KEY,
  schema_version INTEGER NOT NULL,
  version        INTEGER NOT NULL,
  state          TEXT NOT NULL,
  recorded_at    INTEGER NOT NULL
) STRICT;
)sql";

}  // namespace triad::internal::sqlite
