// The PostgreSQL event store. How promise 2 holds with writers in several processes
// (docs/postgres.md, "Positions without gaps"): every write transaction first locks the one row
// of `log_head` (SELECT ... FOR UPDATE) and keeps it until it commits. Positions are therefore
// handed out by one transaction at a time, each starting from the head the previous one
// committed; PostgreSQL makes a transaction visible before it releases its locks, so when a
// reader sees position P, every position below P was committed before P was even allocated.
// Positions are dense and commit-ordered by construction, and readers need no fence.
//
// The lock is held only for a few round trips: the transaction buffers its inserts and writes
// them at Commit() in one statement (data-modifying CTEs over unnest of array parameters), after
// Prefetch() fetched the group's streams and client-chosen ids.
#include "postgres/pg_backend.h"

#include "util/connection_pool.h"
#include "util/status_macros.h"

#include <algorithm>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "postgres/pg_commit_channel.h"
#include "postgres/pg_connection.h"
#include "postgres/pg_migrations.h"
#include "postgres/pg_retry.h"
#include "postgres/pg_uri.h"

namespace triad::internal::pg {
namespace {

constexpr size_t kReaderConnections = 8;

constexpr Migration kMigrations[] = {
    {1, "event store tables", R"sql(
CREATE TABLE log_head (
  id       integer PRIMARY KEY CHECK (id = 1),
  position bigint NOT NULL
);
INSERT INTO log_head (id, position) VALUES (1, 0);

CREATE TABLE streams (
  stream_id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  name             text COLLATE "C" NOT NULL UNIQUE,
  category         text COLLATE "C" NOT NULL,
  version          bigint NOT NULL,
  first_position   bigint NOT NULL,
  last_position    bigint NOT NULL,
  last_recorded_at bigint NOT NULL
);
CREATE INDEX streams_by_category ON streams (category, name);

CREATE TABLE events (
  position       bigint PRIMARY KEY,
  id             text COLLATE "C" NOT NULL,
  stream_id      bigint NOT NULL,
  version        bigint NOT NULL,
  type           text COLLATE "C" NOT NULL,
  data           text NOT NULL,
  metadata       text NOT NULL,
  correlation_id text,
  causation_id   text,
  recorded_at    bigint NOT NULL
);
CREATE UNIQUE INDEX events_by_id ON events (id);
CREATE UNIQUE INDEX events_by_stream ON events (stream_id, version);
CREATE INDEX events_by_type ON events (type, position);
CREATE INDEX events_by_correlation ON events (correlation_id) WHERE correlation_id IS NOT NULL;

CREATE TABLE snapshots (
  stream         text COLLATE "C" PRIMARY KEY,
  schema_version integer NOT NULL,
  version        bigint NOT NULL,
  state          text NOT NULL,
  recorded_at    bigint NOT NULL
);
)sql"},
};

// The columns every event read selects, in the order EventAt() decodes them.
constexpr const char* kEventColumns =
    "e.position, e.id, s.name, e.version, e.type, e.data, e.metadata, e.correlation_id, "
    "e.causation_id, e.recorded_at";

EventView ViewAt(const PgResult& r, int row) {
  return EventView{.id = r.Text(row, 1),
                   .stream = r.Text(row, 2),
                   .version = r.Int(row, 3),
                   .position = r.Int(row, 0),
                   .type = r.Text(row, 4),
                   .data = r.Text(row, 5),
                   .metadata = r.Text(row, 6),
                   .correlation_id = r.Text(row, 7),
                   .causation_id = r.Text(row, 8),
                   .recorded_at_us = r.Int(row, 9)};
}

RecordedEvent EventAt(const PgResult& r, int row) {
  const EventView v = ViewAt(r, row);
  return RecordedEvent{.id = std::string(v.id),
                       .stream = std::string(v.stream),
                       .version = v.version,
                       .position = v.position,
                       .type = std::string(v.type),
                       .data = std::string(v.data),
                       .metadata = std::string(v.metadata),
                       .correlation_id = std::string(v.correlation_id),
                       .causation_id = std::string(v.causation_id),
                       .recorded_at_us = v.recorded_at_us};
}

constexpr const char* kStreamColumns =
    "name, category, version, first_position, last_position, last_recorded_at";

StreamInfo StreamAt(const PgResult& r, int row) {
  const StreamVersion version = r.Int(row, 2);
  return StreamInfo{.name = std::string(r.Text(row, 0)),
                    .category = std::string(r.Text(row, 1)),
                    .version = version,
                    .first_position = r.Int(row, 3),
                    .last_position = r.Int(row, 4),
                    .event_count = version + 1,
                    .last_recorded_at_us = r.Int(row, 5)};
}

class PgEventBackend;

const Status& StatusOf(const Status& status) { return status; }
template <typename T>
Status StatusOf(const Result<T>& result) {
  return result.status();
}

// A write transaction. It holds the log_head row lock from BeginWrite() to the end, so it is the
// only writer of the log; it buffers its inserts and writes them at Commit().
class PgWriteTransaction final : public WriteTransaction {
 public:
  PgWriteTransaction(PgEventBackend& backend, PgConnection& conn, Position head)
      : backend_(backend), conn_(conn), next_position_(head + 1) {}
  ~PgWriteTransaction() override;

