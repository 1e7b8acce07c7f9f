// Versioned schema migrations of the PostgreSQL backends.
//
// Each component (the event store, the read model, consumer groups) has its own list of
// migrations, numbered from 1, and its version recorded in the `schema_versions` table of the
// store's schema. Migrate() runs at open: under a transaction-scoped advisory lock keyed by the
// schema, so that several nodes starting at once apply each migration exactly once (the others
// wait, then find nothing left to do), and in one transaction, so that a failed migration leaves
// the previous version intact.
#pragma once

#include "triad/status.h"

#include <span>
#include <string_view>

#include "postgres/pg_connection.h"

namespace triad::internal::pg {

struct Migration {
  // 1, 2, 3, ... in order.
  int version;
  // Shown in errors and logs.
  const char* description;
  // One or more statements.
  const char* sql;
};

// Brings `component` up to the last of `migrations`. When `read_only`, applies nothing and
// fails with kNotFound if the component has no tables yet or kFailedPrecondition if it is older
// than the binary. Errors: kDataLoss when the database's version is newer than this binary's
// (naming both: upgrade Triad); the errors of the failing statement, annotated with the
// migration's number and description.
Status Migrate(PgConnection& conn, std::string_view component,
               std::span<const Migration> migrations, bool read_only);

}  // namespace triad::internal::pg
