// SqliteReadModel: the read-model store on SQLite, a file beside the event store (WAL mode), or
// for "memory:" a private temporary file (on /dev/shm when available) deleted with the backend.
//
// One writer connection serves the single write transaction (BEGIN IMMEDIATE); a pool of reader
// connections serves reads concurrently. Schema: docs/storage-format.md, "Read-model file".
#pragma once

#include "triad/read_model_backend.h"

#include <memory>
#include <string_view>

namespace triad::internal::readmodel {

// Opens or creates the read-model file at `path`.
// Errors: kNotFound (missing and !create_if_missing), kDataLoss (not a Triad read-model file, or
// a newer schema), kUnavailable (cannot open or lock).
Result<std::unique_ptr<ReadModelBackend>> OpenSqliteReadModel(const ReadModelOptions& options,
                                                              std::string_view path);

// Opens a new private in-memory read-model store; it lives as long as the returned object.
Result<std::unique_ptr<ReadModelBackend>> OpenMemoryReadModel(const ReadModelOptions& options);

}  // namespace triad::internal::readmodel
