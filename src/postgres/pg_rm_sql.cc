#include "postgres/pg_rm_sql.h"

#include <variant>

namespace triad::internal::pg {

std::string PgIndexExpression(std::string_view field, IndexType type) {
  // data->'a'->'b': `->` with a key yields NULL on arrays and scalars, as SQLite's '$.a.b' does
  // ('#>' would index arrays by number).
  std::string parent = "data";
  std::string_view last = field;
  for (size_t dot = field.find('.'); dot != std::string_view::npos; dot = field.find('.')) {
    parent += "->'" + std::string(field.substr(0, dot)) + "'";
    field.remove_prefix(dot + 1);
    last = field;
  }
  const std::string value = parent + "->'" + std::string(last) + "'";
  switch (type) {
    case IndexType::kString:
      return "(CASE WHEN jsonb_typeof(" + value + ") = 'string' THEN " + parent + "->>'" +
             std::string(last) + "' END) COLLATE \"C\"";
    case IndexType::kNumber:
      return "(CASE WHEN jsonb_typeof(" + value + ") = 'number' THEN (" + value + ")::float8 END)";
    case IndexType::kBool:
      return "(CASE " + value + " WHEN 'true'::jsonb THEN 1 WHEN 'false'::jsonb THEN 0 END)";
  }
  return "NULL";
}

std::string DollarPlaceholders(std::string_view sql) {
  std::string out;
  out.reserve(sql.size() + 16);
  int n = 0;
  for (const char c : sql) {
    if (c == '?') {
      out += '$' + std::to_string(++n);
    } else {
      out += c;
    }
  }
  return out;
}

void AppendParams(const std::vector<readmodel::SqlParam>& params, PgParams& out) {
  for (const readmodel::SqlParam& param : params) {
    if (const auto* s = std::get_if<std::string>(&param)) {
      out.Text(*s);
    } else if (const auto* d = std::get_if<double>(&param)) {
      out.Float8(*d);
    } else {
      out.Int(std::get<int64_t>(param));
    }
  }
}

}  // namespace triad::internal::pg
