// The read model's collection catalog on PostgreSQL: rm_collections and the catalog version in
// rm_meta, loaded into the backend-neutral readmodel::Catalog (readmodel/catalog.h), plus the
// SQL of one collection's table.
//
// Several nodes may share one read model. Every DDL change (a collection created, dropped or
// given an index) bumps rm_meta's catalog_version in the same transaction, under that row's lock,
// so a node compares one integer to know whether its cached catalog is current. Table ids come
// from a sequence and are never reused: a stale catalog can only name a table that is gone.
#pragma once

#include "triad/result.h"

#include <memory>
#include <string>

#include "postgres/pg_connection.h"
#include "readmodel/catalog.h"

namespace triad::internal::pg {

// Reads the catalog (in the connection's current transaction, if one is open).
Result<std::shared_ptr<const readmodel::Catalog>> LoadPgCatalog(PgConnection& conn);

// The catalog version stored in rm_meta.
Result<int64_t> ReadPgCatalogVersion(PgConnection& conn);

// Bumps the stored catalog version and returns the new one, holding the row's lock until the
// transaction ends: DDL of concurrent writers on other nodes is serialized behind it.
Result<int64_t> BumpPgCatalogVersion(PgConnection& conn);

// The DDL of collection table `table` (rm_c<id>).
std::string CreateCollectionTableSql(const std::string& table);

// The DDL of index `i` of `table` on `index`.
std::string CreateCollectionIndexSql(const std::string& table, size_t i, const IndexSpec& index);

}  // namespace triad::internal::pg
