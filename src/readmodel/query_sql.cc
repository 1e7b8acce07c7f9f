#include "readmodel/query_sql.h"

#include "util/status_macros.h"

#include <bit>
#include <cmath>
#include <optional>
#include <string>
#include <utility>

#include "readmodel/cursor.h"
#include "readmodel/names.h"
#include "readmodel/utf8_bound.h"

namespace triad::internal::readmodel {
namespace {

constexpr size_t kMaxInValues = 1000;

IndexType TypeOfValue(const FieldValue& value) {
  if (std::holds_alternative<std::string>(value)) return IndexType::kString;
  if (std::holds_alternative<double>(value)) return IndexType::kNumber;
  return IndexType::kBool;
}

SqlParam ToParam(const FieldValue& value) {
  if (const auto* s = std::get_if<std::string>(&value)) return *s;
  if (const auto* d = std::get_if<double>(&value)) return *d;
  return static_cast<int64_t>(std::get<bool>(value) ? 1 : 0);
}

// The smallest string greater than every string starting with `prefix`, or nullopt when there
// is none (the prefix is empty or all 0xFF bytes).
std::optional<std::string> PrefixSuccessor(std::string prefix) {
  while (!prefix.empty() && static_cast<unsigned char>(prefix.back()) == 0xFF) prefix.pop_back();
  if (prefix.empty()) return std::nullopt;
  prefix.back() = static_cast<char>(static_cast<unsigned char>(prefix.back()) + 1);
  return prefix;
}

void AppendCanonical(std::string& out, const FieldValue& value) {
  if (const auto* s = std::get_if<std::string>(&value)) {
    out += 's' + std::to_string(s->size()) + ':' + *s;
  } else if (const auto* d = std::get_if<double>(&value)) {
    out += 'n' + std::to_string(std::bit_cast<uint64_t>(*d));
  } else {
    out += std::get<bool>(value) ? "bt" : "bf";
  }
  out.push_back('\x1e');
}

const char* Comparison(FilterOp op) {
  switch (op) {
    case FilterOp::kEq:
      return " = ?";
    case FilterOp::kNe:
      return " <> ?";
    case FilterOp::kLt:
      return " < ?";
    case FilterOp::kLe:
      return " <= ?";
    case FilterOp::kGt:
      return " > ?";
    case FilterOp::kGe:
      return " >= ?";
    case FilterOp::kIn:
    case FilterOp::kPrefix:
      break;
  }
  return " = ?";
}

// Marks a range condition as selective. Without statistics SQLite guesses that a range keeps a
// quarter of the rows and then prefers reading the whole table in id order over searching the
// range's index and sorting the matches; an indexed filter should use its index. (Paging through
// a large range is cheapest with order_by on the range's own field: docs/queries.md.)
std::string Selective(const SqlDialect& dialect, const std::string& condition) {
  return dialect.mark_selective ? "likelihood(" + condition + ", 0.01)" : condition;
}

// A string filter for a dialect whose text is valid UTF-8 only: values that are not valid UTF-8
// become the valid bounds that match the same valid strings (utf8_bound.h), or conditions that
// match everything with a value or nothing. Returns false when every value is valid and the
// filter needs no rewriting (prefix filters are always handled here: their successor bound may
// not be valid even when the prefix is).
bool PlanUtf8Filter(const SqlDialect& dialect, const Filter& filter, const std::string& expr,
                    QueryPlan& plan) {
  bool all_valid = true;
  for (const FieldValue& value : filter.values) {
    all_valid = all_valid && IsValidUtf8(std::get<std::string>(value));
  }
  if (all_valid && filter.op != FilterOp::kPrefix) return false;
  const std::string& x = std::get<std::string>(filter.values[0]);
  const std::optional<std::string> bound = SmallestValidAtLeast(x);
  switch (filter.op) {
    case FilterOp::kEq:  // no valid string equals x
      plan.conditions.push_back("FALSE");
      break;
    case FilterOp::kNe:
      plan.conditions.push_back(expr + " IS NOT NULL");
      break;
    case FilterOp::kIn: {
      std::string cond;
      for (const FieldValue& value : filter.values) {
        const auto& s = std::get<std::string>(value);
        if (!IsValidUtf8(s)) continue;
        cond += cond.empty() ? expr + " IN (?" : ",?";
        plan.params.emplace_back(s);
      }
      plan.conditions.push_back(cond.empty() ? std::string("FALSE") : cond + ")");
      break;
    }
    case FilterOp::kLt:
    case FilterOp::kLe:  // v <= x iff v < x for valid v, as v == x is impossible
      if (bound) {
        plan.conditions.push_back(Selective(dialect, expr + " < ?"));
        plan.params.emplace_back(*bound);
      } else {
        plan.conditions.push_back(expr + " IS NOT NULL");
      }
      break;
    case FilterOp::kGt:
    case FilterOp::kGe:
      if (bound) {
        plan.conditions.push_back(Selective(dialect, expr + " >= ?"));
        plan.params.emplace_back(*bound);
      } else {
        plan.conditions.push_back("FALSE");
      }
      break;
    case FilterOp::kPrefix: {
      // v starts with x iff x <= v < successor(x), byte-wise; both bounds made valid.
      if (!bound) {
        plan.conditions.push_back("FALSE");
        break;
      }
      plan.params.emplace_back(*bound);
      std::optional<std::string> upper;
      if (auto successor = PrefixSuccessor(x)) upper = SmallestValidAtLeast(*successor);
      if (upper) {
        plan.conditions.push_back(Selective(dialect, expr + " >= ? AND " + expr + " < ?"));
        plan.params.emplace_back(std::move(*upper));
      } else {
        plan.conditions.push_back(Selective(dialect, expr + " >= ?"));
      }
      break;
    }
  }
  return true;
}

std::string Described(const Filter& filter) {
  return "filter " + Quote(filter.field) + " " + std::string(FilterOpName(filter.op));
}

// Adds one filter's condition and parameters to `plan`.
Status PlanFilter(const CollectionInfo& collection, const Filter& filter, bool allow_scan,
                  const SqlDialect& dialect, QueryPlan& plan) {
  TRIAD_RETURN_IF_ERROR(ValidateFieldPath(filter.field));
  const size_t n = filter.values.size();
  if (filter.op == FilterOp::kIn ? (n < 1 || n > kMaxInValues) : n != 1) {
    return InvalidArgumentError(Described(filter) + " takes " +
                                (filter.op == FilterOp::kIn ? std::string("1 to 1000 values")
                                                            : std::string("exactly one value")) +
                                ", got " + std::to_string(n));
  }
  const IndexSpec* index = collection.FindIndex(filter.field);
  if (index == nullptr && !allow_scan) {
    return InvalidArgumentError("no index on field " + Quote(filter.field) +
                                " (used by a filter): declare an index on it in the collection "
                                "spec, or pass allow_scan to read every document");
  }
  const IndexType type = index != nullptr ? index->type : TypeOfValue(filter.values[0]);
  for (const FieldValue& value : filter.values) {
    if (TypeOfValue(value) != type) {
      return InvalidArgumentError(Described(filter) + ": value is a " +
                                  std::string(IndexTypeName(TypeOfValue(value))) + " but field " +
                                  Quote(filter.field) + " is a " +
                                  std::string(IndexTypeName(type)) + " field");
    }
    if (const auto* d = std::get_if<double>(&value); d != nullptr && std::isnan(*d)) {
      return InvalidArgumentError(Described(filter) + ": value is NaN");
    }
  }
  if (filter.op == FilterOp::kPrefix && type != IndexType::kString) {
    return InvalidArgumentError(Described(filter) + ": prefix applies to string fields only");
  }
  const std::string expr = dialect.index_expression(filter.field, type);
  if (dialect.valid_utf8_only && type == IndexType::kString &&
      PlanUtf8Filter(dialect, filter, expr, plan)) {
    return Status::OK();
  }
  switch (filter.op) {
    case FilterOp::kIn: {
      // Placeholders rounded up to a power of two (the last value repeated), so that IN lists
      // share a few cached statements instead of one per length.
      size_t slots = 1;
      while (slots < n) slots *= 2;
      std::string cond = expr + " IN (";
      for (size_t i = 0; i < slots; ++i) {
        cond += i == 0 ? "?" : ",?";
        plan.params.push_back(ToParam(filter.values[std::min(i, n - 1)]));
      }
      plan.conditions.push_back(cond + ")");
      break;
    }
    case FilterOp::kPrefix: {
      const auto& prefix = std::get<std::string>(filter.values[0]);
      plan.params.emplace_back(prefix);
      if (auto successor = PrefixSuccessor(prefix)) {
        plan.conditions.push_back(Selective(dialect, expr + " >= ? AND " + expr + " < ?"));
        plan.params.emplace_back(std::move(*successor));
      } else {
        plan.conditions.push_back(Selective(dialect, expr + " >= ?"));
      }
      break;
    }
    case FilterOp::kEq:
    case FilterOp::kNe:
      plan.conditions.push_back(expr + Comparison(filter.op));
      plan.params.push_back(ToParam(filter.values[0]));
      break;
    default:
      plan.conditions.push_back(Selective(dialect, expr + Comparison(filter.op)));
      plan.params.push_back(ToParam(filter.values[0]));
  }
  return Status::OK();
}

std::string Where(const std::vector<std::string>& conditions) {
  std::string out;
  for (const std::string& cond : conditions) {
    out += out.empty() ? " WHERE " : " AND ";
    out += cond;
  }
  return out;
}

}  // namespace

Status ValidateQueryLimit(size_t limit) {
  if (limit < 1 || limit > 10000) {
    return InvalidArgumentError("query limit must be 1 to 10000, got " + std::to_string(limit));
  }
  return Status::OK();
}

Result<QueryPlan> PlanQuery(const CollectionInfo& collection, const Query& query,
                            const SqlDialect& dialect) {
  QueryPlan plan;
  plan.descending = query.order == SortOrder::kDescending;
  std::string canonical;
  for (const Filter& filter : query.filters) {
    TRIAD_RETURN_IF_ERROR(PlanFilter(collection, filter, query.allow_scan, dialect, plan));
    canonical += filter.field + '\x1f' + std::string(FilterOpName(filter.op)) + '\x1f';
    for (const FieldValue& value : filter.values) AppendCanonical(canonical, value);
    canonical.push_back('\x1d');
  }
  if (!query.order_by.empty()) {
    TRIAD_RETURN_IF_ERROR(ValidateFieldPath(query.order_by));
    std::optional<IndexType> type;
    if (const IndexSpec* index = collection.FindIndex(query.order_by)) {
      type = index->type;
    } else if (!query.allow_scan) {
      return InvalidArgumentError("no index on field " + Quote(query.order_by) +
                                  " (used by order_by): declare an index on it in the collection "
                                  "spec, or pass allow_scan to read every document");
    } else {
      for (const Filter& filter : query.filters) {
        if (filter.field == query.order_by) {
          type = TypeOfValue(filter.values[0]);
          break;
        }
      }
      if (!type) {
        return InvalidArgumentError("order_by field " + Quote(query.order_by) +
                                    " has no index, and no filter on it gives its type: declare "
                                    "an index on it");
      }
    }
    plan.order_type = *type;
    plan.order_expr = dialect.index_expression(query.order_by, *type);
    for (const Filter& filter : query.filters) {
      // Any filter on the order field of the same type only matches rows that have a value.
      if (filter.field == query.order_by && TypeOfValue(filter.values[0]) == *type) {
        plan.order_nulls_possible = false;
      }
    }
  }
  canonical += "order:" + query.order_by + (plan.descending ? ":desc" : ":asc");
  plan.fingerprint = Fingerprint(canonical);
  return plan;
}

Result<std::vector<BoundSql>> PageStatements(const CollectionInfo& collection,
                                             const QueryPlan& plan, std::string_view after) {
  std::optional<Cursor> cursor;
  if (!after.empty()) {
    TRIAD_ASSIGN_OR_RETURN(cursor, DecodeCursor(after));
    const bool by_id = plan.order_expr.empty();
    const Cursor::Kind value_kind = plan.order_type == IndexType::kString   ? Cursor::Kind::kString
                                    : plan.order_type == IndexType::kNumber ? Cursor::Kind::kNumber
                                                                            : Cursor::Kind::kBool;
    const bool kind_ok = by_id
                             ? cursor->kind == Cursor::Kind::kId
                             : (cursor->kind == Cursor::Kind::kNull || cursor->kind == value_kind);
    if (cursor->fingerprint != plan.fingerprint || !kind_ok) {
      return InvalidArgumentError(
          "the cursor ('after') belongs to another query: a cursor is valid only with the same "
          "filters and order");
    }
  }
  const std::string dir = plan.descending ? " DESC" : " ASC";
  const std::string id_after = plan.descending ? "id < ?" : "id > ?";
  const std::string select = "SELECT id, body, position, sources, " +
                             (plan.order_expr.empty() ? std::string("NULL") : plan.order_expr) +
                             " FROM " + collection.table;
  std::vector<BoundSql> out;
  if (plan.order_expr.empty()) {
    BoundSql s{.sql = select, .params = plan.params};
    auto conditions = plan.conditions;
    if (cursor) {
      conditions.push_back(id_after);
      s.params.emplace_back(cursor->id);
    }
    s.sql += Where(conditions) + " ORDER BY id" + dir + " LIMIT ?";
    out.push_back(std::move(s));
    return out;
  }

  // Rows without a value: sorted by id only.
  auto null_segment = [&](bool after_cursor) {
    BoundSql s{.sql = select, .params = plan.params};
    auto conditions = plan.conditions;
    conditions.push_back(plan.order_expr + " IS NULL");
    if (after_cursor) {
      conditions.push_back(id_after);
      s.params.emplace_back(cursor->id);
    }
    s.sql += Where(conditions) + " ORDER BY id" + dir + " LIMIT ?";
    return s;
  };
  // Rows with a value: sorted by (value, id). The keyset condition comes first and is written
  // as a range on the order expression (plus a tie-break on id) rather than a row-value
  // comparison, which SQLite's planner does not turn into a descending index range.
  auto value_segment = [&](bool after_cursor) {
    BoundSql s{.sql = select};
    std::vector<std::string> conditions;
    if (after_cursor) {
      const char* op = plan.descending ? " <= ?" : " >= ?";
      const char* strict = plan.descending ? " < ?" : " > ?";
      conditions.push_back(plan.order_expr + op);
      conditions.push_back("(" + plan.order_expr + strict + " OR " + id_after + ")");
      SqlParam value;
      switch (cursor->kind) {
        case Cursor::Kind::kString:
          value = cursor->text;
          break;
        case Cursor::Kind::kNumber:
          value = cursor->number;
          break;
        default:
          value = static_cast<int64_t>(cursor->boolean ? 1 : 0);
      }
      s.params = {value, value, cursor->id};
    } else {
      conditions.push_back(plan.order_expr + " IS NOT NULL");
    }
    conditions.insert(conditions.end(), plan.conditions.begin(), plan.conditions.end());
    s.params.insert(s.params.end(), plan.params.begin(), plan.params.end());
    s.sql += Where(conditions) + " ORDER BY " + plan.order_expr + dir + ", id" + dir + " LIMIT ?";
    return s;
  };

  const bool in_nulls = cursor && cursor->kind == Cursor::Kind::kNull;
  if (!plan.descending) {
    if (plan.order_nulls_possible && (!cursor || in_nulls)) out.push_back(null_segment(in_nulls));
    out.push_back(value_segment(cursor && !in_nulls));
  } else {
    if (!in_nulls) out.push_back(value_segment(cursor.has_value()));
    if (plan.order_nulls_possible) out.push_back(null_segment(in_nulls));
  }
  return out;
}

BoundSql CountStatement(const CollectionInfo& collection, const QueryPlan& plan,
                        std::string_view projection, int32_t version) {
  BoundSql s;
  s.sql =
      "SELECT count(*), (SELECT checkpoint FROM rm_projections WHERE name = ? AND version = ?) "
      "FROM " +
      collection.table + Where(plan.conditions);
  s.params.emplace_back(std::string(projection));
  s.params.emplace_back(static_cast<int64_t>(version));
  s.params.insert(s.params.end(), plan.params.begin(), plan.params.end());
  return s;
}

}  // namespace triad::internal::readmodel
