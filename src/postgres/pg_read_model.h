// The read-model store on PostgreSQL (docs/storage-format.md, "PostgreSQL"), in the same
// database and schema as the event store (tables prefixed rm_).
//
// One writer connection serves the single write transaction of a backend object (BeginWrite
// blocks while one is open); a pool of reader connections serves reads concurrently. Several
// processes may open the same read model: collections created or dropped through one are seen
// by the others (the catalog is versioned; pg_rm_catalog.h).
#pragma once

#include "triad/read_model_backend.h"

#include <memory>
#include <string_view>

namespace triad::internal::pg {

// Opens the read model in the database and schema `uri` (postgres:// or postgresql://) names,
// creating or migrating its tables (component "readmodel").
// Errors: kInvalidArgument (bad URI), kUnavailable (server unreachable), kNotFound (read-only or
// !create_if_missing, and no read model there), kDataLoss (the database's read-model schema is
// newer than this binary).
Result<std::unique_ptr<ReadModelBackend>> OpenPostgresReadModel(const ReadModelOptions& options,
                                                                std::string_view uri);

}  // namespace triad::internal::pg
