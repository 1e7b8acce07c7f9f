#include "storage/sqlite/sqlite_backend.h"

#include "storage/sqlite/schema.h"
#include "storage/sqlite/sqlite_db.h"
#include "util/connection_pool.h"
#include "util/status_macros.h"

#include <algorithm>
#include <bit>
#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <optional>
#include <queue>
#include <string>
#include <system_error>
#include <unordered_map>
#include <utility>
#include <vector>

namespace triad::internal {
namespace {

using sqlite::Connection;
using sqlite::ErrorStatus;
using sqlite::ScopedReset;
using sqlite::Statement;

constexpr int kReaderConnections = 4;

// The most rows one INSERT INTO events carries: a power of two, and 9 parameters a row stays far
// below SQLITE_MAX_VARIABLE_NUMBER. Past about 16 rows the gain per row flattens out.
constexpr size_t kMaxInsertRows = 16;

// "INSERT OR FAIL INTO events (...) VALUES (...), ..." with `rows` rows of 9 parameters.
// OR FAIL keeps the rows a failing statement inserted before the failing one, exactly as a loop
// of one-row statements would; that spares SQLite a statement journal (a copy of every page the
// statement touches), which costs more than the multi-row statement saves. The caller's
// savepoint undoes the partial append.
// REQUIRES: rows is a power of two <= kMaxInsertRows.
const std::string& InsertEventsSql(size_t rows) {
  static const auto* const kSql = [] {
    auto* sql = new std::vector<std::string>();
    for (size_t n = 1; n <= kMaxInsertRows; n *= 2) {
      std::string text =
          "INSERT OR FAIL INTO events (id, stream_id, version, type, data, metadata, "
          "correlation_id, causation_id, recorded_at) VALUES (?,?,?,?,?,?,?,?,?)";
      for (size_t i = 1; i < n; ++i) text += ",(?,?,?,?,?,?,?,?,?)";
      sql->push_back(std::move(text));
    }
    return sql;
  }();
  return (*kSql)[static_cast<size_t>(std::countr_zero(rows))];
}

// The columns every event read selects, in the order RowToEvent() decodes them.
constexpr const char* kEventColumns =
    "e.position, e.id, s.name, e.version, e.type, e.data, e.metadata, e.correlation_id, "
    "e.causation_id, e.recorded_at";

RecordedEvent RowToEvent(const Statement& row) {
  return RecordedEvent{.id = std::string(row.Text(1)),
                       .stream = std::string(row.Text(2)),
                       .version = row.Int(3),
                       .position = row.Int(0),
                       .type = std::string(row.Text(4)),
                       .data = std::string(row.Text(5)),
                       .metadata = std::string(row.Text(6)),
                       .correlation_id = std::string(row.Text(7)),
                       .causation_id = std::string(row.Text(8)),
                       .recorded_at_us = row.Int(9)};
}

constexpr const char* kStreamColumns =
    "name, category, version, first_position, last_position, last_recorded_at";

StreamInfo RowToStreamInfo(const Statement& row) {
  const StreamVersion version = row.Int(2);
  return StreamInfo{.name = std::string(row.Text(0)),
                    .category = std::string(row.Text(1)),
                    .version = version,
                    .first_position = row.Int(3),
                    .last_position = row.Int(4),
                    .event_count = version + 1,
                    .last_recorded_at_us = row.Int(5)};
}

// Runs `stmt` (already bound) and decodes every row with `decode`.
template <typename T, typename Decode>
Result<std::vector<T>> CollectRows(Connection& conn, Statement* stmt, Decode decode,
                                   std::string_view context) {
  ScopedReset reset(stmt);
  std::vector<T> out;
  while (true) {
    const int rc = stmt->Step();
    if (rc == SQLITE_DONE) return out;
    if (rc != SQLITE_ROW) return ErrorStatus(conn.db(), rc, context);
    out.push_back(decode(*stmt));
  }
}

// "?,?,?" with n placeholders starting at `first`.
std::string Placeholders(size_t n, int first) {
  std::string out;
  for (size_t i = 0; i < n; ++i) {
    if (i > 0) out += ',';
    out += '?' + std::to_string(first + static_cast<int>(i));
  }
  return out;
}

class SqliteBackend;

// The write transaction on the single writer connection.
class SqliteTransaction final : public WriteTransaction {
 public:
  SqliteTransaction(SqliteBackend& backend, Connection& conn) : backend_(backend), conn_(conn) {}
  ~SqliteTransaction() override;

