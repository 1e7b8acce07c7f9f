#include "storage/memory/memory_backend.h"
#include "storage/sqlite/sqlite_backend.h"

#include "triad/backend.h"

#include <string>

#include "postgres/pg_backend.h"
#include "postgres/pg_uri.h"

namespace triad {

Result<int64_t> Backend::ScanAll(const ReadAllOptions& options, const EventVisitor& visit) {
  auto events = ReadAll(options);
  if (!events.ok()) return events.status();
  int64_t visited = 0;
  for (const RecordedEvent& event : *events) {
    ++visited;
    if (!visit(ViewOf(event))) break;
  }
  return visited;
}

Result<std::unique_ptr<Backend>> OpenBackend(const Options& options, std::string_view uri) {
  if (uri == "memory:" || uri == "memory") return internal::NewMemoryBackend();
  if (internal::pg::IsPostgresUri(uri)) return internal::pg::OpenPostgresBackend(options, uri);
  std::string_view path = uri;
  if (uri.starts_with("sqlite:")) {
    path = uri.substr(7);
    if (path.starts_with("//")) path = path.substr(2);  // sqlite://PATH
  } else if (const size_t colon = uri.find("://"); colon != std::string_view::npos) {
    return InvalidArgumentError("unsupported store URI '" + internal::pg::MaskUriPassword(uri) +
                                "'; use sqlite:PATH, a file path, postgres://..., or memory:");
  }
  if (path.empty()) return InvalidArgumentError("store URI '" + std::string(uri) + "' has no path");
  return internal::OpenSqliteBackend(options, path);
}

}  // namespace triad
