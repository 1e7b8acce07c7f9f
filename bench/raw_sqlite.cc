#include "raw_sqlite.h"

#include "storage/sqlite/schema.h"

#include "triad/event.h"

#include <chrono>

namespace triad::bench {
namespace {

// The columns of Triad's event reads (sqlite_backend.cc kEventColumns), in the same order.
#define TRIAD_BENCH_EVENT_COLUMNS                                                       \
  "e.position, e.id, s.name, e.version, e.type, e.data, e.metadata, e.correlation_id, " \
  "e.causation_id, e.recorded_at"

// Reads every column of the current row the way Triad's RowToEvent does (text pointer and size,
// 64-bit integers) and folds it into `sum`.
void ConsumeRow(sqlite3_stmt* stmt, uint64_t& sum) {
  for (int column : {0, 3, 9}) sum += static_cast<uint64_t>(sqlite3_column_int64(stmt, column));
  for (int column : {1, 2, 4, 5, 6, 7, 8}) {
    const unsigned char* text = sqlite3_column_text(stmt, column);
    const int bytes = sqlite3_column_bytes(stmt, column);
    sum += static_cast<uint64_t>(bytes) + (text != nullptr && bytes > 0 ? text[0] : 0);
  }
}

void BindText(sqlite3_stmt* stmt, int index, std::string_view text) {
  sqlite3_bind_text(stmt, index, text.data(), static_cast<int>(text.size()), SQLITE_STATIC);
}

int64_t NowMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

RawDb::RawDb(const std::string& path, bool create_schema) {
  const int rc =
      sqlite3_open_v2(path.c_str(), &db_,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  Check(rc, SQLITE_OK, "opening " + path);
  sqlite3_extended_result_codes(db_, 1);
  sqlite3_busy_timeout(db_, 10000);
  Exec("PRAGMA journal_mode=WAL");
  Exec("PRAGMA synchronous=FULL");
  if (create_schema) Exec(internal::sqlite::kCreateSchema);
}

RawDb::~RawDb() {
  for (sqlite3_stmt* stmt : statements_) sqlite3_finalize(stmt);
  sqlite3_close_v2(db_);
}

void RawDb::Check(int rc, int want, std::string_view what) {
  if (rc != want) {
    Die("raw sqlite: " + std::string(what) + ": " + sqlite3_errstr(rc) + " (" +
        (db_ != nullptr ? sqlite3_errmsg(db_) : "") + ")");
  }
}

void RawDb::Exec(const char* sql) {
  Check(sqlite3_exec(db_, sql, nullptr, nullptr, nullptr), SQLITE_OK, sql);
}

sqlite3_stmt* RawDb::Prepare(const char* sql) {
  sqlite3_stmt* stmt = nullptr;
  Check(sqlite3_prepare_v3(db_, sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt, nullptr), SQLITE_OK,
        sql);
  statements_.push_back(stmt);
  return stmt;
}

RawAppender::RawAppender(RawDb& db, std::string stream)
    : db_(db),
      stream_(std::move(stream)),
      begin_(db.Prepare("BEGIN IMMEDIATE")),
      commit_(db.Prepare("COMMIT")),
      create_stream_(db.Prepare("INSERT INTO streams (name, category, version, first_position, "
                                "last_position, last_recorded_at) VALUES (?1, ?2, -1, 0, 0, 0)")),
      insert_(db.Prepare("INSERT INTO events (id, stream_id, version, type, data, metadata, "
                         "correlation_id, causation_id, recorded_at) "
                         "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)")),
      update_stream_(db.Prepare(
          "UPDATE streams SET version = ?1, last_position = ?2, first_position = CASE WHEN "
          "first_position = 0 THEN ?3 ELSE first_position END, last_recorded_at = ?4 "
          "WHERE stream_id = ?5")) {}

void RawAppender::AppendBatch(std::span<const BenchEvent> events) {
  const int64_t recorded_at = NowMicros();
  db_.Check(sqlite3_step(begin_), SQLITE_DONE, "begin");
  sqlite3_reset(begin_);
  if (stream_id_ == 0) {
    BindText(create_stream_, 1, stream_);
    BindText(create_stream_, 2, CategoryOf(stream_));
    db_.Check(sqlite3_step(create_stream_), SQLITE_DONE, "create stream");
    sqlite3_reset(create_stream_);
    stream_id_ = sqlite3_last_insert_rowid(db_.db());
  }
  int64_t first_position = 0;
  for (const BenchEvent& e : events) {
    BindText(insert_, 1, e.id);
    sqlite3_bind_int64(insert_, 2, stream_id_);
    sqlite3_bind_int64(insert_, 3, ++version_);
    BindText(insert_, 4, e.type);
    BindText(insert_, 5, e.data);
    BindText(insert_, 6, e.metadata);
    BindText(insert_, 7, e.correlation_id);
    sqlite3_bind_null(insert_, 8);
    sqlite3_bind_int64(insert_, 9, recorded_at);
    db_.Check(sqlite3_step(insert_), SQLITE_DONE, "insert event");
    sqlite3_reset(insert_);
    if (first_position == 0) first_position = sqlite3_last_insert_rowid(db_.db());
  }
  sqlite3_bind_int64(update_stream_, 1, version_);
  sqlite3_bind_int64(update_stream_, 2, sqlite3_last_insert_rowid(db_.db()));
  sqlite3_bind_int64(update_stream_, 3, first_position);
  sqlite3_bind_int64(update_stream_, 4, recorded_at);
  sqlite3_bind_int64(update_stream_, 5, stream_id_);
  db_.Check(sqlite3_step(update_stream_), SQLITE_DONE, "update stream");
  sqlite3_reset(update_stream_);
  db_.Check(sqlite3_step(commit_), SQLITE_DONE, "commit");
  sqlite3_reset(commit_);
}

RawStreamReader::RawStreamReader(RawDb& db)
    : db_(db),
      stmt_(db.Prepare("SELECT " TRIAD_BENCH_EVENT_COLUMNS
                       " FROM streams s JOIN events e ON e.stream_id = s.stream_id"
                       " WHERE s.name = ?1 AND e.version >= ?2 ORDER BY e.version LIMIT ?3")) {}

size_t RawStreamReader::Read(std::string_view stream, int64_t limit) {
  BindText(stmt_, 1, stream);
  sqlite3_bind_int64(stmt_, 2, 0);
  sqlite3_bind_int64(stmt_, 3, limit);
  size_t rows = 0;
  int rc;
  while ((rc = sqlite3_step(stmt_)) == SQLITE_ROW) {
    ConsumeRow(stmt_, checksum_);
    ++rows;
  }
  db_.Check(rc, SQLITE_DONE, "read stream");
  sqlite3_reset(stmt_);
  return rows;
}

RawLogScanner::RawLogScanner(RawDb& db)
    : db_(db),
      all_(db.Prepare("SELECT " TRIAD_BENCH_EVENT_COLUMNS
                      " FROM events e JOIN streams s ON s.stream_id = e.stream_id"
                      " WHERE e.position > ?1 ORDER BY e.position LIMIT ?2")),
      by_type_(db.Prepare("SELECT " TRIAD_BENCH_EVENT_COLUMNS
                          " FROM events e JOIN streams s ON s.stream_id = e.stream_id"
                          " WHERE e.position > ?1 AND e.type = ?3 ORDER BY e.position LIMIT ?2")) {}

int64_t RawLogScanner::ReadPage(std::string_view type, int64_t after, int64_t limit,
                                int64_t& last) {
  sqlite3_stmt* stmt = type.empty() ? all_ : by_type_;
  sqlite3_bind_int64(stmt, 1, after);
  sqlite3_bind_int64(stmt, 2, limit);
  if (!type.empty()) BindText(stmt, 3, type);
  int64_t rows = 0;
  int rc;
  while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
    ConsumeRow(stmt, checksum_);
    last = sqlite3_column_int64(stmt, 0);
    ++rows;
  }
  db_.Check(rc, SQLITE_DONE, "scan log");
  sqlite3_reset(stmt);
  return rows;
}

}  // namespace triad::bench