  Result<StreamVersion> CurrentVersion(std::string_view stream) override {
    TRIAD_ASSIGN_OR_RETURN(const auto* s, LookupStream(stream));
    return s == nullptr ? kNoStreamVersion : s->version;
  }

  Result<std::optional<RecordedEvent>> FindEvent(std::string_view id) override {
    TRIAD_ASSIGN_OR_RETURN(
        Statement * stmt,
        conn_.Prepare(
            std::string("SELECT ") + kEventColumns +
            " FROM events e JOIN streams s ON s.stream_id = e.stream_id WHERE e.id = ?1"));
    stmt->Bind(1, id);
    ScopedReset reset(stmt);
    const int rc = stmt->Step();
    if (rc == SQLITE_DONE) return std::optional<RecordedEvent>();
    if (rc != SQLITE_ROW) return ErrorStatus(conn_.db(), rc, "looking up event id");
    return std::optional<RecordedEvent>(RowToEvent(*stmt));
  }

  Result<Position> Insert(std::string_view stream, StreamVersion first_version,
                          std::span<const PreparedEvent> events, int64_t recorded_at_us) override {
    TRIAD_ASSIGN_OR_RETURN(const StreamRow* existing, LookupStream(stream));
    int64_t stream_id = 0;
    if (existing == nullptr) {
      TRIAD_ASSIGN_OR_RETURN(Statement * create,
                             conn_.Prepare("INSERT INTO streams (name, category, version, "
                                           "first_position, last_position, last_recorded_at) "
                                           "VALUES (?1, ?2, -1, 0, 0, 0)"));
      create->Bind(1, stream);
      create->Bind(2, CategoryOf(stream));
      ScopedReset reset(create);
      const int rc = create->Step();
      if (rc != SQLITE_DONE) return ErrorStatus(conn_.db(), rc, "creating stream");
      stream_id = sqlite3_last_insert_rowid(conn_.db());
    } else {
      stream_id = existing->stream_id;
    }

    // Rows go in by chunks of kMaxInsertRows, then by halving chunks for the rest: a one-row
    // statement spends about as many instructions opening and closing its five b-tree cursors
    // as inserting, and a multi-row statement shares that work (1.8x fewer instructions per
    // event in a 1,000-event append, measured with callgrind by bench/triad_bench).
    // Positions stay dense and in version order: AUTOINCREMENT numbers a statement's rows in order.
    Position first_position = 0;
    StreamVersion version = first_version;
    size_t rows = kMaxInsertRows;
    for (size_t done = 0; done < events.size(); done += rows) {
      while (rows > events.size() - done) rows /= 2;
      const auto chunk = events.subspan(done, rows);
      const StreamVersion chunk_version = version;
      TRIAD_ASSIGN_OR_RETURN(Statement * insert, conn_.Prepare(InsertEventsSql(rows)));
      int index = 0;
      for (const PreparedEvent& e : chunk) {
        insert->Bind(++index, e.id);
        insert->Bind(++index, stream_id);
        insert->Bind(++index, version++);
        insert->Bind(++index, e.type);
        insert->Bind(++index, e.data);
        insert->Bind(++index, e.metadata);
        insert->BindTextOrNull(++index, e.correlation_id);
        insert->BindTextOrNull(++index, e.causation_id);
        insert->Bind(++index, recorded_at_us);
      }
      const int rc = insert->Step();
      sqlite3_reset(insert->raw());
      if (rc != SQLITE_DONE) {
        // Name the first id of the chunk stored before this statement. The rows ahead of the
        // failing one are this statement's own (OR FAIL): found with this stream and version.
        if (rc == SQLITE_CONSTRAINT_UNIQUE) {
          for (size_t i = 0; i < chunk.size(); ++i) {
            const auto slot = FindEventSlot(chunk[i].id);
            if (!slot) break;
            if (*slot != std::pair(stream_id, chunk_version + static_cast<StreamVersion>(i))) {
              return AlreadyExistsError("event id " + chunk[i].id + " is already stored");
            }
          }
        }
        return ErrorStatus(conn_.db(), rc, "inserting event into '" + std::string(stream) + "'");
      }
      if (first_position == 0) {
        first_position = sqlite3_last_insert_rowid(conn_.db()) - static_cast<Position>(rows) + 1;
      }
    }
    const Position last_position = sqlite3_last_insert_rowid(conn_.db());
    TRIAD_DCHECK(last_position - first_position + 1 == static_cast<Position>(events.size()));

    TRIAD_ASSIGN_OR_RETURN(
        Statement * update,
        conn_.Prepare("UPDATE streams SET version = ?1, last_position = ?2, "
                      "first_position = CASE WHEN first_position = 0 THEN ?3 ELSE first_position "
                      "END, last_recorded_at = ?4 WHERE stream_id = ?5"));
    update->Bind(1, version - 1);
    update->Bind(2, last_position);
    update->Bind(3, first_position);
    update->Bind(4, recorded_at_us);
    update->Bind(5, stream_id);
    ScopedReset reset(update);
    const int rc = update->Step();
    if (rc != SQLITE_DONE) return ErrorStatus(conn_.db(), rc, "updating stream summary");
    SetStreamRow(std::string(stream), StreamRow{stream_id, version - 1});
    return first_position;
  }

