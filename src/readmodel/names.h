// Validation of the names that reach SQL text (collection names, field paths) and the
// type-normalising SQL expression of an index. Field paths are validated before they are put in
// SQL text; values never are: they are bound.
#pragma once

#include "util/quote.h"

#include "triad/document.h"
#include "triad/status.h"

#include <string>
#include <string_view>

namespace triad::internal::readmodel {

// OK iff `field` is a dotted path of 1-64 character segments of [A-Za-z0-9_].
// Errors: kInvalidArgument naming the field.
Status ValidateFieldPath(std::string_view field);

// OK iff `name` is 1-64 characters of [a-z0-9_-] starting with a letter (CollectionSpec::name).
Status ValidateCollectionName(std::string_view name);

// OK iff `storage_name` is 1-512 bytes without control characters.
Status ValidateStorageName(std::string_view storage_name);

// The SQL expression, over the column `body`, whose value is the field as `type` or NULL when
// the field is missing or holds another JSON type. Indexes are created on exactly this text and
// queries filter and order on exactly this text, so that SQLite's planner matches them.
// REQUIRES: ValidateFieldPath(field).ok().
std::string IndexExpression(std::string_view field, IndexType type);

// The "name@version" part of a storage name "name@version/collection" (all of it without '/').
std::string_view ProjectionOfStorageName(std::string_view storage_name);

}  // namespace triad::internal::readmodel
