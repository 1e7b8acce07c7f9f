#include "readmodel/statement_cache.h"

namespace triad::internal::readmodel {

Result<sqlite::Statement*> StatementCache::Prepare(const std::string& sql) {
  if (auto it = index_.find(sql); it != index_.end()) {
    lru_.splice(lru_.begin(), lru_, it->second);
    it->second->second->Reset();
    return it->second->second.get();
  }
  sqlite3_stmt* raw = nullptr;
  const int rc = sqlite3_prepare_v3(db_, sql.c_str(), static_cast<int>(sql.size()),
                                    SQLITE_PREPARE_PERSISTENT, &raw, nullptr);
  if (rc != SQLITE_OK) return sqlite::ErrorStatus(db_, rc, "preparing a query");
  lru_.emplace_front(sql, std::make_unique<sqlite::Statement>(raw));
  index_[sql] = lru_.begin();
  while (lru_.size() > capacity_) {
    index_.erase(lru_.back().first);
    lru_.pop_back();
  }
  return lru_.front().second.get();
}

}  // namespace triad::internal::readmodel