  Status Savepoint() override {
    undo_.clear();
    return ExecCached("SAVEPOINT append");
  }
  Status RollbackToSavepoint() override {
    // Newest first, so a row changed twice gets its value from before the savepoint.
    for (auto it = undo_.rbegin(); it != undo_.rend(); ++it) {
      if (it->second) {
        streams_.insert_or_assign(std::move(it->first), *it->second);
      } else {
        streams_.erase(it->first);
      }
    }
    undo_.clear();
    TRIAD_RETURN_IF_ERROR(ExecCached("ROLLBACK TO append"));
    return ExecCached("RELEASE append");
  }
  Status ReleaseSavepoint() override {
    undo_.clear();
    return ExecCached("RELEASE append");
  }

  Status Commit() override {
    Status s = ExecCached("COMMIT");
    if (s.ok()) committed_ = true;
    return s;
  }

 private:
  struct StreamRow {
    int64_t stream_id;
    StreamVersion version;
  };

  // The stream's row as this transaction sees it; nullptr when the stream does not exist.
  Result<const StreamRow*> LookupStream(std::string_view stream) {
    const std::string key(stream);
    if (auto it = streams_.find(key); it != streams_.end()) return &it->second;
    TRIAD_ASSIGN_OR_RETURN(Statement * stmt,
                           conn_.Prepare("SELECT stream_id, version FROM streams WHERE name = ?1"));
    stmt->Bind(1, stream);
    ScopedReset reset(stmt);
    const int rc = stmt->Step();
    if (rc == SQLITE_DONE) return static_cast<const StreamRow*>(nullptr);
    if (rc != SQLITE_ROW) return ErrorStatus(conn_.db(), rc, "reading stream version");
    return SetStreamRow(key, StreamRow{stmt->Int(0), stmt->Int(1)});
  }

  // Caches `row` for `key`, remembering the previous entry so that RollbackToSavepoint() can
  // restore it. An undo log rather than a copy of streams_ per savepoint: a group commit of N
  // single-event appends would otherwise copy the map N times, O(N^2) in the group size.
  const StreamRow* SetStreamRow(const std::string& key, StreamRow row) {
    auto it = streams_.find(key);
    if (it == streams_.end()) {
      undo_.emplace_back(key, std::nullopt);
      it = streams_.emplace(key, row).first;
    } else {
      undo_.emplace_back(key, it->second);
      it->second = row;
    }
    return &it->second;
  }

  // The (stream_id, version) of the stored event `id`; nullopt when none is stored or the lookup
  // fails (it only refines an error message).
  std::optional<std::pair<int64_t, StreamVersion>> FindEventSlot(std::string_view id) {
    auto stmt = conn_.Prepare("SELECT stream_id, version FROM events WHERE id = ?1");
    if (!stmt.ok()) return std::nullopt;
    (*stmt)->Bind(1, id);
    ScopedReset reset(*stmt);
    if ((*stmt)->Step() != SQLITE_ROW) return std::nullopt;
    return std::pair((*stmt)->Int(0), (*stmt)->Int(1));
  }

  Status ExecCached(const std::string& sql) {
    TRIAD_ASSIGN_OR_RETURN(Statement * stmt, conn_.Prepare(sql));
    ScopedReset reset(stmt);
    const int rc = stmt->Step();
    if (rc != SQLITE_DONE) return ErrorStatus(conn_.db(), rc, sql);
    return Status::OK();
  }

