#include "readmodel/catalog.h"

#include "util/status_macros.h"

#include <nlohmann/json.hpp>

#include <exception>
#include <string>
#include <utility>

namespace triad::internal::readmodel {
namespace {

using sqlite::ErrorStatus;
using sqlite::ScopedReset;
using sqlite::Statement;

nlohmann::json IndexesToJsonValue(const std::vector<IndexSpec>& indexes) {
  auto array = nlohmann::json::array();
  for (const IndexSpec& index : indexes) {
    array.push_back({{"field", index.field}, {"type", IndexTypeName(index.type)}});
  }
  return array;
}

// Throws nlohmann exceptions on a malformed value; callers catch them.
std::vector<IndexSpec> IndexesFromJsonValue(const nlohmann::json& array) {
  std::vector<IndexSpec> out;
  for (const auto& item : array) {
    IndexSpec spec;
    spec.field = item.at("field").get<std::string>();
    const auto type = item.at("type").get<std::string>();
    if (type == "string") {
      spec.type = IndexType::kString;
    } else if (type == "number") {
      spec.type = IndexType::kNumber;
    } else if (type == "bool") {
      spec.type = IndexType::kBool;
    } else {
      throw std::invalid_argument("unknown index type " + type);
    }
    out.push_back(std::move(spec));
  }
  return out;
}

}  // namespace

const IndexSpec* CollectionInfo::FindIndex(std::string_view field) const {
  for (const IndexSpec& index : indexes) {
    if (index.field == field) return &index;
  }
  return nullptr;
}

std::shared_ptr<CollectionInfo> MakeCollectionInfo(int64_t id, std::vector<IndexSpec> indexes) {
  auto info = std::make_shared<CollectionInfo>();
  info->id = id;
  info->indexes = std::move(indexes);
  info->table = "rm_c" + std::to_string(id);
  info->get_sql = "SELECT body, position, sources FROM " + info->table + " WHERE id = ?1";
  info->put_sql = "INSERT INTO " + info->table +
                  " (id, body, position, sources) VALUES (?1, ?2, ?3, ?4) ON CONFLICT (id) DO "
                  "UPDATE SET body = excluded.body, position = excluded.position, sources = "
                  "excluded.sources";
  info->delete_sql = "DELETE FROM " + info->table + " WHERE id = ?1";
  // One statement is one snapshot: the checkpoint and the document cannot disagree.
  info->read_sql =
      "SELECT (SELECT checkpoint FROM rm_projections WHERE name = ?2 AND version = ?3), d.body, "
      "d.position, d.sources FROM (SELECT 1) LEFT JOIN " +
      info->table + " d ON d.id = ?1";
  return info;
}

const CollectionInfo* Catalog::Find(std::string_view storage_name) const {
  auto it = collections.find(storage_name);
  return it == collections.end() ? nullptr : it->second.get();
}

Result<int64_t> ReadCatalogVersion(sqlite::Connection& conn) {
  return conn.QueryInt("SELECT CAST(value AS INTEGER) FROM rm_meta WHERE key = 'catalog_version'");
}

Result<std::shared_ptr<const Catalog>> LoadCatalog(sqlite::Connection& conn) {
  auto catalog = std::make_shared<Catalog>();
  TRIAD_ASSIGN_OR_RETURN(catalog->version, ReadCatalogVersion(conn));
  TRIAD_ASSIGN_OR_RETURN(Statement * stmt,
                         conn.Prepare("SELECT id, name, indexes FROM rm_collections"));
  ScopedReset reset(stmt);
  while (true) {
    const int rc = stmt->Step();
    if (rc == SQLITE_DONE) break;
    if (rc != SQLITE_ROW) return ErrorStatus(conn.db(), rc, "reading the collection catalog");
    TRIAD_ASSIGN_OR_RETURN(auto indexes, IndexesFromJson(stmt->Text(2)));
    catalog->collections.emplace(std::string(stmt->Text(1)),
                                 MakeCollectionInfo(stmt->Int(0), std::move(indexes)));
  }
  return std::shared_ptr<const Catalog>(std::move(catalog));
}

std::string IndexesToJson(const std::vector<IndexSpec>& indexes) {
  return IndexesToJsonValue(indexes).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

Result<std::vector<IndexSpec>> IndexesFromJson(std::string_view text) {
  try {
    return IndexesFromJsonValue(nlohmann::json::parse(text));
  } catch (const std::exception& e) {
    return DataLossError("stored index list is malformed: " + std::string(e.what()));
  }
}

std::string CollectionsToJson(const std::vector<CollectionSpec>& collections) {
  auto array = nlohmann::json::array();
  for (const CollectionSpec& spec : collections) {
    array.push_back({{"name", spec.name}, {"indexes", IndexesToJsonValue(spec.indexes)}});
  }
  return array.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

Result<std::vector<CollectionSpec>> CollectionsFromJson(std::string_view text) {
  try {
    std::vector<CollectionSpec> out;
    for (const auto& item : nlohmann::json::parse(text)) {
      out.push_back(CollectionSpec{.name = item.at("name").get<std::string>(),
                                   .indexes = IndexesFromJsonValue(item.at("indexes"))});
    }
    return out;
  } catch (const std::exception& e) {
    return DataLossError("stored projection collections are malformed: " + std::string(e.what()));
  }
}

}  // namespace triad::internal::readmodel
