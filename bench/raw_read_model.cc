#include "raw_read_model.h"

namespace triad::bench {
namespace {

void BindText(sqlite3_stmt* stmt, int index, std::string_view text) {
  sqlite3_bind_text(stmt, index, text.data(), static_cast<int>(text.size()), SQLITE_STATIC);
}

std::string_view ColumnText(sqlite3_stmt* stmt, int column) {
  const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(stmt, column));
  return text == nullptr
             ? std::string_view()
             : std::string_view(text, static_cast<size_t>(sqlite3_column_bytes(stmt, column)));
}

}  // namespace

RawEventReader::RawEventReader(RawDb& db)
    : db_(db),
      // The columns and join of Triad's log query (raw_sqlite.cc TRIAD_BENCH_EVENT_COLUMNS).
      stmt_(db.Prepare("SELECT e.position, e.id, s.name, e.version, e.type, e.data, e.metadata, "
                       "e.correlation_id, e.causation_id, e.recorded_at"
                       " FROM events e JOIN streams s ON s.stream_id = e.stream_id"
                       " WHERE e.position > ?1 ORDER BY e.position LIMIT ?2")) {}

int64_t RawEventReader::ReadPage(int64_t after, int64_t limit, int64_t& last,
                                 const std::function<void(const EventView&)>& visit) {
  sqlite3_bind_int64(stmt_, 1, after);
  sqlite3_bind_int64(stmt_, 2, limit);
  int64_t rows = 0;
  int rc;
  while ((rc = sqlite3_step(stmt_)) == SQLITE_ROW) {
    EventView e;
    e.position = sqlite3_column_int64(stmt_, 0);
    e.id = ColumnText(stmt_, 1);
    e.stream = ColumnText(stmt_, 2);
    e.version = sqlite3_column_int64(stmt_, 3);
    e.type = ColumnText(stmt_, 4);
    e.data = ColumnText(stmt_, 5);
    e.metadata = ColumnText(stmt_, 6);
    e.correlation_id = ColumnText(stmt_, 7);
    e.causation_id = ColumnText(stmt_, 8);
    e.recorded_at_us = sqlite3_column_int64(stmt_, 9);
    visit(e);
    last = e.position;
    ++rows;
  }
  db_.Check(rc, SQLITE_DONE, "raw event scan");
  sqlite3_reset(stmt_);
  return rows;
}

RawDocumentTable::RawDocumentTable(RawDb& db) : db_(db) {
  db.Exec(
      "CREATE TABLE IF NOT EXISTS plain_docs (id TEXT PRIMARY KEY, owner TEXT, body TEXT NOT "
      "NULL) WITHOUT ROWID;"
      "CREATE INDEX IF NOT EXISTS plain_docs_by_owner ON plain_docs (owner, id);");
  begin_ = db.Prepare("BEGIN IMMEDIATE");
  commit_ = db.Prepare("COMMIT");
  get_ = db.Prepare("SELECT body FROM plain_docs WHERE id = ?1");
  find_ =
      db.Prepare("SELECT id, owner, body FROM plain_docs WHERE owner = ?1 ORDER BY id LIMIT ?2");
  upsert_ = db.Prepare(
      "INSERT INTO plain_docs (id, owner, body) VALUES (?1, ?2, ?3) ON CONFLICT (id) DO UPDATE "
      "SET owner = excluded.owner, body = excluded.body");
}

bool RawDocumentTable::Get(std::string_view id, std::string& body) {
  BindText(get_, 1, id);
  const int rc = sqlite3_step(get_);
  const bool found = rc == SQLITE_ROW;
  if (found) body.assign(ColumnText(get_, 0));
  if (!found) db_.Check(rc, SQLITE_DONE, "raw get");
  sqlite3_reset(get_);
  return found;
}

int64_t RawDocumentTable::FindByOwner(std::string_view owner, int64_t limit) {
  BindText(find_, 1, owner);
  sqlite3_bind_int64(find_, 2, limit);
  int64_t rows = 0;
  int rc;
  while ((rc = sqlite3_step(find_)) == SQLITE_ROW) {
    // Copied out, as a caller of a query API receives documents it owns.
    for (int column = 0; column < 3; ++column) scratch_.assign(ColumnText(find_, column));
    checksum_ += scratch_.size();
    ++rows;
  }
  db_.Check(rc, SQLITE_DONE, "raw find");
  sqlite3_reset(find_);
  return rows;
}

void RawDocumentTable::Update(std::string_view id,
                              const std::function<void(std::string& body)>& change) {
  Begin();
  std::string body;
  if (!Get(id, body)) body.clear();
  change(body);
  Insert(id, "", body);
  Commit();
}

void RawDocumentTable::Insert(std::string_view id, std::string_view owner, std::string_view body) {
  BindText(upsert_, 1, id);
  BindText(upsert_, 2, owner);
  BindText(upsert_, 3, body);
  db_.Check(sqlite3_step(upsert_), SQLITE_DONE, "raw upsert");
  sqlite3_reset(upsert_);
}

void RawDocumentTable::Begin() {
  db_.Check(sqlite3_step(begin_), SQLITE_DONE, "begin");
  sqlite3_reset(begin_);
}

void RawDocumentTable::Commit() {
  db_.Check(sqlite3_step(commit_), SQLITE_DONE, "commit");
  sqlite3_reset(commit_);
}

}  // namespace triad::bench
