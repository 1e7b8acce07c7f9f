// The public free functions of triad/read_model_backend.h: URIs and storage names.
#include "triad/read_model_backend.h"

#include <string>

#include "postgres/pg_read_model.h"
#include "postgres/pg_uri.h"
#include "readmodel/sqlite_read_model.h"

namespace triad {

std::string CollectionStorageName(std::string_view projection_name, int32_t version,
                                  std::string_view collection) {
  return std::string(projection_name) + "@" + std::to_string(version) + "/" +
         std::string(collection);
}

Result<std::unique_ptr<ReadModelBackend>> OpenReadModelBackend(const ReadModelOptions& options,
                                                               std::string_view uri) {
  if (uri == "memory:" || uri == "memory") return internal::readmodel::OpenMemoryReadModel(options);
  if (internal::pg::IsPostgresUri(uri)) {
    return internal::pg::OpenPostgresReadModel(options, uri);
  }
  std::string_view path = uri;
  if (uri.starts_with("sqlite:")) {
    path = uri.substr(7);
    if (path.starts_with("//")) path = path.substr(2);  // sqlite://PATH
  } else if (uri.find("://") != std::string_view::npos) {
    return InvalidArgumentError("unsupported read-model URI '" +
                                internal::pg::MaskUriPassword(uri) +
                                "'; use sqlite:PATH, a file path, postgres://…, or memory:");
  }
  if (path.empty()) {
    return InvalidArgumentError("read-model URI '" + std::string(uri) + "' has no path");
  }
  return internal::readmodel::OpenSqliteReadModel(options, path);
}

std::string DefaultReadModelUri(std::string_view event_store_uri) {
  if (event_store_uri == "memory:" || event_store_uri == "memory") return "memory:";
  std::string_view path = event_store_uri;
  if (path.starts_with("sqlite:")) {
    path = path.substr(7);
    if (path.starts_with("//")) path = path.substr(2);
  } else if (path.find("://") != std::string_view::npos) {
    return std::string(event_store_uri);  // another server-backed store keeps its read model
  }
  return "sqlite:" + std::string(path) + ".readmodel";
}

}  // namespace triad
