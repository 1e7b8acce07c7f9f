// SqliteBackend: the embedded default store, one SQLite file in WAL mode.
//
// One writer connection serves the store's single commit path (BEGIN IMMEDIATE, one savepoint per
// append, positions from INTEGER PRIMARY KEY AUTOINCREMENT, so they are dense and in commit order);
// a pool of reader connections serves reads concurrently. Schema: docs/storage-format.md.
#pragma once

#include "triad/backend.h"
#include "triad/options.h"

#include <memory>
#include <string_view>

namespace triad::internal {

// Opens or creates the store at `path`.
// Errors: kNotFound (missing and !create_if_missing), kDataLoss (not a Triad store, or a schema
// newer than this binary), kUnavailable (cannot open or lock).
Result<std::unique_ptr<Backend>> OpenSqliteBackend(const Options& options, std::string_view path);

}  // namespace triad::internal
