// The text syntax of filters and orders (include/triad/query_text.h).
#include "triad/query_text.h"

#include "util/status_macros.h"

#include <nlohmann/json.hpp>

#include <array>
#include <string>
#include <utility>
#include <variant>

namespace triad {
namespace {

Status BadFilter(std::string_view option, std::string_view text, std::string_view why) {
  return InvalidArgumentError(std::string(option) + " '" + std::string(text) +
                              "': " + std::string(why) +
                              " (expected field:op:value with op one of eq, ne, lt, le, gt, "
                              "ge, in, prefix)");
}

// JSON when the value is a number, true, false or a quoted string; otherwise the text itself.
Result<FieldValue> ParseValue(std::string_view option, std::string_view text,
                              std::string_view value) {
  const nlohmann::json json = nlohmann::json::parse(value, nullptr, /*allow_exceptions=*/false);
  if (json.is_number()) return FieldValue(json.get<double>());
  if (json.is_boolean()) return FieldValue(json.get<bool>());
  if (json.is_string()) return FieldValue(json.get<std::string>());
  if (json.is_null() && value == "null") {
    return BadFilter(option, text,
                     "null cannot be compared (a document without the field is absent "
                     "from its index)");
  }
  return FieldValue(std::string(value));
}

}  // namespace

Result<Filter> ParseFilterText(std::string_view text, std::string_view option) {
  const size_t first = text.find(':');
  const size_t second = first == std::string_view::npos ? first : text.find(':', first + 1);
  if (second == std::string_view::npos) {
    return BadFilter(option, text, "not three ':'-separated parts");
  }
  Filter filter;
  filter.field = std::string(text.substr(0, first));
  if (filter.field.empty()) return BadFilter(option, text, "the field is empty");
  const std::string_view op = text.substr(first + 1, second - first - 1);
  static constexpr std::array kOps = {FilterOp::kEq, FilterOp::kNe,    FilterOp::kLt,
                                      FilterOp::kLe, FilterOp::kGt,    FilterOp::kGe,
                                      FilterOp::kIn, FilterOp::kPrefix};
  bool known = false;
  for (const FilterOp candidate : kOps) {
    if (FilterOpName(candidate) == op) {
      filter.op = candidate;
      known = true;
    }
  }
  if (!known) return BadFilter(option, text, "unknown op '" + std::string(op) + "'");
  std::string_view values = text.substr(second + 1);
  if (filter.op != FilterOp::kIn) {
    TRIAD_ASSIGN_OR_RETURN(FieldValue value, ParseValue(option, text, values));
    if (filter.op == FilterOp::kPrefix && !std::holds_alternative<std::string>(value)) {
      return BadFilter(option, text, "prefix needs a string value");
    }
    filter.values.push_back(std::move(value));
    return filter;
  }
  while (true) {
    const size_t bar = values.find('|');
    TRIAD_ASSIGN_OR_RETURN(FieldValue value, ParseValue(option, text, values.substr(0, bar)));
    filter.values.push_back(std::move(value));
    if (bar == std::string_view::npos) break;
    values = values.substr(bar + 1);
  }
  return filter;
}

Result<std::pair<std::string, SortOrder>> ParseOrderText(std::string_view text,
                                                         std::string_view option) {
  const std::string quoted = std::string(option) + " '" + std::string(text) + "'";
  const size_t colon = text.find(':');
  std::string field(text.substr(0, colon));
  if (field.empty()) return InvalidArgumentError(quoted + ": the field is empty");
  if (colon == std::string_view::npos) return std::pair{field, SortOrder::kAscending};
  const std::string_view order = text.substr(colon + 1);
  if (order == "asc") return std::pair{field, SortOrder::kAscending};
  if (order == "desc") return std::pair{field, SortOrder::kDescending};
  return InvalidArgumentError(quoted + ": the order must be asc or desc (field[:desc])");
}

}  // namespace triad
