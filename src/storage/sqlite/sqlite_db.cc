#include "storage/sqlite/sqlite_db.h"

#include <string>

namespace triad::internal::sqlite {

Status ErrorStatus(sqlite3* db, int rc, std::string_view context) {
  std::string message = std::string(context) + ": " + sqlite3_errstr(rc);
  if (db != nullptr) {
    const char* detail = sqlite3_errmsg(db);
    if (detail != nullptr && message.find(detail) == std::string::npos) {
      message += " (" + std::string(detail) + ")";
    }
  }
  switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
    case SQLITE_IOERR:
    case SQLITE_CANTOPEN:
    case SQLITE_PROTOCOL:
    // A full disk too: space runs out on the machine, not in the caller's quota; retry once it
    // is freed.
    case SQLITE_FULL:
      return UnavailableError(std::move(message));
    case SQLITE_NOMEM:
      return ResourceExhaustedError(std::move(message));
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return DataLossError(std::move(message));
    case SQLITE_READONLY:
    case SQLITE_PERM:
    case SQLITE_AUTH:
      return FailedPreconditionError(std::move(message));
    case SQLITE_CONSTRAINT:
      return AlreadyExistsError(std::move(message));
    default:
      return InternalError(std::move(message));
  }
}

Result<std::unique_ptr<Connection>> Connection::Open(const std::string& path, int flags) {
  sqlite3* db = nullptr;
  const int rc = sqlite3_open_v2(path.c_str(), &db, flags | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    Status s = ErrorStatus(db, rc, "opening '" + path + "'");
    sqlite3_close_v2(db);
    return s;
  }
  sqlite3_extended_result_codes(db, 1);
  sqlite3_busy_timeout(db, 10000);
  return std::unique_ptr<Connection>(new Connection(db));
}

Connection::~Connection() {
  statements_.clear();  // finalize before closing
  sqlite3_close_v2(db_);
}

Status Connection::Exec(std::string_view sql) {
  char* error = nullptr;
  const int rc = sqlite3_exec(db_, std::string(sql).c_str(), nullptr, nullptr, &error);
  if (rc != SQLITE_OK) {
    sqlite3_free(error);  // the same text is in sqlite3_errmsg()
    return ErrorStatus(db_, rc, std::string(sql.substr(0, 60)));
  }
  return Status::OK();
}

Result<Statement*> Connection::Prepare(const std::string& sql) {
  auto it = statements_.find(sql);
  if (it != statements_.end()) {
    it->second->Reset();
    return it->second.get();
  }
  sqlite3_stmt* stmt = nullptr;
  const int rc = sqlite3_prepare_v3(db_, sql.c_str(), static_cast<int>(sql.size()),
                                    SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
  if (rc != SQLITE_OK) return ErrorStatus(db_, rc, "preparing SQL");
  auto [pos, inserted] = statements_.emplace(sql, std::make_unique<Statement>(stmt));
  return pos->second.get();
}

Result<int64_t> Connection::QueryInt(const std::string& sql) {
  auto stmt = Prepare(sql);
  if (!stmt.ok()) return stmt.status();
  ScopedReset reset(*stmt);
  const int rc = (*stmt)->Step();
  if (rc == SQLITE_ROW) return (*stmt)->Int(0);
  if (rc == SQLITE_DONE) return int64_t{0};
  return ErrorStatus(db_, rc, "query");
}

namespace {

// kExisting or kEmpty for the file as `db` sees it now; kDataLoss for a foreign database.
Result<FileState> Identify(Connection& db, const std::string& path, const FileKind& kind) {
  // Identify the file before changing anything in it: a foreign database stays untouched.
  auto app_id = db.QueryInt("PRAGMA application_id");
  if (!app_id.ok()) return app_id.status();
  if (*app_id == kind.application_id) return FileState::kExisting;
  auto tables = db.QueryInt("SELECT count(*) FROM sqlite_schema");
  if (!tables.ok()) return tables.status();
  if (*app_id == 0 && *tables == 0) return FileState::kEmpty;
  return DataLossError("'" + path + "' is an SQLite database but not a " + kind.name +
                       " (application_id " + std::to_string(*app_id) + ", " +
                       std::to_string(*tables) + " schema objects)");
}

}  // namespace

Result<FileState> OpenTriadFile(Connection& db, const std::string& path, const FileKind& kind,
                                bool create, bool wal) {
  // Both reads of Identify() in one snapshot: between two separate ones, another process may
  // commit its creation, and the file would look like tables without an application_id.
  if (Status s = db.Exec("BEGIN"); !s.ok()) return s;
  auto state = Identify(db, path, kind);
  if (Status s = db.Exec("COMMIT"); !s.ok()) {
    db.Exec("ROLLBACK").IgnoreError();
    return s;
  }
  if (!state.ok()) return state.status();
  if (*state == FileState::kEmpty && !create) return state;
  if (*state == FileState::kEmpty) {
    // Another process may be creating it too: take the write lock, then look again.
    if (Status s = db.Exec("BEGIN IMMEDIATE"); !s.ok()) return s.Annotate("creating the schema");
    state = Identify(db, path, kind);
    Status s = state.status();
    if (s.ok() && *state == FileState::kEmpty) {
      s = db.Exec(kind.create_sql);
      if (s.ok()) s = db.Exec("PRAGMA application_id=" + std::to_string(kind.application_id));
      if (s.ok()) state = FileState::kCreated;
    }
    if (s.ok()) s = db.Exec("COMMIT");
    if (!s.ok()) {
      db.Exec("ROLLBACK").IgnoreError();
      return s.Annotate("creating the schema");
    }
  }
  // After the creation rather than before: WAL needs the exclusive lock for a moment, which is
  // easier to get once the creators are done. A no-op on a file already in WAL mode.
  if (wal) {
    // The switch needs every other connection's lock released, and SQLite does not wait for that
    // (SQLITE_BUSY at once): wait through the busy handler for an exclusive lock, then try again.
    // Once any process has switched, the mode is in the file and the switch is a no-op.
    constexpr int kWalAttempts = 50;
    for (int attempt = 1;; ++attempt) {
      Status s = db.Exec("PRAGMA journal_mode=WAL");
      if (s.ok()) break;
      if (s.code() != StatusCode::kUnavailable || attempt == kWalAttempts) return s;
      if (Status wait = db.Exec("BEGIN EXCLUSIVE"); wait.ok()) db.Exec("COMMIT").IgnoreError();
    }
  }
  return state;
}

}  // namespace triad::internal::sqlite
