// A bounded cache of prepared statements for query SQL, whose text varies with the query's
// shape (fields, operators, IN list sizes). sqlite::Connection's own cache is unbounded and
// suits the fixed statements; this one evicts the least recently used statement beyond its
// capacity, so that many query shapes cannot grow memory without bound.
//
// Thread-safety: used by one thread at a time, like the connection it belongs to.
#pragma once

#include "storage/sqlite/sqlite_db.h"

#include "triad/result.h"

#include <cstddef>
#include <list>
#include <memory>
#include <string>
#include <unordered_map>
#include <utility>

namespace triad::internal::readmodel {

class StatementCache {
 public:
  // REQUIRES: `db` outlives the cache; the cache is destroyed before the connection closes.
  StatementCache(sqlite3* db, size_t capacity) : db_(db), capacity_(capacity) {}
  StatementCache(const StatementCache&) = delete;
  StatementCache& operator=(const StatementCache&) = delete;

  // The statement for `sql`, reset with its bindings cleared. Valid until the next Prepare().
  // Errors: as sqlite3_prepare_v3 (an SQL error is kInternal).
  Result<sqlite::Statement*> Prepare(const std::string& sql);

 private:
  using Entry = std::pair<std::string, std::unique_ptr<sqlite::Statement>>;

  sqlite3* db_;
  size_t capacity_;
  std::list<Entry> lru_;  // most recently used first
  std::unordered_map<std::string, std::list<Entry>::iterator> index_;
};

}  // namespace triad::internal::readmodel
