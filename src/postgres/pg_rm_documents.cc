#include "postgres/pg_rm_documents.h"

#include "util/status_macros.h"

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <string>
#include <utility>

#include "postgres/pg_rm_sql.h"
#include "readmodel/cursor.h"
#include "readmodel/document_check.h"
#include "readmodel/json_text.h"
#include "readmodel/names.h"
#include "readmodel/query_sql.h"

namespace triad::internal::pg {
namespace {

using readmodel::BoundSql;
using readmodel::Cursor;
using readmodel::QueryPlan;

// Decodes columns first..first+2 (body, position, sources) of row `i`.
Result<Document> RowToDocument(const PgResult& rows, int i, int first, std::string_view id,
                               std::string_view storage_name) {
  Document doc;
  doc.id = std::string(id);
  doc.body = std::string(rows.Text(i, first));
  doc.meta.projection = std::string(readmodel::ProjectionOfStorageName(storage_name));
  doc.meta.position = rows.Int(i, first + 1);
  const std::string_view sources = rows.Text(i, first + 2);
  if (sources != "{}") {
    TRIAD_ASSIGN_OR_RETURN(doc.meta.sources, readmodel::DecodeSources(sources));
  }
  return doc;
}

// The cursor that resumes after row `i` (order value in column 4, as text).
Cursor CursorAt(const PgResult& rows, int i, const QueryPlan& plan) {
  Cursor cursor;
  cursor.fingerprint = plan.fingerprint;
  cursor.id = std::string(rows.Text(i, 0));
  if (plan.order_expr.empty()) {
    cursor.kind = Cursor::Kind::kId;
  } else if (rows.IsNull(i, 4)) {
    cursor.kind = Cursor::Kind::kNull;
  } else if (plan.order_type == IndexType::kString) {
    cursor.kind = Cursor::Kind::kString;
    cursor.text = std::string(rows.Text(i, 4));
  } else if (plan.order_type == IndexType::kNumber) {
    cursor.kind = Cursor::Kind::kNumber;
    // float8 output is the shortest text that reads back as the same double.
    const std::string_view text = rows.Text(i, 4);
    std::from_chars(text.data(), text.data() + text.size(), cursor.number);
  } else {
    cursor.kind = Cursor::Kind::kBool;
    cursor.boolean = rows.Int(i, 4) != 0;
  }
  return cursor;
}

// The prepared-statement name of `what` on the collection's table: ids are never reused, so a
// name always goes with one text.
std::string StatementName(const CollectionInfo& info, const char* what) {
  return info.table + "_" + what;
}

}  // namespace

Result<std::optional<Document>> PgReadDocument(PgConnection& conn, const CollectionInfo& info,
                                               std::string_view storage_name, std::string_view id) {
  TRIAD_ASSIGN_OR_RETURN(PgResult rows, conn.QueryPrepared(StatementName(info, "get"),
                                                           "SELECT body, position, sources FROM " +
                                                               info.table + " WHERE id = $1",
                                                           PgParams().Text(id)));
  if (rows.rows() == 0) return std::optional<Document>();
  TRIAD_ASSIGN_OR_RETURN(auto doc, RowToDocument(rows, 0, 0, id, storage_name));
  return std::optional<Document>(std::move(doc));
}

Result<DocumentRead> PgReadDocumentAsOf(PgConnection& conn, const CollectionInfo& info,
                                        std::string_view storage_name, std::string_view id,
                                        std::string_view projection, int32_t version) {
  // One statement is one snapshot: the checkpoint and the document cannot disagree.
  TRIAD_ASSIGN_OR_RETURN(
      PgResult rows,
      conn.QueryPrepared(StatementName(info, "read"),
                         "SELECT (SELECT checkpoint FROM rm_projections WHERE name = $2 AND "
                         "version = $3), d.body, d.position, d.sources FROM (SELECT 1) one LEFT "
                         "JOIN " +
                             info.table + " d ON d.id = $1",
                         PgParams().Text(id).Text(projection).Int4(version)));
  DocumentRead out;
  if (rows.rows() != 1) return InternalError("postgres: reading a document returned no row");
  out.as_of = rows.Int(0, 0);
  if (!rows.IsNull(0, 1)) {
    TRIAD_ASSIGN_OR_RETURN(out.document, RowToDocument(rows, 0, 1, id, storage_name));
  }
  return out;
}

Status PgWriteDocument(PgConnection& conn, const CollectionInfo& info, const Document& document) {
  TRIAD_RETURN_IF_ERROR(readmodel::ValidateDocument(document));
  const std::string sources = document.meta.sources.empty()
                                  ? std::string("{}")
                                  : readmodel::EncodeSources(document.meta.sources);
  auto written = conn.QueryPrepared(
      StatementName(info, "put"),
      "INSERT INTO " + info.table +
          " (id, body, data, position, sources) VALUES ($1, $2, $2::jsonb, $3, $4) ON CONFLICT "
          "(id) DO UPDATE SET body = excluded.body, data = excluded.data, position = "
          "excluded.position, sources = excluded.sources",
      PgParams().Text(document.id).Text(document.body).Int(document.meta.position).Text(sources));
  if (!written.ok()) {
    return written.status().Annotate("writing document " + Quote(document.id));
  }
  return Status::OK();
}

Status PgDeleteDocument(PgConnection& conn, const CollectionInfo& info, std::string_view id) {
  return conn
      .QueryPrepared(StatementName(info, "delete"), "DELETE FROM " + info.table + " WHERE id = $1",
                     PgParams().Text(id))
      .status();
}

Result<QueryPage> PgReadPage(PgConnection& conn, const CollectionInfo& info,
                             std::string_view storage_name, const Query& query) {
  TRIAD_RETURN_IF_ERROR(readmodel::ValidateQueryLimit(query.limit));
  TRIAD_ASSIGN_OR_RETURN(const QueryPlan plan, readmodel::PlanQuery(info, query, kPgDialect));
  TRIAD_ASSIGN_OR_RETURN(const auto statements, readmodel::PageStatements(info, plan, query.after));
  QueryPage page;
  // Each statement asks for one row beyond what the page still needs: seeing it means another
  // page follows, and the cursor is the last row kept.
  Cursor last;
  bool more = false;
  for (const BoundSql& bound : statements) {
    if (more) break;
    PgParams params;
    AppendParams(bound.params, params);
    params.Int(static_cast<int64_t>(query.limit + 1 - page.documents.size()));
    TRIAD_ASSIGN_OR_RETURN(PgResult rows, conn.Query(DollarPlaceholders(bound.sql), params));
    for (int i = 0; i < rows.rows(); ++i) {
      if (page.documents.size() == query.limit) {
        more = true;
        break;
      }
      TRIAD_ASSIGN_OR_RETURN(auto doc, RowToDocument(rows, i, 1, rows.Text(i, 0), storage_name));
      page.documents.push_back(std::move(doc));
      if (page.documents.size() == query.limit) last = CursorAt(rows, i, plan);
    }
  }
  if (more) page.next_cursor = readmodel::EncodeCursor(last);
  return page;
}

Result<CountResult> PgReadCount(PgConnection& conn, const CollectionInfo& info, const Query& query,
                                std::string_view projection, int32_t version) {
  TRIAD_ASSIGN_OR_RETURN(const QueryPlan plan, readmodel::PlanQuery(info, query, kPgDialect));
  const BoundSql bound = readmodel::CountStatement(info, plan, projection, version);
  PgParams params;
  AppendParams(bound.params, params);
  TRIAD_ASSIGN_OR_RETURN(PgResult rows, conn.Query(DollarPlaceholders(bound.sql), params));
  if (rows.rows() != 1) return InternalError("postgres: counting returned no row");
  return CountResult{.count = rows.Int(0, 0), .as_of = rows.Int(0, 1)};
}

Result<std::vector<Document>> PgReadDocumentsAfter(PgConnection& conn, const CollectionInfo& info,
                                                   std::string_view storage_name,
                                                   std::string_view after_id, size_t limit) {
  TRIAD_ASSIGN_OR_RETURN(
      PgResult rows,
      conn.QueryPrepared(StatementName(info, "scan"),
                         "SELECT id, body, position, sources FROM " + info.table +
                             " WHERE id > $1 ORDER BY id LIMIT $2",
                         PgParams().Text(after_id).Int(static_cast<int64_t>(
                             std::min<size_t>(limit, static_cast<size_t>(INT64_MAX))))));
  std::vector<Document> out;
  for (int i = 0; i < rows.rows(); ++i) {
    TRIAD_ASSIGN_OR_RETURN(auto doc, RowToDocument(rows, i, 1, rows.Text(i, 0), storage_name));
    out.push_back(std::move(doc));
  }
  return out;
}

}  // namespace triad::internal::pg
