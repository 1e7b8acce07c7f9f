// Raw SQLite baselines: Triad's own schema (storage/sqlite/schema.h), pragmas and query shapes,
// driven through the sqlite3 C API with prepared statements and nothing else: no validation, no
// connection pool, no C++ copies of the rows read. The difference between a Triad row and its
// raw row is therefore what Triad adds on top of SQLite.
//
// Thread-safety: one thread per RawDb and per object built on it.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "bench_util.h"

namespace triad::bench {

class RawDb {
 public:
  // Opens `path` as Triad's SQLite backend opens its writer with Durability::kFull:
  // journal_mode=WAL, synchronous=FULL, a busy timeout and extended result codes. With
  // `create_schema`, runs Triad's DDL on it. Dies on errors.
  RawDb(const std::string& path, bool create_schema);
  ~RawDb();
  RawDb(const RawDb&) = delete;
  RawDb& operator=(const RawDb&) = delete;

  sqlite3* db() { return db_; }
  // Runs statements without results; dies on errors.
  void Exec(const char* sql);
  // A prepared statement, finalized when this RawDb is destroyed; dies on errors.
  sqlite3_stmt* Prepare(const char* sql);
  // Dies with SQLite's message unless `rc` is `want`.
  void Check(int rc, int want, std::string_view what);

 private:
  sqlite3* db_ = nullptr;
  std::vector<sqlite3_stmt*> statements_;
};

// The append_batch baseline: each call inserts events as the next versions of one stream, with
// the stream row created or updated, in one BEGIN IMMEDIATE ... COMMIT, exactly the rows and
// statements Triad's SqliteTransaction::Insert writes for one append.
class RawAppender {
 public:
  RawAppender(RawDb& db, std::string stream);
  void AppendBatch(std::span<const BenchEvent> events);

 private:
  RawDb& db_;
  const std::string stream_;
  int64_t stream_id_ = 0;  // 0 until the stream row exists
  int64_t version_ = -1;
  sqlite3_stmt* begin_;
  sqlite3_stmt* commit_;
  sqlite3_stmt* create_stream_;
  sqlite3_stmt* insert_;
  sqlite3_stmt* update_stream_;
};

// The read_stream baseline: Triad's stream query (streams joined to events by name, by version).
class RawStreamReader {
 public:
  explicit RawStreamReader(RawDb& db);
  // Reads every column of up to `limit` events of `stream`; returns how many.
  size_t Read(std::string_view stream, int64_t limit);
  // A fold of what was read, so that the compiler cannot drop the column reads.
  uint64_t checksum() const { return checksum_; }

 private:
  RawDb& db_;
  sqlite3_stmt* stmt_;
  uint64_t checksum_ = 0;
};

// The read_all baseline: a keyset scan `WHERE position > ? ORDER BY position LIMIT page` with the
// columns and join of Triad's log query, optionally filtered by one type.
class RawLogScanner {
 public:
  explicit RawLogScanner(RawDb& db);
  // Reads every column of up to `limit` events after position `after` (only `type` when not
  // empty); returns how many and sets `last` to the position of the last one.
  int64_t ReadPage(std::string_view type, int64_t after, int64_t limit, int64_t& last);
  uint64_t checksum() const { return checksum_; }

 private:
  RawDb& db_;
  sqlite3_stmt* all_;
  sqlite3_stmt* by_type_;
  uint64_t checksum_ = 0;
};

}  // namespace triad::bench
