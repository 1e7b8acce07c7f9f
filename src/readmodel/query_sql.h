// Translates a Query into SQL over one collection's table: validation (indexed fields, value
// types, op arity), the filter conditions on the same expressions the indexes are built on, and
// the keyset-paginated page statements. Pure functions: no database access, so that tests can
// check the SQL's plan with EXPLAIN QUERY PLAN.
//
// Order: rows sort by (order field, id); a row whose order field is missing or of another type
// sorts before every value ascending and after every value descending (the whole order is
// reversed, ties included). Such rows and the others are read by two separate statements
// ("segments"), each a range scan of the order index, rather than one statement with an OR that
// would defeat it.
#pragma once

#include "triad/document.h"
#include "triad/result.h"

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "readmodel/catalog.h"
#include "readmodel/names.h"

namespace triad::internal::readmodel {

// What differs between the SQL engines the query builder serves (SQLite, PostgreSQL).
struct SqlDialect {
  // The type-normalising expression of `field` as `type`, the exact text indexes are built on.
  std::string (*index_expression)(std::string_view field, IndexType type);
  // Wrap range conditions in SQLite's likelihood(…, 0.01) (see Selective() in query_sql.cc).
  bool mark_selective;
  // Text holds only valid UTF-8 (PostgreSQL): string values that are not valid UTF-8 are
  // rewritten into bounds that are (readmodel/utf8_bound.h), with the same matches.
  bool valid_utf8_only;
};

inline constexpr SqlDialect kSqliteDialect{
    .index_expression = &IndexExpression, .mark_selective = true, .valid_utf8_only = false};

// A value bound to a placeholder.
using SqlParam = std::variant<std::string, double, int64_t>;

// SQL text with its parameters in placeholder order.
struct BoundSql {
  std::string sql;
  std::vector<SqlParam> params;
};

// A validated query.
struct QueryPlan {
  // ANDed filter conditions, with '?' placeholders for `params`.
  std::vector<std::string> conditions;
  std::vector<SqlParam> params;
  // The order expression (IndexExpression of the order field), or empty to order by id.
  std::string order_expr;
  IndexType order_type = IndexType::kString;
  // False when a filter on the order field already excludes rows without a value.
  bool order_nulls_possible = true;
  bool descending = false;
  // Identifies the filters and order for cursors.
  uint64_t fingerprint = 0;
};

// OK iff `limit` is 1 to 10,000 (docs/queries.md). Errors: kInvalidArgument.
Status ValidateQueryLimit(size_t limit);

// Validates `query` (not its limit) against the collection's indexes and builds its plan in
// `dialect`. Errors: kInvalidArgument naming the field or value at fault.
Result<QueryPlan> PlanQuery(const CollectionInfo& collection, const Query& query,
                            const SqlDialect& dialect = kSqliteDialect);

// The statements of one page, in result order, after the cursor `after` (empty: from the start).
// Each selects (id, body, position, sources, order value) and ends with "LIMIT ?" whose
// parameter the caller binds after `params`. Errors: kInvalidArgument (a malformed cursor, or
// one from another query).
Result<std::vector<BoundSql>> PageStatements(const CollectionInfo& collection,
                                             const QueryPlan& plan, std::string_view after);

// SELECT count(*), checkpoint of `projection`@`version` over the plan's filters.
BoundSql CountStatement(const CollectionInfo& collection, const QueryPlan& plan,
                        std::string_view projection, int32_t version);

}  // namespace triad::internal::readmodel