  SqliteBackend& backend_;
  Connection& conn_;
  bool committed_ = false;
  std::unordered_map<std::string, StreamRow> streams_;  // cache of rows read or written
  // Entries of streams_ changed since Savepoint(), with their previous values (nullopt: absent).
  std::vector<std::pair<std::string, std::optional<StreamRow>>> undo_;
};

class SqliteBackend final : public Backend {
 public:
  SqliteBackend(const Options& options, std::string path, std::unique_ptr<Connection> writer)
      : options_(options), path_(std::move(path)), writer_(std::move(writer)) {}

  // Creates the schema on a new file, or checks the schema of an existing one.
  Status Initialize() {
    Connection& db = *writer_;
    const sqlite::FileKind kind{
        .application_id = sqlite::kApplicationId,
        .create_sql = std::string(sqlite::kCreateSchema) +
                      "INSERT OR IGNORE INTO triad_meta (key, value) VALUES ('schema_version', '" +
                      std::to_string(sqlite::kSchemaVersion) + "');",
        .name = "Triad store"};
    TRIAD_ASSIGN_OR_RETURN(const sqlite::FileState state,
                           sqlite::OpenTriadFile(db, path_, kind, /*create=*/!options_.read_only,
                                                 /*wal=*/!options_.read_only));
    if (state == sqlite::FileState::kEmpty) {
      return NotFoundError("'" + path_ + "' holds no Triad store");
    }
    TRIAD_RETURN_IF_ERROR(db.Exec(options_.durability == Durability::kFull
                                      ? "PRAGMA synchronous=FULL"
                                      : "PRAGMA synchronous=NORMAL"));
    TRIAD_ASSIGN_OR_RETURN(
        const int64_t version,
        db.QueryInt("SELECT CAST(value AS INTEGER) FROM triad_meta WHERE key = 'schema_version'"));
    if (version > sqlite::kSchemaVersion) {
      return DataLossError("'" + path_ + "' has schema version " + std::to_string(version) +
                           ", newer than this binary's " + std::to_string(sqlite::kSchemaVersion) +
                           "; upgrade Triad");
    }
    return Status::OK();
  }

  Result<std::unique_ptr<WriteTransaction>> BeginWrite() override {
    if (options_.read_only) return FailedPreconditionError("the store is open read-only");
    std::unique_lock lock(writer_mu_);
    while (writer_busy_) writer_cv_.wait(lock);  // a snapshot save holds the writer
    // A transaction left open by a failed commit whose rollback failed too: end it first, so the
    // writer recovers instead of failing "cannot start a transaction within a transaction".
    if (!sqlite3_get_autocommit(writer_->db())) {
      TRIAD_RETURN_IF_ERROR(
          writer_->Exec("ROLLBACK").Annotate("ending the transaction of a failed commit"));
    }
    TRIAD_RETURN_IF_ERROR(writer_->Exec("BEGIN IMMEDIATE").Annotate("starting a write"));
    writer_busy_ = true;
    return std::unique_ptr<WriteTransaction>(new SqliteTransaction(*this, *writer_));
  }

  // Called when a transaction object is destroyed; rolls back if it did not commit.
  void EndWrite(bool committed) {
    if (!committed && !sqlite3_get_autocommit(writer_->db())) {
      writer_->Exec("ROLLBACK").IgnoreError();
    }
    std::lock_guard lock(writer_mu_);
    writer_busy_ = false;
    writer_cv_.notify_all();
  }

  Status ProbeWrite() override {
    if (options_.read_only) return Status::OK();
    TRIAD_ASSIGN_OR_RETURN(auto tx, BeginWrite());
    // A row added and removed: the page is written to the WAL at commit (SQLite skips pages whose
    // content an UPDATE leaves unchanged), and nothing stays behind.
    TRIAD_RETURN_IF_ERROR(
        writer_->Exec("INSERT INTO triad_meta (key, value) VALUES ('write_probe', ''); "
                      "DELETE FROM triad_meta WHERE key = 'write_probe'"));
    return tx->Commit().Annotate("probing whether writes work");
  }

