// A thin RAII wrapper over the SQLite C API: connections, cached prepared statements, and the
// translation of SQLite result codes into Status (done here once, per STYLE B3).
//
// Thread-safety: a Connection and its statements are used by one thread at a time.
#pragma once

#include "triad/result.h"
#include "triad/status.h"

#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>

namespace triad::internal::sqlite {

// Maps an SQLite result code to a Status whose message names `context` and SQLite's own text.
Status ErrorStatus(sqlite3* db, int rc, std::string_view context);

// A prepared statement, reset and cleared on each Reset().
class Statement {
 public:
  explicit Statement(sqlite3_stmt* stmt) : stmt_(stmt) {}
  ~Statement() { sqlite3_finalize(stmt_); }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  // Resets the statement and clears its bindings, ready for new parameters.
  void Reset() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }
  // Binders take 1-based indexes. Text is bound without copying: it must outlive the step.
  void Bind(int index, int64_t value) { sqlite3_bind_int64(stmt_, index, value); }
  void Bind(int index, std::string_view text) {
    sqlite3_bind_text(stmt_, index, text.data(), static_cast<int>(text.size()), SQLITE_STATIC);
  }
  void BindNull(int index) { sqlite3_bind_null(stmt_, index); }
  // Binds NULL for empty text.
  void BindTextOrNull(int index, std::string_view text) {
    if (text.empty()) {
      BindNull(index);
    } else {
      Bind(index, text);
    }
  }

  // SQLITE_ROW, SQLITE_DONE or an error code.
  int Step() { return sqlite3_step(stmt_); }

  int64_t Int(int column) const { return sqlite3_column_int64(stmt_, column); }
  bool IsNull(int column) const { return sqlite3_column_type(stmt_, column) == SQLITE_NULL; }
  std::string_view Text(int column) const {
    const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, column));
    return p == nullptr
               ? std::string_view()
               : std::string_view(p, static_cast<size_t>(sqlite3_column_bytes(stmt_, column)));
  }

  sqlite3_stmt* raw() { return stmt_; }

 private:
  sqlite3_stmt* stmt_;
};

// One database connection with a cache of prepared statements keyed by SQL text.
class Connection {
 public:
  // Opens `path` with `flags` (SQLITE_OPEN_*), sets a busy timeout.
  static Result<std::unique_ptr<Connection>> Open(const std::string& path, int flags);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Runs one or more statements without results.
  Status Exec(std::string_view sql);
  // The cached statement for `sql`, reset and ready to bind.
  Result<Statement*> Prepare(const std::string& sql);
  // Runs a query returning one integer (0 when it returns no row or NULL).
  Result<int64_t> QueryInt(const std::string& sql);

  sqlite3* db() { return db_; }

 private:
  explicit Connection(sqlite3* db) : db_(db) {}

  sqlite3* db_;
  std::unordered_map<std::string, std::unique_ptr<Statement>> statements_;
};

// What a Triad SQLite file is, for OpenTriadFile().
struct FileKind {
  // Its PRAGMA application_id.
  int32_t application_id;
  // Creates its schema and meta rows; runs inside the creating transaction, before
  // application_id is set.
  std::string create_sql;
  // Names the kind in errors: "Triad store", "Triad read-model file".
  std::string name;
};

// What OpenTriadFile() found.
enum class FileState {
  kExisting,  // a file of the kind, created earlier (possibly by another process just now)
  kCreated,   // an empty database, now holding the kind's schema
  kEmpty,     // an empty database left alone (`create` was false)
};

// Identifies the database open on `db` (at `path`, for messages) and creates the schema of
// `kind` in it when it is empty and `create` is set; then switches it to WAL when `wal` (not for
// kEmpty). Safe when several processes create the same new file at once: the creation runs in
// one BEGIN IMMEDIATE transaction that identifies the file again once it holds the write lock,
// so every creator but the first finds the first one's schema (kExisting) instead of failing.
// Errors: kDataLoss naming the file when it is an SQLite database of another kind; the SQLite
// errors of the statements.
Result<FileState> OpenTriadFile(Connection& db, const std::string& path, const FileKind& kind,
                                bool create, bool wal);

// Resets a cached statement when it goes out of scope, so it never holds a read snapshot open.
class ScopedReset {
 public:
  explicit ScopedReset(Statement* stmt) : stmt_(stmt) {}
  ~ScopedReset() { sqlite3_reset(stmt_->raw()); }
  ScopedReset(const ScopedReset&) = delete;
  ScopedReset& operator=(const ScopedReset&) = delete;

 private:
  Statement* stmt_;
};

}  // namespace triad::internal::sqlite
