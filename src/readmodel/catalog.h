// The in-memory catalog of collections: storage name → table and indexes, mirrored from the
// rm_collections table so that the hot paths (get by id, queries) never query the schema.
//
// A Catalog is immutable once published; writers copy it, change the copy and publish it at
// commit. Each collection's table is rm_c<id>, with ids never reused (AUTOINCREMENT), so a stale
// catalog can only name a table that is gone (an SQL error, answered by reloading), never
// another collection's table.
#pragma once

#include "storage/sqlite/sqlite_db.h"

#include "triad/document.h"
#include "triad/result.h"

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace triad::internal::readmodel {

// One collection's storage.
struct CollectionInfo {
  int64_t id = 0;
  // Its indexes in creation order; index i is the SQLite index rm_c<id>_i<i>.
  std::vector<IndexSpec> indexes;

  // Built once, so that hot paths do not build SQL text per call.
  std::string table;       // "rm_c<id>"
  std::string get_sql;     // body, position, sources by id
  std::string put_sql;     // upsert
  std::string delete_sql;  // by id
  std::string read_sql;    // checkpoint of a projection + the document by id, in one statement

  // The index on `field`, or nullptr.
  const IndexSpec* FindIndex(std::string_view field) const;
};

// A new CollectionInfo with its SQL text built.
std::shared_ptr<CollectionInfo> MakeCollectionInfo(int64_t id, std::vector<IndexSpec> indexes);

struct Catalog {
  // rm_meta 'catalog_version' when this catalog was read or written; bumped by every change.
  int64_t version = 0;
  std::map<std::string, std::shared_ptr<const CollectionInfo>, std::less<>> collections;

  // The collection, or nullptr.
  const CollectionInfo* Find(std::string_view storage_name) const;
};

// Reads the catalog from `conn` (in its current transaction, if one is open).
Result<std::shared_ptr<const Catalog>> LoadCatalog(sqlite::Connection& conn);

// The catalog version stored in rm_meta.
Result<int64_t> ReadCatalogVersion(sqlite::Connection& conn);

// `indexes` as the JSON array stored in rm_collections.indexes and in projection records.
std::string IndexesToJson(const std::vector<IndexSpec>& indexes);
// Errors: kDataLoss (not such an array).
Result<std::vector<IndexSpec>> IndexesFromJson(std::string_view text);

// The collections of a projection record as JSON, and back.
std::string CollectionsToJson(const std::vector<CollectionSpec>& collections);
Result<std::vector<CollectionSpec>> CollectionsFromJson(std::string_view text);

}  // namespace triad::internal::readmodel