  Result<std::vector<RecordedEvent>> ReadStream(std::string_view stream,
                                                const ReadStreamOptions& o) override {
    TRIAD_ASSIGN_OR_RETURN(auto reader, AcquireReader());
    const bool forward = o.direction == ReadDirection::kForward;
    const std::string sql =
        std::string("SELECT ") + kEventColumns +
        " FROM streams s JOIN events e ON e.stream_id = s.stream_id WHERE s.name = ?1 AND " +
        (forward ? "e.version >= ?2 ORDER BY e.version"
                 : "e.version <= ?2 ORDER BY e.version DESC") +
        " LIMIT ?3";
    TRIAD_ASSIGN_OR_RETURN(Statement * stmt, reader->Prepare(sql));
    stmt->Bind(1, stream);
    stmt->Bind(2, o.from_version.value_or(forward ? 0 : INT64_MAX));
    stmt->Bind(3, static_cast<int64_t>(std::min<size_t>(o.limit, INT64_MAX)));
    return CollectRows<RecordedEvent>(*reader, stmt, RowToEvent, "reading stream");
  }

  Result<std::vector<RecordedEvent>> ReadAll(const ReadAllOptions& o) override {
    TRIAD_ASSIGN_OR_RETURN(auto reader, AcquireReader());
    TRIAD_ASSIGN_OR_RETURN(Statement * stmt, PrepareLogQuery(*reader, o));
    return CollectRows<RecordedEvent>(*reader, stmt, RowToEvent, "reading the log");
  }

  Result<int64_t> ScanAll(const ReadAllOptions& o, const EventVisitor& visit) override {
    TRIAD_ASSIGN_OR_RETURN(auto reader, AcquireReader());
    TRIAD_ASSIGN_OR_RETURN(Statement * stmt, PrepareLogQuery(*reader, o));
    ScopedReset reset(stmt);
    int64_t visited = 0;
    while (true) {
      const int rc = stmt->Step();
      if (rc == SQLITE_DONE) return visited;
      if (rc != SQLITE_ROW) return ErrorStatus(reader->db(), rc, "scanning the log");
      ++visited;
      // Views into SQLite's row buffers: valid until the next Step(), i.e. during visit().
      const EventView view{.id = stmt->Text(1),
                           .stream = stmt->Text(2),
                           .version = stmt->Int(3),
                           .position = stmt->Int(0),
                           .type = stmt->Text(4),
                           .data = stmt->Text(5),
                           .metadata = stmt->Text(6),
                           .correlation_id = stmt->Text(7),
                           .causation_id = stmt->Text(8),
                           .recorded_at_us = stmt->Int(9)};
      if (!visit(view)) return visited;
    }
  }

  Result<Position> HeadPosition() override {
    TRIAD_ASSIGN_OR_RETURN(auto reader, AcquireReader());
    return reader->QueryInt("SELECT coalesce(max(position), 0) FROM events");
  }

  Result<std::optional<StreamInfo>> GetStreamInfo(std::string_view stream) override {
    TRIAD_ASSIGN_OR_RETURN(auto reader, AcquireReader());
    TRIAD_ASSIGN_OR_RETURN(Statement * stmt,
                           reader->Prepare(std::string("SELECT ") + kStreamColumns +
                                           " FROM streams WHERE name = ?1 AND version >= 0"));
    stmt->Bind(1, stream);
    TRIAD_ASSIGN_OR_RETURN(
        auto rows, CollectRows<StreamInfo>(*reader, stmt, RowToStreamInfo, "reading stream info"));
    if (rows.empty()) return std::optional<StreamInfo>();
    return std::optional<StreamInfo>(std::move(rows.front()));
  }

  Result<std::vector<StreamInfo>> ListStreams(const ListStreamsOptions& o) override {
    TRIAD_ASSIGN_OR_RETURN(auto reader, AcquireReader());
    std::string sql =
        std::string("SELECT ") + kStreamColumns + " FROM streams WHERE version >= 0 AND name > ?1";
    if (!o.prefix.empty()) sql += " AND substr(name, 1, length(?2)) = ?2";
    if (!o.category.empty()) sql += " AND category = ?3";
    sql += " ORDER BY name LIMIT ?4";
    TRIAD_ASSIGN_OR_RETURN(Statement * stmt, reader->Prepare(sql));
    stmt->Bind(1, o.after);
    if (!o.prefix.empty()) stmt->Bind(2, o.prefix);
    if (!o.category.empty()) stmt->Bind(3, o.category);
    stmt->Bind(4, static_cast<int64_t>(std::min<size_t>(o.limit, INT64_MAX)));
    return CollectRows<StreamInfo>(*reader, stmt, RowToStreamInfo, "listing streams");
  }

