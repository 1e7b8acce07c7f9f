#include "postgres/pg_migrations.h"

#include "util/status_macros.h"

#include <string>

namespace triad::internal::pg {
namespace {

constexpr const char* kCreateVersions =
    "CREATE TABLE IF NOT EXISTS schema_versions ("
    "component text COLLATE \"C\" PRIMARY KEY, version integer NOT NULL, "
    "applied_at timestamptz NOT NULL DEFAULT now())";

Result<int> StoredVersion(PgConnection& conn, std::string_view component) {
  TRIAD_ASSIGN_OR_RETURN(PgResult exists,
                         conn.Query("SELECT 1 FROM pg_tables WHERE schemaname = current_schema() "
                                    "AND tablename = 'schema_versions'"));
  if (exists.rows() == 0) return 0;
  TRIAD_ASSIGN_OR_RETURN(PgResult row,
                         conn.Query("SELECT version FROM schema_versions WHERE component = $1",
                                    PgParams().Text(component)));
  return row.rows() == 0 ? 0 : static_cast<int>(row.Int(0, 0));
}

Status ApplyLocked(PgConnection& conn, std::string_view component,
                   std::span<const Migration> migrations) {
  // One lock per schema, whatever the component: migrations of different components may
  // create each other's prerequisites (the schema_versions table).
  TRIAD_RETURN_IF_ERROR(
      conn.Query("SELECT pg_advisory_xact_lock(hashtext('triad-migrate:' || current_schema()))")
          .status());
  TRIAD_RETURN_IF_ERROR(conn.Exec(kCreateVersions));
  TRIAD_ASSIGN_OR_RETURN(const int stored, StoredVersion(conn, component));
  const int binary = migrations.empty() ? 0 : migrations.back().version;
  if (stored > binary) {
    return DataLossError("the database's " + std::string(component) + " schema is at version " +
                         std::to_string(stored) + ", newer than this binary's " +
                         std::to_string(binary) + "; upgrade Triad");
  }
  for (const Migration& m : migrations) {
    if (m.version <= stored) continue;
    if (Status s = conn.Exec(m.sql); !s.ok()) {
      return s.Annotate("applying " + std::string(component) + " migration " +
                        std::to_string(m.version) + " (" + m.description + ")");
    }
  }
  if (binary > stored) {
    TRIAD_RETURN_IF_ERROR(
        conn.Query("INSERT INTO schema_versions (component, version) VALUES ($1, $2) "
                   "ON CONFLICT (component) DO UPDATE SET version = excluded.version, "
                   "applied_at = now()",
                   PgParams().Text(component).Int4(binary))
            .status());
  }
  return Status::OK();
}

}  // namespace

Status Migrate(PgConnection& conn, std::string_view component,
               std::span<const Migration> migrations, bool read_only) {
  const int binary = migrations.empty() ? 0 : migrations.back().version;
  if (read_only) {
    TRIAD_ASSIGN_OR_RETURN(const int stored, StoredVersion(conn, component));
    if (stored == 0) return NotFoundError("the schema holds no Triad " + std::string(component));
    if (stored > binary) {
      return DataLossError("the database's " + std::string(component) + " schema is at version " +
                           std::to_string(stored) + ", newer than this binary's " +
                           std::to_string(binary) + "; upgrade Triad");
    }
    if (stored < binary) {
      return FailedPreconditionError("the database's " + std::string(component) +
                                     " schema is at version " + std::to_string(stored) +
                                     "; open it read-write once to migrate it to " +
                                     std::to_string(binary));
    }
    return Status::OK();
  }
  // Most opens find everything current: check without the lock first.
  TRIAD_ASSIGN_OR_RETURN(const int current, StoredVersion(conn, component));
  if (current == binary) return Status::OK();
  TRIAD_RETURN_IF_ERROR(conn.Exec("BEGIN"));
  Status s = ApplyLocked(conn, component, migrations);
  if (s.ok()) s = conn.Exec("COMMIT");
  if (!s.ok()) conn.Exec("ROLLBACK").IgnoreError();
  return s;
}

}  // namespace triad::internal::pg
