// Document reads, writes and query execution on one connection, shared by the write
// transaction (the writer connection, seeing its own writes) and the backend's readers.
#pragma once

#include "storage/sqlite/sqlite_db.h"

#include "triad/read_model_backend.h"

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "readmodel/catalog.h"
#include "readmodel/statement_cache.h"

namespace triad::internal::readmodel {

// A connection with its bounded cache of query statements.
// Thread-safety: used by one thread at a time.
class RmConnection {
 public:
  // Opens `path` with `flags` (SQLITE_OPEN_*).
  static Result<std::unique_ptr<RmConnection>> Open(const std::string& path, int flags);

  sqlite::Connection& db() { return *db_; }
  StatementCache& queries() { return *queries_; }

 private:
  explicit RmConnection(std::unique_ptr<sqlite::Connection> db);

  std::unique_ptr<sqlite::Connection> db_;
  std::unique_ptr<StatementCache> queries_;  // declared after db_: destroyed before it
};

// The document `id`, or nullopt.
Result<std::optional<Document>> ReadDocument(sqlite::Connection& conn, const CollectionInfo& info,
                                             std::string_view storage_name, std::string_view id);

// The document and the checkpoint of `projection`@`version`, from one statement (one snapshot).
Result<DocumentRead> ReadDocumentAsOf(sqlite::Connection& conn, const CollectionInfo& info,
                                      std::string_view storage_name, std::string_view id,
                                      std::string_view projection, int32_t version);

// Validates and upserts the document. Errors: kInvalidArgument (id, body).
Status WriteDocument(sqlite::Connection& conn, const CollectionInfo& info,
                     const Document& document);

Status DeleteDocument(sqlite::Connection& conn, const CollectionInfo& info, std::string_view id);

// One page of `query` (as_of left 0). Errors: as ReadModelBackend::Find.
Result<QueryPage> ReadPage(RmConnection& conn, const CollectionInfo& info,
                           std::string_view storage_name, const Query& query);

// The count of `query`'s matches and the checkpoint, from one statement.
Result<CountResult> ReadCount(RmConnection& conn, const CollectionInfo& info, const Query& query,
                              std::string_view projection, int32_t version);

// Documents with ids above `after_id`, in id order, at most `limit`.
Result<std::vector<Document>> ReadDocumentsAfter(sqlite::Connection& conn,
                                                 const CollectionInfo& info,
                                                 std::string_view storage_name,
                                                 std::string_view after_id, size_t limit);

}  // namespace triad::internal::readmodel
