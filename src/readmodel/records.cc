#include "readmodel/records.h"

#include "util/status_macros.h"

#include <string>
#include <utility>

#include "readmodel/catalog.h"

namespace triad::internal::readmodel {
namespace {

using sqlite::Connection;
using sqlite::ErrorStatus;
using sqlite::ScopedReset;
using sqlite::Statement;

constexpr const char* kProjectionColumns =
    "name, version, checkpoint, serving, paused, faulted, retired, stop_at, last_tick_us, "
    "last_error, last_error_position, collections";

constexpr const char* kDeadLetterColumns =
    "projection, version, position, stream, stream_version, event_type, error, kind, "
    "recorded_at, attempts";

Result<ProjectionRecord> RowToProjection(const Statement& row) {
  ProjectionRecord r;
  r.name = std::string(row.Text(0));
  r.version = static_cast<int32_t>(row.Int(1));
  r.checkpoint = row.Int(2);
  r.serving = row.Int(3) != 0;
  r.paused = row.Int(4) != 0;
  r.faulted = row.Int(5) != 0;
  r.retired = row.Int(6) != 0;
  r.stop_at = row.Int(7);
  r.last_tick_us = row.Int(8);
  r.last_error = std::string(row.Text(9));
  r.last_error_position = row.Int(10);
  TRIAD_ASSIGN_OR_RETURN(r.collections, CollectionsFromJson(row.Text(11)));
  return r;
}

DeadLetter RowToDeadLetter(const Statement& row) {
  return DeadLetter{
      .projection = std::string(row.Text(0)),
      .version = static_cast<int32_t>(row.Int(1)),
      .position = row.Int(2),
      .stream = std::string(row.Text(3)),
      .stream_version = row.Int(4),
      .event_type = std::string(row.Text(5)),
      .error = std::string(row.Text(6)),
      .kind = row.Text(7) == "skipped" ? DeadLetterKind::kSkipped : DeadLetterKind::kParked,
      .recorded_at_us = row.Int(8),
      .attempts = static_cast<int32_t>(row.Int(9))};
}

Result<std::vector<ProjectionRecord>> CollectProjections(Connection& conn, Statement* stmt) {
  ScopedReset reset(stmt);
  std::vector<ProjectionRecord> out;
  while (true) {
    const int rc = stmt->Step();
    if (rc == SQLITE_DONE) return out;
    if (rc != SQLITE_ROW) return ErrorStatus(conn.db(), rc, "reading projection records");
    TRIAD_ASSIGN_OR_RETURN(auto record, RowToProjection(*stmt));
    out.push_back(std::move(record));
  }
}

Status StepDone(Connection& conn, Statement* stmt, std::string_view context) {
  ScopedReset reset(stmt);
  const int rc = stmt->Step();
  if (rc != SQLITE_DONE) return ErrorStatus(conn.db(), rc, context);
  return Status::OK();
}

}  // namespace

Result<std::optional<ProjectionRecord>> ReadProjection(Connection& conn, std::string_view name,
                                                       int32_t version) {
  TRIAD_ASSIGN_OR_RETURN(Statement * stmt,
                         conn.Prepare(std::string("SELECT ") + kProjectionColumns +
                                      " FROM rm_projections WHERE name = ?1 AND version = ?2"));
  stmt->Bind(1, name);
  stmt->Bind(2, static_cast<int64_t>(version));
  TRIAD_ASSIGN_OR_RETURN(auto rows, CollectProjections(conn, stmt));
  if (rows.empty()) return std::optional<ProjectionRecord>();
  return std::optional<ProjectionRecord>(std::move(rows.front()));
}

Result<std::vector<ProjectionRecord>> ReadProjections(Connection& conn) {
  TRIAD_ASSIGN_OR_RETURN(Statement * stmt,
                         conn.Prepare(std::string("SELECT ") + kProjectionColumns +
                                      " FROM rm_projections ORDER BY name, version"));
  return CollectProjections(conn, stmt);
}

Status WriteProjection(Connection& conn, const ProjectionRecord& r) {
  TRIAD_ASSIGN_OR_RETURN(
      Statement * stmt,
      conn.Prepare(std::string("INSERT OR REPLACE INTO rm_projections (") + kProjectionColumns +
                   ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)"));
  const std::string collections = CollectionsToJson(r.collections);
  stmt->Bind(1, r.name);
  stmt->Bind(2, static_cast<int64_t>(r.version));
  stmt->Bind(3, r.checkpoint);
  stmt->Bind(4, int64_t{r.serving});
  stmt->Bind(5, int64_t{r.paused});
  stmt->Bind(6, int64_t{r.faulted});
  stmt->Bind(7, int64_t{r.retired});
  stmt->Bind(8, r.stop_at);
  stmt->Bind(9, r.last_tick_us);
  stmt->Bind(10, r.last_error);
  stmt->Bind(11, r.last_error_position);
  stmt->Bind(12, collections);
  return StepDone(conn, stmt, "writing projection record " + r.name);
}

Status DeleteProjectionRow(Connection& conn, std::string_view name, int32_t version) {
  TRIAD_ASSIGN_OR_RETURN(
      Statement * stmt,
      conn.Prepare("DELETE FROM rm_projections WHERE name = ?1 AND version = ?2"));
  stmt->Bind(1, name);
  stmt->Bind(2, static_cast<int64_t>(version));
  return StepDone(conn, stmt, "deleting projection record");
}

Result<Position> ReadCheckpoint(Connection& conn, std::string_view name, int32_t version) {
  TRIAD_ASSIGN_OR_RETURN(
      Statement * stmt,
      conn.Prepare("SELECT checkpoint FROM rm_projections WHERE name = ?1 AND version = ?2"));
  stmt->Bind(1, name);
  stmt->Bind(2, static_cast<int64_t>(version));
  ScopedReset reset(stmt);
  const int rc = stmt->Step();
  if (rc == SQLITE_DONE) return Position{0};
  if (rc != SQLITE_ROW) return ErrorStatus(conn.db(), rc, "reading a checkpoint");
  return stmt->Int(0);
}

Status WriteDeadLetter(Connection& conn, const DeadLetter& d) {
  TRIAD_ASSIGN_OR_RETURN(
      Statement * stmt,
      conn.Prepare(std::string("INSERT OR REPLACE INTO rm_dead_letters (") + kDeadLetterColumns +
                   ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"));
  stmt->Bind(1, d.projection);
  stmt->Bind(2, static_cast<int64_t>(d.version));
  stmt->Bind(3, d.position);
  stmt->Bind(4, d.stream);
  stmt->Bind(5, d.stream_version);
  stmt->Bind(6, d.event_type);
  stmt->Bind(7, d.error);
  stmt->Bind(8, std::string_view(d.kind == DeadLetterKind::kSkipped ? "skipped" : "parked"));
  stmt->Bind(9, d.recorded_at_us);
  stmt->Bind(10, static_cast<int64_t>(d.attempts));
  return StepDone(conn, stmt, "writing a dead letter");
}

Status DeleteDeadLetterRow(Connection& conn, std::string_view projection, int32_t version,
                           Position position) {
  TRIAD_ASSIGN_OR_RETURN(Statement * stmt,
                         conn.Prepare("DELETE FROM rm_dead_letters WHERE projection = ?1 AND "
                                      "version = ?2 AND position = ?3"));
  stmt->Bind(1, projection);
  stmt->Bind(2, static_cast<int64_t>(version));
  stmt->Bind(3, position);
  return StepDone(conn, stmt, "deleting a dead letter");
}

Status DeleteDeadLetterRows(Connection& conn, std::string_view projection, int32_t version) {
  TRIAD_ASSIGN_OR_RETURN(
      Statement * stmt,
      conn.Prepare("DELETE FROM rm_dead_letters WHERE projection = ?1 AND version = ?2"));
  stmt->Bind(1, projection);
  stmt->Bind(2, static_cast<int64_t>(version));
  return StepDone(conn, stmt, "deleting dead letters");
}

Result<std::vector<DeadLetter>> ReadDeadLetters(Connection& conn, std::string_view projection,
                                                int32_t version) {
  TRIAD_ASSIGN_OR_RETURN(
      Statement * stmt, conn.Prepare(std::string("SELECT ") + kDeadLetterColumns +
                                     " FROM rm_dead_letters WHERE projection = ?1 AND version = ?2 "
                                     "ORDER BY position"));
  stmt->Bind(1, projection);
  stmt->Bind(2, static_cast<int64_t>(version));
  ScopedReset reset(stmt);
  std::vector<DeadLetter> out;
  while (true) {
    const int rc = stmt->Step();
    if (rc == SQLITE_DONE) return out;
    if (rc != SQLITE_ROW) return ErrorStatus(conn.db(), rc, "reading dead letters");
    out.push_back(RowToDeadLetter(*stmt));
  }
}

}  // namespace triad::internal::readmodel
