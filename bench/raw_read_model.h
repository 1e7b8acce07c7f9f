// Raw SQLite baselines of triad_projection_bench: what an application would write by hand with
// the sqlite3 C API instead of a projection engine and a read-model store.
//
// - RawEventReader: the keyset scan of Triad's event log (WHERE position > ? ORDER BY position
//   LIMIT ?) handing each row to a callback as an EventView, for the raw upsert loop.
// - RawDocumentTable: a plain table (id TEXT PRIMARY KEY, owner TEXT, body TEXT) with a plain
//   index on (owner, id): get by id, query by owner, and the read-modify-upsert-commit step
//   done once per event.
//
// Thread-safety: one thread per object (and per RawDb).
#pragma once

#include "triad/event.h"

#include <sqlite3.h>

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "raw_sqlite.h"

namespace triad::bench {

class RawEventReader {
 public:
  explicit RawEventReader(RawDb& db);
  // Calls `visit` for up to `limit` events after position `after`; returns how many and sets
  // `last` to the last position. The view lives until `visit` returns.
  int64_t ReadPage(int64_t after, int64_t limit, int64_t& last,
                   const std::function<void(const EventView&)>& visit);

 private:
  RawDb& db_;
  sqlite3_stmt* stmt_;
};

class RawDocumentTable {
 public:
  // Creates the table and index in `db` if missing.
  explicit RawDocumentTable(RawDb& db);

  // The body of `id` into `body`; false when missing.
  bool Get(std::string_view id, std::string& body);
  // Reads every column of up to `limit` rows with `owner`, in id order; returns how many.
  int64_t FindByOwner(std::string_view owner, int64_t limit);
  // One durable write: BEGIN IMMEDIATE; read the row; `change` the parsed body; upsert; COMMIT.
  void Update(std::string_view id, const std::function<void(std::string& body)>& change);
  // Inserts rows without a transaction of their own (wrap calls in Begin/Commit).
  void Insert(std::string_view id, std::string_view owner, std::string_view body);
  void Begin();
  void Commit();
  uint64_t checksum() const { return checksum_; }

 private:
  RawDb& db_;
  sqlite3_stmt* begin_;
  sqlite3_stmt* commit_;
  sqlite3_stmt* get_;
  sqlite3_stmt* find_;
  sqlite3_stmt* upsert_;
  std::string scratch_;
  uint64_t checksum_ = 0;
};

}  // namespace triad::bench
