// The text syntax of query filters and orders, shared by the HTTP API
// (`GET /collections/{c}/docs?where=…&order_by=…`) and the CLI (`triad find --where … --order-by
// …`), so that a query means the same thing over both (docs/queries.md, docs/http-api.md):
//
//   field:op:value     op is eq ne lt le gt ge in prefix; everything after the second ':' is the
//                      value; `in` takes values separated by '|'. A value is a number, true or
//                      false when it parses as JSON, a "quoted" JSON string as that string (to
//                      compare a string index with "42"), else the text itself.
//   field[:asc|:desc]  an order
//
// Thread-safety: pure functions.
#pragma once

#include "triad/document.h"
#include "triad/result.h"

#include <string>
#include <string_view>
#include <utility>

namespace triad {

// Parses one filter. `option` names where the text came from in error messages ("--where",
// "where"). Errors: kInvalidArgument "<option> '<text>': <why>" (not three parts, an empty field,
// an unknown op, null as a value, a non-string prefix).
Result<Filter> ParseFilterText(std::string_view text, std::string_view option = "where");

// Parses one order: the field and its direction. Errors: kInvalidArgument
// "<option> '<text>': <why>" (an empty field, a direction other than asc/desc).
Result<std::pair<std::string, SortOrder>> ParseOrderText(std::string_view text,
                                                         std::string_view option = "order_by");

}  // namespace triad