  Status Prefetch(std::span<const std::string_view> streams,
                  std::span<const std::string_view> event_ids) override {
    std::vector<std::string_view> unknown;
    for (std::string_view s : streams) {
      if (!streams_.contains(std::string(s))) unknown.push_back(s);
    }
    if (!unknown.empty()) {
      TRIAD_ASSIGN_OR_RETURN(
          PgResult rows,
          conn_.QueryPrepared("prefetch_streams",
                              "SELECT name, stream_id, version, first_position FROM streams "
                              "WHERE name = ANY($1)",
                              PgParams().TextArray(unknown)));
      for (std::string_view s : unknown) streams_.try_emplace(std::string(s));
      for (int i = 0; i < rows.rows(); ++i) {
        streams_[std::string(rows.Text(i, 0))] = StreamState{.stream_id = rows.Int(i, 1),
                                                             .version = rows.Int(i, 2),
                                                             .first_position = rows.Int(i, 3)};
      }
    }
    if (!event_ids.empty()) {
      TRIAD_ASSIGN_OR_RETURN(
          PgResult rows,
          conn_.QueryPrepared("prefetch_events",
                              std::string("SELECT ") + kEventColumns +
                                  " FROM events e JOIN streams s ON s.stream_id = e.stream_id "
                                  "WHERE e.id = ANY($1)",
                              PgParams().TextArray(event_ids)));
      for (std::string_view id : event_ids) stored_ids_.try_emplace(std::string(id));
      for (int i = 0; i < rows.rows(); ++i)
        stored_ids_[std::string(rows.Text(i, 1))] = EventAt(rows, i);
    }
    return Status::OK();
  }

  Result<StreamVersion> CurrentVersion(std::string_view stream) override {
    TRIAD_ASSIGN_OR_RETURN(const StreamState* s, LookupStream(stream));
    return s->version;
  }

  Result<std::optional<RecordedEvent>> FindEvent(std::string_view id) override {
    if (auto it = pending_ids_.find(id); it != pending_ids_.end()) {
      return std::optional<RecordedEvent>(PendingAsRecorded(pending_[it->second]));
    }
    const std::string key(id);
    if (auto it = stored_ids_.find(key); it != stored_ids_.end()) return it->second;
    TRIAD_ASSIGN_OR_RETURN(
        PgResult rows,
        conn_.QueryPrepared("find_event",
                            std::string("SELECT ") + kEventColumns +
                                " FROM events e JOIN streams s ON s.stream_id = e.stream_id "
                                "WHERE e.id = $1",
                            PgParams().Text(id)));
    std::optional<RecordedEvent> found;
    if (rows.rows() > 0) found = EventAt(rows, 0);
    stored_ids_.emplace(key, found);
    return found;
  }

