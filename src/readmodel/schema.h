// The SQLite schema of a Triad read-model file (docs/storage-format.md, "Read-model file").
// Version 1. Collections get their own tables and indexes at run time (catalog.h).
#pragma once

#include <cstdint>

namespace triad::internal::readmodel {

// PRAGMA application_id of a read-model file: "TRRM". Differs from the event store's "TRIA" so
// that neither opens the other's file.
inline constexpr int32_t kApplicationId = 0x5452524D;
// The schema version this binary writes; a file with a newer one is refused.
inline constexpr int64_t kSchemaVersion = 1;

inline constexpr const char* kCreateSchema = R"sql(
CREATE TABLE IF NOT EXISTS rm_meta (
  key   TEXT PRIMARY KEY,
  value TEXT NOT NULL
) STRICT;

CREATE TABLE IF NOT EXISTS rm_collections (
  id      INTEGER PRIMARY KEY AUTOINCREMENT,
  name    TEXT NOT NULL UNIQUE,
  indexes TEXT NOT NULL
) STRICT;

CREATE TABLE IF NOT EXISTS rm_projections (
  name                TEXT NOT NULL,
  version             INTEGER NOT NULL,
  checkpoint          INTEGER NOT NULL,
  serving             INTEGER NOT NULL,
  paused              INTEGER NOT NULL,
  faulted             INTEGER NOT NULL,
  retired             INTEGER NOT NULL,
  stop_at             INTEGER NOT NULL,
  last_tick_us        INTEGER NOT NULL,
  last_error          TEXT NOT NULL,
  last_error_position INTEGER NOT NULL,
  collections         TEXT NOT NULL,
  PRIMARY KEY (name, version)
) STRICT, WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS rm_dead_letters (
  projection     TEXT NOT NULL,
  version        INTEGER NOT NULL,
  position       INTEGER NOT NULL,
  stream         TEXT NOT NULL,
  stream_version INTEGER NOT NULL,
  event_type     TEXT NOT NULL,
  error          TEXT NOT NULL,
  kind           TEXT NOT NULL,
  recorded_at    INTEGER NOT NULL,
  attempts       INTEGER NOT NULL,
  PRIMARY KEY (projection, version, position)
) STRICT, WITHOUT ROWID;
)sql";

}  // namespace triad::internal::readmodel
