// The PostgreSQL dialect of the read model's query builder (readmodel/query_sql.h) and the glue
// that runs its statements through libpq: '?' placeholders become $1, $2, ... and SqlParams
// become binary parameters.
//
// Documents keep their body twice: `body` (text, exactly as written, served back) and `data`
// (jsonb, parsed once at write time) on which index expressions and scans work.
#pragma once

#include "triad/document.h"

#include <string>
#include <string_view>
#include <vector>

#include "postgres/pg_connection.h"
#include "readmodel/query_sql.h"

namespace triad::internal::pg {

// The expression, over the jsonb column `data`, whose value is the field as `type` or NULL when
// the field is missing or holds another JSON type: text COLLATE "C", float8, or 0/1 for bools.
// Indexes are created on exactly this text and queries filter and order on it, so that the
// planner matches them. REQUIRES: readmodel::ValidateFieldPath(field).ok().
std::string PgIndexExpression(std::string_view field, IndexType type);

inline constexpr readmodel::SqlDialect kPgDialect{
    .index_expression = &PgIndexExpression, .mark_selective = false, .valid_utf8_only = true};

// `sql` with its n-th '?' replaced by $n. REQUIRES: '?' occurs only as placeholders.
std::string DollarPlaceholders(std::string_view sql);

// Appends `params` to `out`. The strings must outlive `out`'s use.
void AppendParams(const std::vector<readmodel::SqlParam>& params, PgParams& out);

}  // namespace triad::internal::pg
