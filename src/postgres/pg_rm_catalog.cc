#include "postgres/pg_rm_catalog.h"

#include "util/status_macros.h"

#include <string>
#include <utility>

#include "postgres/pg_rm_sql.h"

namespace triad::internal::pg {

Result<int64_t> ReadPgCatalogVersion(PgConnection& conn) {
  TRIAD_ASSIGN_OR_RETURN(
      PgResult rows,
      conn.QueryPrepared("rm_catalog_version",
                         "SELECT value FROM rm_meta WHERE key = 'catalog_version'", PgParams()));
  if (rows.rows() != 1) return DataLossError("postgres: the read model has no catalog version");
  return rows.Int(0, 0);
}

Result<int64_t> BumpPgCatalogVersion(PgConnection& conn) {
  TRIAD_ASSIGN_OR_RETURN(
      PgResult rows,
      conn.QueryPrepared("rm_catalog_bump",
                         "UPDATE rm_meta SET value = value + 1 WHERE key = 'catalog_version' "
                         "RETURNING value",
                         PgParams()));
  if (rows.rows() != 1) return DataLossError("postgres: the read model has no catalog version");
  return rows.Int(0, 0);
}

Result<std::shared_ptr<const readmodel::Catalog>> LoadPgCatalog(PgConnection& conn) {
  // One statement: the version and the rows come from one snapshot.
  TRIAD_ASSIGN_OR_RETURN(
      PgResult rows,
      conn.QueryPrepared("rm_catalog_load",
                         "SELECT (SELECT value FROM rm_meta WHERE key = 'catalog_version'), c.id, "
                         "c.name, c.indexes FROM (SELECT 1) one LEFT JOIN rm_collections c ON "
                         "TRUE",
                         PgParams()));
  auto catalog = std::make_shared<readmodel::Catalog>();
  for (int i = 0; i < rows.rows(); ++i) {
    catalog->version = rows.Int(i, 0);
    if (rows.IsNull(i, 1)) continue;  // no collections
    TRIAD_ASSIGN_OR_RETURN(auto indexes, readmodel::IndexesFromJson(rows.Text(i, 3)));
    catalog->collections.emplace(std::string(rows.Text(i, 2)),
                                 readmodel::MakeCollectionInfo(rows.Int(i, 1), std::move(indexes)));
  }
  return std::shared_ptr<const readmodel::Catalog>(std::move(catalog));
}

std::string CreateCollectionTableSql(const std::string& table) {
  return "CREATE TABLE " + table +
         " (id text COLLATE \"C\" PRIMARY KEY, body text NOT NULL, data jsonb NOT NULL, "
         "position bigint NOT NULL, sources text NOT NULL)";
}

std::string CreateCollectionIndexSql(const std::string& table, size_t i, const IndexSpec& index) {
  return "CREATE INDEX " + table + "_i" + std::to_string(i) + " ON " + table + " (" +
         PgIndexExpression(index.field, index.type) + ", id)";
}

}  // namespace triad::internal::pg
