#include "postgres/pg_rm_records.h"

#include "util/status_macros.h"

#include <string>
#include <utility>

#include "readmodel/catalog.h"

namespace triad::internal::pg {
namespace {

#define TRIAD_PROJECTION_COLUMNS                                                          \
  "name, version, checkpoint, serving, paused, faulted, retired, stop_at, last_tick_us, " \
  "last_error, last_error_position, collections"
#define TRIAD_DEAD_LETTER_COLUMNS                                                    \
  "projection, version, position, stream, stream_version, event_type, error, kind, " \
  "recorded_at, attempts"

Result<ProjectionRecord> RowToProjection(const PgResult& rows, int i) {
  ProjectionRecord r;
  r.name = std::string(rows.Text(i, 0));
  r.version = static_cast<int32_t>(rows.Int(i, 1));
  r.checkpoint = rows.Int(i, 2);
  r.serving = rows.Bool(i, 3);
  r.paused = rows.Bool(i, 4);
  r.faulted = rows.Bool(i, 5);
  r.retired = rows.Bool(i, 6);
  r.stop_at = rows.Int(i, 7);
  r.last_tick_us = rows.Int(i, 8);
  r.last_error = std::string(rows.Text(i, 9));
  r.last_error_position = rows.Int(i, 10);
  TRIAD_ASSIGN_OR_RETURN(r.collections, readmodel::CollectionsFromJson(rows.Text(i, 11)));
  return r;
}

Result<std::vector<ProjectionRecord>> CollectProjections(const PgResult& rows) {
  std::vector<ProjectionRecord> out;
  for (int i = 0; i < rows.rows(); ++i) {
    TRIAD_ASSIGN_OR_RETURN(auto record, RowToProjection(rows, i));
    out.push_back(std::move(record));
  }
  return out;
}

}  // namespace

Result<std::optional<ProjectionRecord>> PgReadProjection(PgConnection& conn, std::string_view name,
                                                         int32_t version) {
  TRIAD_ASSIGN_OR_RETURN(PgResult rows,
                         conn.QueryPrepared("rm_projection_get_for_update",
                                            "SELECT " TRIAD_PROJECTION_COLUMNS
                                            " FROM rm_projections WHERE name = $1 AND version = $2"
                                            " FOR UPDATE",
                                            PgParams().Text(name).Int4(version)));
  TRIAD_ASSIGN_OR_RETURN(auto records, CollectProjections(rows));
  if (records.empty()) return std::optional<ProjectionRecord>();
  return std::optional<ProjectionRecord>(std::move(records.front()));
}

Result<std::vector<ProjectionRecord>> PgReadProjections(PgConnection& conn) {
  TRIAD_ASSIGN_OR_RETURN(PgResult rows, conn.QueryPrepared("rm_projection_list",
                                                           "SELECT " TRIAD_PROJECTION_COLUMNS
                                                           " FROM rm_projections ORDER BY name, "
                                                           "version",
                                                           PgParams()));
  return CollectProjections(rows);
}

Status PgWriteProjection(PgConnection& conn, const ProjectionRecord& r) {
  const std::string collections = readmodel::CollectionsToJson(r.collections);
  return conn
      .QueryPrepared(
          "rm_projection_put",
          "INSERT INTO rm_projections (" TRIAD_PROJECTION_COLUMNS
          ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) ON CONFLICT (name, "
          "version) DO UPDATE SET checkpoint = excluded.checkpoint, serving = excluded.serving, "
          "paused = excluded.paused, faulted = excluded.faulted, retired = excluded.retired, "
          "stop_at = excluded.stop_at, last_tick_us = excluded.last_tick_us, last_error = "
          "excluded.last_error, last_error_position = excluded.last_error_position, "
          "collections = excluded.collections",
          PgParams()
              .Text(r.name)
              .Int4(r.version)
              .Int(r.checkpoint)
              .Bool(r.serving)
              .Bool(r.paused)
              .Bool(r.faulted)
              .Bool(r.retired)
              .Int(r.stop_at)
              .Int(r.last_tick_us)
              .Text(r.last_error)
              .Int(r.last_error_position)
              .Text(collections))
      .status()
      .Annotate("writing projection record " + r.name);
}

Status PgDeleteProjection(PgConnection& conn, std::string_view name, int32_t version) {
  return conn
      .QueryPrepared("rm_projection_delete",
                     "DELETE FROM rm_projections WHERE name = $1 AND version = $2",
                     PgParams().Text(name).Int4(version))
      .status();
}

Result<Position> PgReadCheckpoint(PgConnection& conn, std::string_view name, int32_t version) {
  TRIAD_ASSIGN_OR_RETURN(
      PgResult rows,
      conn.QueryPrepared("rm_checkpoint",
                         "SELECT checkpoint FROM rm_projections WHERE name = $1 AND version = $2",
                         PgParams().Text(name).Int4(version)));
  return rows.rows() == 0 ? Position{0} : rows.Int(0, 0);
}

Status PgWriteDeadLetter(PgConnection& conn, const DeadLetter& d) {
  return conn
      .QueryPrepared(
          "rm_dead_letter_put",
          "INSERT INTO rm_dead_letters (" TRIAD_DEAD_LETTER_COLUMNS
          ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (projection, version, "
          "position) DO UPDATE SET stream = excluded.stream, stream_version = "
          "excluded.stream_version, event_type = excluded.event_type, error = excluded.error, "
          "kind = excluded.kind, recorded_at = excluded.recorded_at, attempts = "
          "excluded.attempts",
          PgParams()
              .Text(d.projection)
              .Int4(d.version)
              .Int(d.position)
              .Text(d.stream)
              .Int(d.stream_version)
              .Text(d.event_type)
              .Text(d.error)
              .Text(d.kind == DeadLetterKind::kSkipped ? "skipped" : "parked")
              .Int(d.recorded_at_us)
              .Int4(d.attempts))
      .status()
      .Annotate("writing a dead letter");
}

Status PgDeleteDeadLetter(PgConnection& conn, std::string_view projection, int32_t version,
                          Position position) {
  return conn
      .QueryPrepared(
          "rm_dead_letter_delete",
          "DELETE FROM rm_dead_letters WHERE projection = $1 AND version = $2 AND position = $3",
          PgParams().Text(projection).Int4(version).Int(position))
      .status();
}

Status PgDeleteDeadLetters(PgConnection& conn, std::string_view projection, int32_t version) {
  return conn
      .QueryPrepared("rm_dead_letter_delete_all",
                     "DELETE FROM rm_dead_letters WHERE projection = $1 AND version = $2",
                     PgParams().Text(projection).Int4(version))
      .status();
}

Result<std::vector<DeadLetter>> PgReadDeadLetters(PgConnection& conn, std::string_view projection,
                                                  int32_t version) {
  TRIAD_ASSIGN_OR_RETURN(PgResult rows,
                         conn.QueryPrepared("rm_dead_letter_list",
                                            "SELECT " TRIAD_DEAD_LETTER_COLUMNS
                                            " FROM rm_dead_letters WHERE projection = $1 AND "
                                            "version = $2 ORDER BY position",
                                            PgParams().Text(projection).Int4(version)));
  std::vector<DeadLetter> out;
  for (int i = 0; i < rows.rows(); ++i) {
    out.push_back(DeadLetter{
        .projection = std::string(rows.Text(i, 0)),
        .version = static_cast<int32_t>(rows.Int(i, 1)),
        .position = rows.Int(i, 2),
        .stream = std::string(rows.Text(i, 3)),
        .stream_version = rows.Int(i, 4),
        .event_type = std::string(rows.Text(i, 5)),
        .error = std::string(rows.Text(i, 6)),
        .kind = rows.Text(i, 7) == "skipped" ? DeadLetterKind::kSkipped : DeadLetterKind::kParked,
        .recorded_at_us = rows.Int(i, 8),
        .attempts = static_cast<int32_t>(rows.Int(i, 9))});
  }
  return out;
}

}  // namespace triad::internal::pg
