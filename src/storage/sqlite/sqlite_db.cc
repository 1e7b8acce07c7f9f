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
      return UnavailableError(std::move(message));
    case SQLITE_FULL:
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

}  // namespace triad::internal::sqlite
