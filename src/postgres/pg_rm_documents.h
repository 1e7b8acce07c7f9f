// Document reads, writes and query execution on one PostgreSQL connection, shared by the write
// transaction (seeing its own writes) and the backend's pooled readers. The PostgreSQL
// counterpart of readmodel/document_ops.h; queries are built by readmodel/query_sql.h in
// kPgDialect.
#pragma once

#include "triad/read_model_backend.h"

#include <optional>
#include <string_view>
#include <vector>

#include "postgres/pg_connection.h"
#include "readmodel/catalog.h"

namespace triad::internal::pg {

using readmodel::CollectionInfo;

// The document `id`, or nullopt.
Result<std::optional<Document>> PgReadDocument(PgConnection& conn, const CollectionInfo& info,
                                               std::string_view storage_name, std::string_view id);

// The document and the checkpoint of `projection`@`version`, from one statement (one snapshot).
Result<DocumentRead> PgReadDocumentAsOf(PgConnection& conn, const CollectionInfo& info,
                                        std::string_view storage_name, std::string_view id,
                                        std::string_view projection, int32_t version);

// Validates and upserts the document. Errors: kInvalidArgument (id, body).
Status PgWriteDocument(PgConnection& conn, const CollectionInfo& info, const Document& document);

Status PgDeleteDocument(PgConnection& conn, const CollectionInfo& info, std::string_view id);

// One page of `query` (as_of left 0). Its statements run in the connection's current
// transaction: the caller opens one when they must share a snapshot.
// Errors: as ReadModelBackend::Find.
Result<QueryPage> PgReadPage(PgConnection& conn, const CollectionInfo& info,
                             std::string_view storage_name, const Query& query);

// The count of `query`'s matches and the checkpoint, from one statement.
Result<CountResult> PgReadCount(PgConnection& conn, const CollectionInfo& info, const Query& query,
                                std::string_view projection, int32_t version);

// Documents with ids above `after_id`, in id order, at most `limit`.
Result<std::vector<Document>> PgReadDocumentsAfter(PgConnection& conn, const CollectionInfo& info,
                                                   std::string_view storage_name,
                                                   std::string_view after_id, size_t limit);

}  // namespace triad::internal::pg