  Result<Position> Insert(std::string_view stream, StreamVersion first_version,
                          std::span<const PreparedEvent> events, int64_t recorded_at_us) override {
    TRIAD_ASSIGN_OR_RETURN(const StreamState* current, LookupStream(stream));
    // Refuse an id stored before (known from Prefetch/FindEvent) or earlier in this
    // transaction, as a unique index would; an id never looked up is a generated UUIDv7 and new
    // by construction (a collision would fail the whole commit on the unique index instead).
    for (const PreparedEvent& e : events) {
      const auto stored = stored_ids_.find(e.id);
      if (pending_ids_.contains(e.id) || (stored != stored_ids_.end() && stored->second)) {
        return AlreadyExistsError("event id " + e.id + " is already stored");
      }
    }
    const Position first_position = next_position_;
    StreamState next = *current;
    StreamVersion version = first_version;
    for (const PreparedEvent& e : events) {
      pending_ids_.emplace(e.id, pending_.size());
      pending_.push_back(Pending{.event = &e,
                                 .stream = std::string(stream),
                                 .version = version++,
                                 .position = next_position_++,
                                 .recorded_at_us = recorded_at_us});
    }
    next.version = version - 1;
    if (next.first_position == 0) next.first_position = first_position;
    next.last_position = next_position_ - 1;
    next.last_recorded_at_us = recorded_at_us;
    next.dirty = true;
    SetStream(std::string(stream), next);
    return first_position;
  }

  Status Savepoint() override {
    mark_ = Mark{.pending = pending_.size(), .next_position = next_position_};
    undo_.clear();
    return Status::OK();
  }

  Status RollbackToSavepoint() override {
    for (size_t i = mark_.pending; i < pending_.size(); ++i) {
      pending_ids_.erase(pending_[i].event->id);
    }
    pending_.resize(mark_.pending);
    next_position_ = mark_.next_position;
    for (auto it = undo_.rbegin(); it != undo_.rend(); ++it) {
      streams_.insert_or_assign(std::move(it->first), it->second);
    }
    undo_.clear();
    return Status::OK();
  }

  Status ReleaseSavepoint() override {
    undo_.clear();
    return Status::OK();
  }

  Status Commit() override;

 private:
  struct StreamState {
    int64_t stream_id = 0;  // 0: not in the database yet
    StreamVersion version = kNoStreamVersion;
    Position first_position = 0;
    Position last_position = 0;
    int64_t last_recorded_at_us = 0;
    bool dirty = false;  // changed by this transaction: written at Commit()
  };
  struct Pending {
    const PreparedEvent* event;
    std::string stream;
    StreamVersion version;
    Position position;
    int64_t recorded_at_us;
  };
  struct Mark {
    size_t pending = 0;
    Position next_position = 0;
  };

  Result<const StreamState*> LookupStream(std::string_view stream) {
    const std::string key(stream);
    if (auto it = streams_.find(key); it != streams_.end()) return &it->second;
    TRIAD_ASSIGN_OR_RETURN(
        PgResult rows, conn_.QueryPrepared("stream_version",
                                           "SELECT stream_id, version, first_position FROM streams "
                                           "WHERE name = $1",
                                           PgParams().Text(stream)));
    StreamState state;
    if (rows.rows() > 0) {
      state = StreamState{
          .stream_id = rows.Int(0, 0), .version = rows.Int(0, 1), .first_position = rows.Int(0, 2)};
    }
    return &streams_.emplace(key, state).first->second;
  }

  void SetStream(const std::string& key, const StreamState& state) {
    auto it = streams_.find(key);
    undo_.emplace_back(key, it->second);
    it->second = state;
  }

  RecordedEvent PendingAsRecorded(const Pending& p) const {
    return RecordedEvent{.id = p.event->id,
                         .stream = p.stream,
                         .version = p.version,
                         .position = p.position,
                         .type = p.event->type,
                         .data = p.event->data,
                         .metadata = p.event->metadata,
                         .correlation_id = p.event->correlation_id,
                         .causation_id = p.event->causation_id,
                         .recorded_at_us = p.recorded_at_us};
  }

  // Writes the buffered streams and events.
  Status Flush();