  Status SaveSnapshot(const Snapshot& snapshot) override {
    if (options_.read_only) return FailedPreconditionError("the store is open read-only");
    // Snapshots share the writer connection with appends; the writer lock keeps them apart.
    std::unique_lock lock(writer_mu_);
    while (writer_busy_) writer_cv_.wait(lock);
    writer_busy_ = true;
    Status s = WriteSnapshot(snapshot);
    writer_busy_ = false;
    writer_cv_.notify_all();
    return s;
  }

  Result<std::optional<Snapshot>> LoadSnapshot(std::string_view stream) override {
    TRIAD_ASSIGN_OR_RETURN(auto reader, AcquireReader());
    TRIAD_ASSIGN_OR_RETURN(
        Statement * stmt,
        reader->Prepare("SELECT stream, schema_version, version, state, recorded_at "
                        "FROM snapshots WHERE stream = ?1"));
    stmt->Bind(1, stream);
    TRIAD_ASSIGN_OR_RETURN(auto rows, CollectRows<Snapshot>(
                                          *reader, stmt,
                                          [](const Statement& row) {
                                            return Snapshot{
                                                .stream = std::string(row.Text(0)),
                                                .schema_version = static_cast<int32_t>(row.Int(1)),
                                                .version = row.Int(2),
                                                .state = std::string(row.Text(3)),
                                                .recorded_at_us = row.Int(4)};
                                          },
                                          "loading snapshot"));
    if (rows.empty()) return std::optional<Snapshot>();
    return std::optional<Snapshot>(std::move(rows.front()));
  }

  Result<BackendStats> Stats() override {
    TRIAD_ASSIGN_OR_RETURN(auto reader, AcquireReader());
    BackendStats stats;
    TRIAD_ASSIGN_OR_RETURN(stats.head_position,
                           reader->QueryInt("SELECT coalesce(max(position), 0) FROM events"));
    TRIAD_ASSIGN_OR_RETURN(stats.event_count,
                           reader->QueryInt("SELECT coalesce(sum(version + 1), 0) FROM streams"));
    TRIAD_ASSIGN_OR_RETURN(stats.stream_count,
                           reader->QueryInt("SELECT count(*) FROM streams WHERE version >= 0"));
    TRIAD_ASSIGN_OR_RETURN(stats.snapshot_count,
                           reader->QueryInt("SELECT count(*) FROM snapshots"));
    std::error_code ec;
    for (const std::string& file : {path_, path_ + "-wal"}) {
      const auto size = std::filesystem::file_size(file, ec);
      if (!ec) stats.storage_bytes += static_cast<int64_t>(size);
    }
    return stats;
  }

  Result<std::vector<std::string>> CheckStorage() override {
    TRIAD_ASSIGN_OR_RETURN(auto reader, AcquireReader());
    TRIAD_ASSIGN_OR_RETURN(Statement * stmt, reader->Prepare("PRAGMA integrity_check"));
    TRIAD_ASSIGN_OR_RETURN(
        auto lines,
        CollectRows<std::string>(
            *reader, stmt, [](const Statement& row) { return std::string(row.Text(0)); },
            "integrity_check"));
    std::vector<std::string> problems;
    for (std::string& line : lines) {
      if (line != "ok") problems.push_back("sqlite integrity_check: " + line);
    }
    TRIAD_ASSIGN_OR_RETURN(
        const int64_t orphans,
        reader->QueryInt("SELECT count(*) FROM events e LEFT JOIN streams s "
                         "ON s.stream_id = e.stream_id WHERE s.stream_id IS NULL"));
    if (orphans > 0) {
      problems.push_back(std::to_string(orphans) + " events belong to no stream row");
    }
    return problems;
  }

  std::string Describe() const override { return "sqlite:" + path_; }

 private:
  using ReaderLease = ConnectionPool<Connection>::Lease;
  Result<ReaderLease> AcquireReader() { return readers_.Acquire(); }

