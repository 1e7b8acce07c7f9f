// Parsing of postgres:// store URIs, and keeping their passwords out of every text that leaves
// the process (Describe(), logs, error messages).
//
// Triad accepts libpq's URI syntax (postgres:// or postgresql://, with any libpq parameter in the
// query string) plus one parameter of its own, `schema` (default "triad"): the PostgreSQL schema
// that holds the store's tables, so several stores can share one database.
//
// A password can be in the URI in two places, both masked as "***": the user-info part
// (postgres://user:secret@host/db) and the `password` query parameter (?password=secret), each
// possibly percent-encoded (libpq decodes parameter names too, so ?pass%77ord=secret is one as
// well). A keyword/value conninfo string ("host=... password=...") is not a store URI, and libpq
// reads $PGPASSWORD and ~/.pgpass by itself without Triad ever seeing them.
#pragma once

#include "triad/result.h"

#include <string>
#include <string_view>
#include <vector>

namespace triad::internal::pg {

// Where a PostgreSQL store lives.
struct PgTarget {
  // The URI handed to libpq (the `schema` parameter removed).
  std::string conninfo;
  // The schema holding Triad's tables.
  std::string schema = "triad";
  // The URI with any password replaced by "***", for messages and Describe().
  std::string display;
  // Every password in the URI, as written and percent-decoded: what RedactSecrets() removes from
  // libpq's own error text, which may quote parts of the conninfo.
  std::vector<std::string> secrets;
};

// Whether `uri` names a PostgreSQL store (postgres:// or postgresql://).
bool IsPostgresUri(std::string_view uri);

// Parses a postgres:// URI. Errors: kInvalidArgument naming what is wrong (not a postgres URI,
// an empty or over-long schema name), with any password masked.
Result<PgTarget> ParsePostgresUri(std::string_view uri);

// `uri` (any scheme://...) with the password of its user-info part and the value of every
// `password` query parameter replaced by "***"; other text is returned unchanged.
std::string MaskUriPassword(std::string_view uri);

// `text` with every occurrence of each of `target.secrets` replaced by "***".
std::string RedactSecrets(std::string_view text, const PgTarget& target);

}  // namespace triad::internal::pg