  PgEventBackend& backend_;
  PgConnection& conn_;
  Position next_position_;
  bool committed_ = false;
  std::unordered_map<std::string, StreamState> streams_;
  // Ids looked up: the stored event, or nullopt when none is stored.
  std::unordered_map<std::string, std::optional<RecordedEvent>> stored_ids_;
  std::vector<Pending> pending_;
  std::unordered_map<std::string_view, size_t> pending_ids_;  // views into pending_ events
  Mark mark_;
  std::vector<std::pair<std::string, StreamState>> undo_;
};

// One statement writes the whole group: new streams (with their final summaries), summary
// updates of existing streams, the events (new streams' ids joined from the first CTE) and the
// head. Data-modifying CTEs share one snapshot, hence the join rather than a lookup.
constexpr const char* kWriteGroupSql = R"sql(
WITH new_streams AS (
  INSERT INTO streams (name, category, version, first_position, last_position, last_recorded_at)
  SELECT * FROM unnest($1::text[], $2::text[], $3::int8[], $4::int8[], $5::int8[], $6::int8[])
  RETURNING name, stream_id
), updated AS (
  UPDATE streams s SET version = u.v, first_position = u.f, last_position = u.l,
                       last_recorded_at = u.t
  FROM unnest($7::int8[], $8::int8[], $9::int8[], $10::int8[], $11::int8[]) AS u(id, v, f, l, t)
  WHERE s.stream_id = u.id
), inserted AS (
  INSERT INTO events (position, id, stream_id, version, type, data, metadata, correlation_id,
                      causation_id, recorded_at)
  SELECT u.p, u.id, coalesce(n.stream_id, u.sid), u.v, u.ty, u.d, u.m, u.c, u.ca, u.r
  FROM unnest($12::int8[], $13::text[], $14::int8[], $15::text[], $16::int8[], $17::text[],
              $18::text[], $19::text[], $20::text[], $21::text[], $22::int8[])
       AS u(p, id, sid, sname, v, ty, d, m, c, ca, r)
  LEFT JOIN new_streams n ON n.name = u.sname
), head AS (
  UPDATE log_head SET position = $23 WHERE id = 1
)
SELECT 1
)sql";

Status PgWriteTransaction::Flush() {
  if (pending_.empty()) return Status::OK();
  std::vector<std::string_view> new_names, new_categories;
  std::vector<int64_t> new_versions, new_first, new_last, new_at;
  std::vector<int64_t> s_ids, s_versions, s_first, s_last, s_at;
  for (const auto& [name, state] : streams_) {
    if (!state.dirty) continue;
    if (state.stream_id == 0) {
      new_names.push_back(name);
      new_categories.push_back(CategoryOf(name));
      new_versions.push_back(state.version);
      new_first.push_back(state.first_position);
      new_last.push_back(state.last_position);
      new_at.push_back(state.last_recorded_at_us);
    } else {
      s_ids.push_back(state.stream_id);
      s_versions.push_back(state.version);
      s_first.push_back(state.first_position);
      s_last.push_back(state.last_position);
      s_at.push_back(state.last_recorded_at_us);
    }
  }
  const size_t n = pending_.size();
  std::vector<int64_t> positions(n), stream_ids(n), versions(n), recorded(n);
  std::vector<std::string_view> ids(n), stream_names(n), types(n), data(n), metadata(n),
      correlation(n), causation(n);
  for (size_t i = 0; i < n; ++i) {
    const Pending& p = pending_[i];
    positions[i] = p.position;
    stream_ids[i] = streams_.at(p.stream).stream_id;  // 0 for a new stream: joined by name
    stream_names[i] = p.stream;
    versions[i] = p.version;
    recorded[i] = p.recorded_at_us;
    ids[i] = p.event->id;
    types[i] = p.event->type;
    data[i] = p.event->data;
    metadata[i] = p.event->metadata;
    correlation[i] = p.event->correlation_id;
    causation[i] = p.event->causation_id;
  }
  PgParams params;
  params.TextArray(new_names)
      .TextArray(new_categories)
      .IntArray(new_versions)
      .IntArray(new_first)
      .IntArray(new_last)
      .IntArray(new_at)
      .IntArray(s_ids)
      .IntArray(s_versions)
      .IntArray(s_first)
      .IntArray(s_last)
      .IntArray(s_at)
      .IntArray(positions)
      .TextArray(ids)
      .IntArray(stream_ids)
      .TextArray(stream_names)
      .IntArray(versions)
      .TextArray(types)
      .TextArray(data)
      .TextArray(metadata)
      .TextArray(correlation, /*empty_is_null=*/true)
      .TextArray(causation, /*empty_is_null=*/true)
      .IntArray(recorded)
      .Int(next_position_ - 1);
  return conn_.QueryPrepared("write_group", kWriteGroupSql, params)
      .status()
      .Annotate("writing " + std::to_string(n) + " events");
}

class PgEventBackend final : public Backend {
 public:
  PgEventBackend(const Options& options, PgTarget target)
      : options_(options),
        target_(std::move(target)),
        readers_(
            kReaderConnections,
            [this] { return ConnectWithBackoff([this] { return Connect(/*writer=*/false); }); },
            [](const PgConnection& c) { return c.Healthy(); }) {}

