#include "readmodel/document_ops.h"

#include "util/status_macros.h"

#include <algorithm>
#include <string>
#include <utility>

#include "readmodel/cursor.h"
#include "readmodel/document_check.h"
#include "readmodel/json_text.h"
#include "readmodel/names.h"
#include "readmodel/query_sql.h"

namespace triad::internal::readmodel {
namespace {

using sqlite::Connection;
using sqlite::ErrorStatus;
using sqlite::ScopedReset;
using sqlite::Statement;

constexpr size_t kQueryStatementCapacity = 256;

// Decodes columns first..first+2 (body, position, sources) of `row`.
Result<Document> RowToDocument(const Statement& row, int first, std::string_view id,
                               std::string_view storage_name) {
  Document doc;
  doc.id = std::string(id);
  doc.body = std::string(row.Text(first));
  doc.meta.projection = std::string(ProjectionOfStorageName(storage_name));
  doc.meta.position = row.Int(first + 1);
  const std::string_view sources = row.Text(first + 2);
  if (sources != "{}") {
    TRIAD_ASSIGN_OR_RETURN(doc.meta.sources, DecodeSources(sources));
  }
  return doc;
}

void BindParams(Statement* stmt, const std::vector<SqlParam>& params) {
  int index = 0;
  for (const SqlParam& param : params) {
    ++index;
    if (const auto* s = std::get_if<std::string>(&param)) {
      stmt->Bind(index, *s);
    } else if (const auto* d = std::get_if<double>(&param)) {
      sqlite3_bind_double(stmt->raw(), index, *d);
    } else {
      stmt->Bind(index, std::get<int64_t>(param));
    }
  }
}

// The cursor that resumes after the current row of `row` (order value in column 4).
Cursor CursorAt(Statement& row, const QueryPlan& plan) {
  Cursor cursor;
  cursor.fingerprint = plan.fingerprint;
  cursor.id = std::string(row.Text(0));
  if (plan.order_expr.empty()) {
    cursor.kind = Cursor::Kind::kId;
  } else if (row.IsNull(4)) {
    cursor.kind = Cursor::Kind::kNull;
  } else if (plan.order_type == IndexType::kString) {
    cursor.kind = Cursor::Kind::kString;
    cursor.text = std::string(row.Text(4));
  } else if (plan.order_type == IndexType::kNumber) {
    cursor.kind = Cursor::Kind::kNumber;
    cursor.number = sqlite3_column_double(row.raw(), 4);
  } else {
    cursor.kind = Cursor::Kind::kBool;
    cursor.boolean = row.Int(4) != 0;
  }
  return cursor;
}

}  // namespace

RmConnection::RmConnection(std::unique_ptr<sqlite::Connection> db)
    : db_(std::move(db)),
      queries_(std::make_unique<StatementCache>(db_->db(), kQueryStatementCapacity)) {}

Result<std::unique_ptr<RmConnection>> RmConnection::Open(const std::string& path, int flags) {
  TRIAD_ASSIGN_OR_RETURN(auto db, Connection::Open(path, flags));
  return std::unique_ptr<RmConnection>(new RmConnection(std::move(db)));
}

Result<std::optional<Document>> ReadDocument(Connection& conn, const CollectionInfo& info,
                                             std::string_view storage_name, std::string_view id) {
  TRIAD_ASSIGN_OR_RETURN(Statement * stmt, conn.Prepare(info.get_sql));
  stmt->Bind(1, id);
  ScopedReset reset(stmt);
  const int rc = stmt->Step();
  if (rc == SQLITE_DONE) return std::optional<Document>();
  if (rc != SQLITE_ROW) return ErrorStatus(conn.db(), rc, "reading a document");
  TRIAD_ASSIGN_OR_RETURN(auto doc, RowToDocument(*stmt, 0, id, storage_name));
  return std::optional<Document>(std::move(doc));
}

Result<DocumentRead> ReadDocumentAsOf(Connection& conn, const CollectionInfo& info,
                                      std::string_view storage_name, std::string_view id,
                                      std::string_view projection, int32_t version) {
  TRIAD_ASSIGN_OR_RETURN(Statement * stmt, conn.Prepare(info.read_sql));
  stmt->Bind(1, id);
  stmt->Bind(2, projection);
  stmt->Bind(3, static_cast<int64_t>(version));
  ScopedReset reset(stmt);
  const int rc = stmt->Step();
  if (rc != SQLITE_ROW) return ErrorStatus(conn.db(), rc, "reading a document");
  DocumentRead out;
  out.as_of = stmt->Int(0);
  if (!stmt->IsNull(1)) {
    TRIAD_ASSIGN_OR_RETURN(out.document, RowToDocument(*stmt, 1, id, storage_name));
  }
  return out;
}

Status WriteDocument(Connection& conn, const CollectionInfo& info, const Document& document) {
  TRIAD_RETURN_IF_ERROR(ValidateDocument(document));
  const std::string sources =
      document.meta.sources.empty() ? std::string("{}") : EncodeSources(document.meta.sources);
  TRIAD_ASSIGN_OR_RETURN(Statement * stmt, conn.Prepare(info.put_sql));
  stmt->Bind(1, document.id);
  stmt->Bind(2, document.body);
  stmt->Bind(3, document.meta.position);
  stmt->Bind(4, sources);
  ScopedReset reset(stmt);
  const int rc = stmt->Step();
  if (rc != SQLITE_DONE) {
    return ErrorStatus(conn.db(), rc, "writing document " + Quote(document.id));
  }
  return Status::OK();
}

Status DeleteDocument(Connection& conn, const CollectionInfo& info, std::string_view id) {
  TRIAD_ASSIGN_OR_RETURN(Statement * stmt, conn.Prepare(info.delete_sql));
  stmt->Bind(1, id);
  ScopedReset reset(stmt);
  const int rc = stmt->Step();
  if (rc != SQLITE_DONE) return ErrorStatus(conn.db(), rc, "deleting document " + Quote(id));
  return Status::OK();
}

Result<QueryPage> ReadPage(RmConnection& conn, const CollectionInfo& info,
                           std::string_view storage_name, const Query& query) {
  TRIAD_RETURN_IF_ERROR(ValidateQueryLimit(query.limit));
  TRIAD_ASSIGN_OR_RETURN(const QueryPlan plan, PlanQuery(info, query));
  TRIAD_ASSIGN_OR_RETURN(const auto statements, PageStatements(info, plan, query.after));
  QueryPage page;
  // Each statement asks for one row beyond what the page still needs: seeing it means another
  // page follows, and the cursor is the last row kept.
  Cursor last;
  bool more = false;
  for (const BoundSql& bound : statements) {
    if (more) break;
    TRIAD_ASSIGN_OR_RETURN(Statement * stmt, conn.queries().Prepare(bound.sql));
    BindParams(stmt, bound.params);
    stmt->Bind(static_cast<int>(bound.params.size()) + 1,
               static_cast<int64_t>(query.limit + 1 - page.documents.size()));
    ScopedReset reset(stmt);
    while (true) {
      const int rc = stmt->Step();
      if (rc == SQLITE_DONE) break;
      if (rc != SQLITE_ROW) return ErrorStatus(conn.db().db(), rc, "running a query");
      if (page.documents.size() == query.limit) {
        more = true;
        break;
      }
      TRIAD_ASSIGN_OR_RETURN(auto doc, RowToDocument(*stmt, 1, stmt->Text(0), storage_name));
      page.documents.push_back(std::move(doc));
      if (page.documents.size() == query.limit) last = CursorAt(*stmt, plan);
    }
  }
  if (more) page.next_cursor = EncodeCursor(last);
  return page;
}

Result<CountResult> ReadCount(RmConnection& conn, const CollectionInfo& info, const Query& query,
                              std::string_view projection, int32_t version) {
  TRIAD_ASSIGN_OR_RETURN(const QueryPlan plan, PlanQuery(info, query));
  const BoundSql bound = CountStatement(info, plan, projection, version);
  TRIAD_ASSIGN_OR_RETURN(Statement * stmt, conn.queries().Prepare(bound.sql));
  BindParams(stmt, bound.params);
  ScopedReset reset(stmt);
  const int rc = stmt->Step();
  if (rc != SQLITE_ROW) return ErrorStatus(conn.db().db(), rc, "counting");
  return CountResult{.count = stmt->Int(0), .as_of = stmt->Int(1)};
}

Result<std::vector<Document>> ReadDocumentsAfter(Connection& conn, const CollectionInfo& info,
                                                 std::string_view storage_name,
                                                 std::string_view after_id, size_t limit) {
  TRIAD_ASSIGN_OR_RETURN(Statement * stmt,
                         conn.Prepare("SELECT id, body, position, sources FROM " + info.table +
                                      " WHERE id > ?1 ORDER BY id LIMIT ?2"));
  stmt->Bind(1, after_id);
  stmt->Bind(2, static_cast<int64_t>(std::min<size_t>(limit, INT64_MAX)));
  ScopedReset reset(stmt);
  std::vector<Document> out;
  while (true) {
    const int rc = stmt->Step();
    if (rc == SQLITE_DONE) return out;
    if (rc != SQLITE_ROW) return ErrorStatus(conn.db(), rc, "scanning documents");
    TRIAD_ASSIGN_OR_RETURN(auto doc, RowToDocument(*stmt, 1, stmt->Text(0), storage_name));
    out.push_back(std::move(doc));
  }
}

}  // namespace triad::internal::readmodel
