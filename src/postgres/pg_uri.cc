#include "postgres/pg_uri.h"

#include <string>
#include <vector>

namespace triad::internal::pg {
namespace {

// Splits "a=1&b=2" into its parameters, keeping their text as written.
std::vector<std::string> SplitQuery(std::string_view query) {
  std::vector<std::string> out;
  while (!query.empty()) {
    const size_t amp = query.find('&');
    std::string_view part = query.substr(0, amp);
    if (!part.empty()) out.emplace_back(part);
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return out;
}

// The URI with the password of its user-info part (scheme://user:password@host) masked.
std::string MaskPassword(std::string_view uri) {
  const size_t scheme_end = uri.find("://");
  if (scheme_end == std::string_view::npos) return std::string(uri);
  const size_t authority = scheme_end + 3;
  const size_t at = uri.find('@', authority);
  const size_t slash = uri.find('/', authority);
  if (at == std::string_view::npos || (slash != std::string_view::npos && at > slash)) {
    return std::string(uri);
  }
  const size_t colon = uri.find(':', authority);
  if (colon == std::string_view::npos || colon > at) return std::string(uri);
  return std::string(uri.substr(0, colon + 1)) + "***" + std::string(uri.substr(at));
}

}  // namespace

bool IsPostgresUri(std::string_view uri) {
  return uri.starts_with("postgres://") || uri.starts_with("postgresql://");
}

Result<PgTarget> ParsePostgresUri(std::string_view uri) {
  if (!IsPostgresUri(uri)) {
    return InvalidArgumentError("'" + std::string(uri) + "' is not a postgres:// URI");
  }
  PgTarget target;
  const size_t question = uri.find('?');
  std::string base(uri.substr(0, question));
  std::string kept;
  if (question != std::string_view::npos) {
    for (const std::string& param : SplitQuery(uri.substr(question + 1))) {
      if (param.starts_with("schema=")) {
        target.schema = param.substr(7);
        continue;
      }
      kept += kept.empty() ? "?" : "&";
      kept += param;
    }
  }
  if (target.schema.empty() || target.schema.size() > 63) {
    return InvalidArgumentError("the schema parameter of '" + MaskPassword(uri) +
                                "' must have 1 to 63 bytes");
  }
  target.conninfo = base + kept;
  target.display = MaskPassword(uri);
  return target;
}

}  // namespace triad::internal::pg