  Status Initialize() {
    const bool create = !options_.read_only && options_.create_if_missing;
    // A shorter budget than later reconnects: whoever opens the store (a CLI, a starting node)
    // learns of an unreachable server within seconds.
    TRIAD_ASSIGN_OR_RETURN(auto conn,
                           ConnectWithBackoff([&] { return PgConnection::Open(target_, create); },
                                              std::chrono::milliseconds(3'000)));
    TRIAD_RETURN_IF_ERROR(Migrate(*conn, "event store", kMigrations, options_.read_only));
    // The writer connects on the first write, with its own settings (Connect).
    channel_ = std::make_unique<PgCommitChannel>(target_, [this](Position head) {
      std::lock_guard lock(watch_mu_);
      if (watcher_) watcher_(head);
    });
    return Status::OK();
  }

  Result<std::unique_ptr<WriteTransaction>> BeginWrite() override {
    if (options_.read_only) return FailedPreconditionError("the store is open read-only");
    std::unique_lock lock(writer_mu_);
    while (writer_busy_) writer_cv_.wait(lock);
    writer_busy_ = true;
    lock.unlock();
    auto head = StartWrite();
    if (!head.ok()) {
      EndWrite(false);
      return head.status().Annotate("starting a write");
    }
    return std::unique_ptr<WriteTransaction>(new PgWriteTransaction(*this, *writer_, *head));
  }

  bool SurvivesFailedCommit() const override { return true; }

  bool WatchExternalCommits(std::function<void(Position head)> on_commit) override {
    std::lock_guard lock(watch_mu_);
    watcher_ = std::move(on_commit);
    return true;
  }

  // Called after a commit: other nodes hear of it through the channel.
  void Committed(Position head) {
    if (channel_ != nullptr) channel_->Notify(head);
  }

  // Called when a transaction object is destroyed; rolls back if it did not commit.
  void EndWrite(bool committed) {
    if (!committed && writer_ != nullptr) {
      if (!writer_->Exec("ROLLBACK").ok() || !writer_->Healthy()) writer_.reset();
    }
    std::lock_guard lock(writer_mu_);
    writer_busy_ = false;
    writer_cv_.notify_all();
  }

  Result<std::vector<RecordedEvent>> ReadStream(std::string_view stream,
                                                const ReadStreamOptions& o) override {
    const bool forward = o.direction == ReadDirection::kForward;
    const std::string sql =
        std::string("SELECT ") + kEventColumns +
        " FROM streams s JOIN events e ON e.stream_id = s.stream_id WHERE s.name = $1 AND " +
        (forward ? "e.version >= $2 ORDER BY e.version"
                 : "e.version <= $2 ORDER BY e.version DESC") +
        " LIMIT $3";
    return ReadRows(forward ? "read_stream_fwd" : "read_stream_bwd", sql,
                    PgParams()
                        .Text(stream)
                        .Int(o.from_version.value_or(forward ? 0 : INT64_MAX))
                        .Int(Limit(o.limit)),
                    EventAt);
  }

  Result<std::vector<RecordedEvent>> ReadAll(const ReadAllOptions& o) override {
    std::vector<RecordedEvent> out;
    TRIAD_RETURN_IF_ERROR(ScanLog(o, [&](const PgResult& r) {
                            out.reserve(static_cast<size_t>(r.rows()));
                            for (int i = 0; i < r.rows(); ++i) out.push_back(EventAt(r, i));
                          }).status());
    return out;
  }

  Result<int64_t> ScanAll(const ReadAllOptions& o, const EventVisitor& visit) override {
    int64_t visited = 0;
    TRIAD_RETURN_IF_ERROR(ScanLog(o, [&](const PgResult& r) {
                            for (int i = 0; i < r.rows(); ++i) {
                              ++visited;
                              if (!visit(ViewAt(r, i))) break;
                            }
                          }).status());
    return visited;
  }

  Result<Position> HeadPosition() override {
    TRIAD_ASSIGN_OR_RETURN(auto rows,
                           ReadRows("head", "SELECT position FROM log_head", PgParams(),
                                    [](const PgResult& r, int i) { return r.Int(i, 0); }));
    return rows.empty() ? 0 : rows.front();
  }

  Result<std::optional<StreamInfo>> GetStreamInfo(std::string_view stream) override {
    TRIAD_ASSIGN_OR_RETURN(auto rows, ReadRows("stream_info",
                                               std::string("SELECT ") + kStreamColumns +
                                                   " FROM streams WHERE name = $1 AND version >= 0",
                                               PgParams().Text(stream), StreamAt));
    if (rows.empty()) return std::optional<StreamInfo>();
    return std::optional<StreamInfo>(std::move(rows.front()));
  }

  Result<std::vector<StreamInfo>> ListStreams(const ListStreamsOptions& o) override {
    // starts_with() compares under the column's "C" collation: byte-wise, like SQLite's substr.
    return ReadRows("list_streams",
                    std::string("SELECT ") + kStreamColumns +
                        " FROM streams WHERE version >= 0 AND name > $1 AND ($2 = '' OR "
                        "starts_with(name, $2)) AND ($3 = '' OR category = $3) ORDER BY name "
                        "LIMIT $4",
                    PgParams().Text(o.after).Text(o.prefix).Text(o.category).Int(Limit(o.limit)),
                    StreamAt);
  }

  Status SaveSnapshot(const Snapshot& snapshot) override {
    if (options_.read_only) return FailedPreconditionError("the store is open read-only");
    return WithReader([&](PgConnection& conn) -> Status {
      return conn
          .QueryPrepared(
              "save_snapshot",
              "INSERT INTO snapshots (stream, schema_version, version, state, recorded_at) "
              "VALUES ($1, $2, $3, $4, $5) ON CONFLICT (stream) DO UPDATE SET schema_version = "
              "excluded.schema_version, version = excluded.version, state = excluded.state, "
              "recorded_at = excluded.recorded_at WHERE excluded.version >= snapshots.version "
              "OR excluded.schema_version <> snapshots.schema_version",
              PgParams()
                  .Text(snapshot.stream)
                  .Int4(snapshot.schema_version)
                  .Int(snapshot.version)
                  .Text(snapshot.state)
                  .Int(snapshot.recorded_at_us))
          .status()
          .Annotate("saving snapshot");
    });
  }

  Result<std::optional<Snapshot>> LoadSnapshot(std::string_view stream) override {
    TRIAD_ASSIGN_OR_RETURN(
        auto rows, ReadRows("load_snapshot",
                            "SELECT stream, schema_version, version, state, recorded_at "
                            "FROM snapshots WHERE stream = $1",
                            PgParams().Text(stream), [](const PgResult& r, int i) {
                              return Snapshot{.stream = std::string(r.Text(i, 0)),
                                              .schema_version = static_cast<int32_t>(r.Int(i, 1)),
                                              .version = r.Int(i, 2),
                                              .state = std::string(r.Text(i, 3)),
                                              .recorded_at_us = r.Int(i, 4)};
                            }));
    if (rows.empty()) return std::optional<Snapshot>();
    return std::optional<Snapshot>(std::move(rows.front()));
  }

  Result<BackendStats> Stats() override {
    TRIAD_ASSIGN_OR_RETURN(
        auto rows,
        ReadRows("stats",
                 "SELECT (SELECT position FROM log_head), "
                 "(SELECT coalesce(sum(version + 1), 0) FROM streams), "
                 "(SELECT count(*) FROM streams WHERE version >= 0), "
                 "(SELECT count(*) FROM snapshots), "
                 "(SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0) FROM pg_class c JOIN "
                 "pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = current_schema() "
                 "AND c.relkind = 'r')",
                 PgParams(), [](const PgResult& r, int i) {
                   return BackendStats{.head_position = r.Int(i, 0),
                                       .event_count = r.Int(i, 1),
                                       .stream_count = r.Int(i, 2),
                                       .snapshot_count = r.Int(i, 3),
                                       .storage_bytes = r.Int(i, 4)};
                 }));
    return rows.front();
  }

  Result<std::vector<std::string>> CheckStorage() override {
    // Promise 2 in storage: positions 1..head, each once; every event in a stream; every stream
    // summary agreeing with its events.
    TRIAD_ASSIGN_OR_RETURN(
        auto rows,
        ReadRows("check",
                 "SELECT (SELECT position FROM log_head), count(*), coalesce(min(position), 0), "
                 "coalesce(max(position), 0), "
                 "(SELECT count(*) FROM events e WHERE NOT EXISTS (SELECT 1 FROM streams s "
                 "WHERE s.stream_id = e.stream_id)), "
                 "(SELECT count(*) FROM streams s WHERE s.version >= 0 AND s.version + 1 <> "
                 "(SELECT count(*) FROM events e WHERE e.stream_id = s.stream_id)) FROM events",
                 PgParams(), [](const PgResult& r, int i) {
                   return std::vector<int64_t>{r.Int(i, 0), r.Int(i, 1), r.Int(i, 2),
                                               r.Int(i, 3), r.Int(i, 4), r.Int(i, 5)};
                 }));
    const std::vector<int64_t>& v = rows.front();
    std::vector<std::string> problems;
    const int64_t head = v[0], count = v[1], min = v[2], max = v[3];
    if (max != head) {
      problems.push_back("log_head is " + std::to_string(head) + " but the last event is at " +
                         std::to_string(max));
    }
    if (count != max || (count > 0 && min != 1)) {
      problems.push_back("positions are not dense: " + std::to_string(count) +
                         " events between positions " + std::to_string(min) + " and " +
                         std::to_string(max));
    }
    if (v[4] > 0) problems.push_back(std::to_string(v[4]) + " events belong to no stream row");
    if (v[5] > 0) {
      problems.push_back(std::to_string(v[5]) + " stream summaries disagree with their events");
    }
    return problems;
  }

  std::string Describe() const override {
    return target_.display + (target_.display.find("schema=") == std::string::npos
                                  ? " (schema " + target_.schema + ")"
                                  : "");
  }

 private:
  friend class PgWriteTransaction;

  static int64_t Limit(size_t limit) {
    return static_cast<int64_t>(std::min<size_t>(limit, INT64_MAX));
  }

  // Plans are the trap of prepared statements here: a generic plan chosen while a table was tiny
  // (a sequential scan of `streams` hashed against the group's rows) stays cached on the
  // connection as the table grows. Every statement the writer runs touches a few rows by key, so
  // it is told never to scan or hash; readers plan each query for its actual parameters.
  Result<std::unique_ptr<PgConnection>> Connect(bool writer) {
    TRIAD_ASSIGN_OR_RETURN(auto conn, PgConnection::Open(target_, /*create_schema=*/false));
    if (options_.durability == Durability::kRelaxed) {
      TRIAD_RETURN_IF_ERROR(conn->Exec("SET synchronous_commit = off"));
    }
    TRIAD_RETURN_IF_ERROR(conn->Exec(writer
                                         ? "SET enable_seqscan = off; SET enable_hashjoin = off; "
                                           "SET enable_mergejoin = off"
                                         : "SET plan_cache_mode = force_custom_plan"));
    return conn;
  }

  // BEGIN on the writer (reconnecting when the connection was lost) and lock the head row.
  // Returns the head the transaction starts from.
  Result<Position> StartWrite() {
    for (int attempt = 0;; ++attempt) {
      if (writer_ == nullptr || !writer_->Healthy()) {
        writer_.reset();
        TRIAD_ASSIGN_OR_RETURN(writer_,
                               ConnectWithBackoff([this] { return Connect(/*writer=*/true); }));
      }
      // One round trip for both; the lock on the head row is what serializes writers.
      auto head = writer_->ExecLast("BEGIN; SELECT position FROM log_head WHERE id = 1 FOR UPDATE");
      if (head.ok() && head->rows() == 1) return head->Int(0, 0);
      Status s = head.ok() ? DataLossError("log_head has no row") : head.status();
      // A connection that broke since its last use fails here first; one fresh try.
      if (s.code() != StatusCode::kUnavailable || attempt > 0) {
        if (writer_ != nullptr) writer_->Exec("ROLLBACK").IgnoreError();
        return s;
      }
      writer_.reset();
    }
  }

  // Runs `fn` on a pooled connection; retries once on a fresh one when the pooled connection
  // turns out to be broken (the server restarted since it was last used: then every idle
  // connection is broken too, so the pool is emptied).
  template <typename Fn>
  auto WithReader(Fn fn) -> decltype(fn(std::declval<PgConnection&>())) {
    for (int attempt = 0;; ++attempt) {
      auto lease = readers_.Acquire();
      if (!lease.ok()) return lease.status();
      auto result = fn(**lease);
      if (StatusOf(result).ok() || attempt > 0 ||
          StatusOf(result).code() != StatusCode::kUnavailable) {
        return result;
      }
      readers_.Clear();
    }
  }

  // Runs a prepared read and decodes every row with `decode(result, row)`.
  template <typename Decode>
  auto ReadRows(const std::string& name, const std::string& sql, const PgParams& params,
                Decode decode)
      -> Result<std::vector<decltype(decode(std::declval<PgResult&>(), 0))>> {
    using T = decltype(decode(std::declval<PgResult&>(), 0));
    return WithReader([&](PgConnection& conn) -> Result<std::vector<T>> {
      TRIAD_ASSIGN_OR_RETURN(PgResult r, conn.QueryPrepared(name, sql, params));
      std::vector<T> out;
      out.reserve(static_cast<size_t>(r.rows()));
      for (int i = 0; i < r.rows(); ++i) out.push_back(decode(r, i));
      return out;
    });
  }

  // Runs the log query for `o` and hands its result to `consume`.
  template <typename Consume>
  Result<int64_t> ScanLog(const ReadAllOptions& o, Consume consume) {
    std::string sql = std::string("SELECT ") + kEventColumns +
                      " FROM events e JOIN streams s ON s.stream_id = e.stream_id"
                      " WHERE e.position >= $1";
    std::string name = "log";
    std::vector<std::string_view> types(o.types.begin(), o.types.end());
    std::vector<std::string_view> categories(o.categories.begin(), o.categories.end());
    PgParams params;
    params.Int(o.from_position).Int(Limit(o.limit));
    int next = 3;
    if (!types.empty()) {
      sql += " AND e.type = ANY($" + std::to_string(next++) + ")";
      params.TextArray(types);
      name += "_t";
    }
    if (!categories.empty()) {
      sql += " AND s.category = ANY($" + std::to_string(next++) + ")";
      params.TextArray(categories);
      name += "_c";
    }
    sql += " ORDER BY e.position LIMIT $2";
    return WithReader([&](PgConnection& conn) -> Result<int64_t> {
      TRIAD_ASSIGN_OR_RETURN(PgResult r, conn.QueryPrepared(name, sql, params));
      consume(r);
      return static_cast<int64_t>(r.rows());
    });
  }

  const Options options_;
  const PgTarget target_;
  std::unique_ptr<PgConnection> writer_;  // used only by the open transaction
  std::mutex writer_mu_;
  std::condition_variable writer_cv_;
  bool writer_busy_ = false;  // guarded by writer_mu_
  ConnectionPool<PgConnection> readers_;
  std::mutex watch_mu_;
  std::function<void(Position)> watcher_;  // guarded by watch_mu_
  // Declared last: destroyed first, so its listener thread stops before what it calls into.
  std::unique_ptr<PgCommitChannel> channel_;
};

PgWriteTransaction::~PgWriteTransaction() { backend_.EndWrite(committed_); }

Status PgWriteTransaction::Commit() {
  Status s = Flush();
  if (s.ok()) s = conn_.Exec("COMMIT");
  if (s.ok()) {
    committed_ = true;
    if (!pending_.empty()) backend_.Committed(next_position_ - 1);
  }
  return s;
}

}  // namespace

Result<std::unique_ptr<Backend>> OpenPostgresBackend(const Options& options, std::string_view uri) {
  TRIAD_ASSIGN_OR_RETURN(PgTarget target, ParsePostgresUri(uri));
  auto backend = std::make_unique<PgEventBackend>(options, target);
  if (Status s = backend->Initialize(); !s.ok()) {
    return s.Annotate("opening store " + target.display);
  }
  return std::unique_ptr<Backend>(std::move(backend));
}

}  // namespace triad::internal::pg
