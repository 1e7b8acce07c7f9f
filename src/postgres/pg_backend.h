// The PostgreSQL event-store backend (docs/postgres.md).
#pragma once

#include "triad/backend.h"

#include <memory>
#include <string_view>

namespace triad::internal::pg {

// Opens the event store in the database and schema `uri` names, creating or migrating its tables.
// Errors: kInvalidArgument (bad URI), kUnavailable (server unreachable), kNotFound (read-only or
// !create_if_missing and no store there), kDataLoss (the database's schema is newer than this
// binary).
Result<std::unique_ptr<Backend>> OpenPostgresBackend(const Options& options, std::string_view uri);

}  // namespace triad::internal::pg