  // The log query for `o`, bound and ready to step, always in position order.
  Result<Statement*> PrepareLogQuery(Connection& reader, const ReadAllOptions& o) {
    // CROSS JOIN keeps `events` the outer loop (a position-ordered scan): with a category filter
    // the planner would otherwise start from streams_by_category and sort the category's events
    // in a temporary B-tree on every call, which makes a category-filtered catch-up quadratic.
    std::string sql = std::string("SELECT ") + kEventColumns +
                      " FROM events e CROSS JOIN streams s ON s.stream_id = e.stream_id"
                      " WHERE e.position >= ?1";
    int next_param = 3;
    if (o.types.size() == 1) {
      // One type: a range scan of the (type, position) index, already in position order.
      sql += " AND e.type = ?" + std::to_string(next_param++);
    } else if (o.types.size() > 1) {
      // Several types: the unary + keeps SQLite off the type index, which would make it sort
      // every match before the LIMIT. Scanning positions and testing the type streams with no
      // sort; a projection's filter usually keeps a large share of the log anyway.
      sql += " AND +e.type IN (" + Placeholders(o.types.size(), next_param) + ")";
      next_param += static_cast<int>(o.types.size());
    }
    const int first_category = next_param;
    if (!o.categories.empty()) {
      sql += " AND s.category IN (" + Placeholders(o.categories.size(), first_category) + ")";
    }
    sql += " ORDER BY e.position LIMIT ?2";
    TRIAD_ASSIGN_OR_RETURN(Statement * stmt, reader.Prepare(sql));
    stmt->Bind(1, o.from_position);
    stmt->Bind(2, static_cast<int64_t>(std::min<size_t>(o.limit, INT64_MAX)));
    for (size_t i = 0; i < o.types.size(); ++i) stmt->Bind(3 + static_cast<int>(i), o.types[i]);
    for (size_t i = 0; i < o.categories.size(); ++i) {
      stmt->Bind(first_category + static_cast<int>(i), o.categories[i]);
    }
    return stmt;
  }

  Status WriteSnapshot(const Snapshot& snapshot) {
    TRIAD_ASSIGN_OR_RETURN(
        Statement * stmt,
        writer_->Prepare("INSERT INTO snapshots (stream, schema_version, version, state, "
                         "recorded_at) VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (stream) DO UPDATE "
                         "SET schema_version = excluded.schema_version, version = "
                         "excluded.version, state = excluded.state, recorded_at = "
                         "excluded.recorded_at WHERE excluded.version >= snapshots.version OR "
                         "excluded.schema_version <> snapshots.schema_version"));
    stmt->Bind(1, snapshot.stream);
    stmt->Bind(2, static_cast<int64_t>(snapshot.schema_version));
    stmt->Bind(3, snapshot.version);
    stmt->Bind(4, snapshot.state);
    stmt->Bind(5, snapshot.recorded_at_us);
    ScopedReset reset(stmt);
    const int rc = stmt->Step();
    if (rc != SQLITE_DONE) return ErrorStatus(writer_->db(), rc, "saving snapshot");
    return Status::OK();
  }

  friend class SqliteTransaction;

  const Options options_;
  const std::string path_;
  std::unique_ptr<Connection> writer_;
  std::mutex writer_mu_;
  std::condition_variable writer_cv_;
  bool writer_busy_ = false;  // guarded by writer_mu_

  ConnectionPool<Connection> readers_{kReaderConnections, [this] {
                                        return Connection::Open(path_, options_.read_only
                                                                           ? SQLITE_OPEN_READONLY
                                                                           : SQLITE_OPEN_READWRITE);
                                      }};
};

SqliteTransaction::~SqliteTransaction() { backend_.EndWrite(committed_); }

}  // namespace

Result<std::unique_ptr<Backend>> OpenSqliteBackend(const Options& options, std::string_view path) {
  const std::string file(path);
  int flags = options.read_only ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE;
  if (options.create_if_missing && !options.read_only) flags |= SQLITE_OPEN_CREATE;
  auto writer = Connection::Open(file, flags);
  if (!writer.ok()) {
    if (!(flags & SQLITE_OPEN_CREATE)) {
      std::error_code ec;
      if (!std::filesystem::exists(file, ec)) {
        return NotFoundError("store '" + file + "' does not exist");
      }
    }
    return writer.status();
  }
  auto backend = std::make_unique<SqliteBackend>(options, file, std::move(*writer));
  if (Status s = backend->Initialize(); !s.ok()) {
    return s.Annotate("opening store '" + file + "'");
  }
  return std::unique_ptr<Backend>(std::move(backend));
}

}  // namespace triad::internal
