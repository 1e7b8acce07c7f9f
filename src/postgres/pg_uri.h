// Parsing of postgres:// store URIs.
//
// Triad accepts libpq's URI syntax (postgres:// or postgresql://, with any libpq parameter in the
// query string) plus one parameter of its own, `schema` (default "triad"): the PostgreSQL schema
// that holds the store's tables, so several stores can share one database.
#pragma once

#include "triad/result.h"

#include <string>
#include <string_view>

namespace triad::internal::pg {

// Where a PostgreSQL store lives.
struct PgTarget {
  // The URI handed to libpq (the `schema` parameter removed).
  std::string conninfo;
  // The schema holding Triad's tables.
  std::string schema = "triad";
  // The URI with any password replaced by "***", for messages and Describe().
  std::string display;
};

// Whether `uri` names a PostgreSQL store (postgres:// or postgresql://).
bool IsPostgresUri(std::string_view uri);

// Parses a postgres:// URI. Errors: kInvalidArgument naming what is wrong (not a postgres URI,
// an empty or over-long schema name).
Result<PgTarget> ParsePostgresUri(std::string_view uri);

}  // namespace triad::internal::pg
