#include "postgres/pg_group_store.h"

#include "util/status_macros.h"

#include <array>
#include <functional>
#include <libpq-fe.h>
#include <memory>
#include <string>
#include <type_traits>
#include <unordered_set>
#include <utility>
#include <vector>

#include "groups/group_settings.h"
#include "postgres/pg_commit_channel.h"
#include "postgres/pg_connection.h"
#include "postgres/pg_migrations.h"
#include "postgres/pg_uri.h"

namespace triad::internal::pg {
namespace {

using groups::GroupChanges;
using groups::StoredGroup;

// Names and members are compared and ordered byte-wise (COLLATE "C"), as in SQLite, whatever the
// database's default collation: ListNames() must order names the same way on every node.
constexpr std::array kGroupMigrations = {
    Migration{1, "consumer-group tables", R"sql(
-- Each group created takes a generation; its versions start at (generation - 1) * 2^32 + 1, so a
-- group deleted and created again never shows a version a node may still have cached.
CREATE SEQUENCE cg_generations;
CREATE TABLE cg_groups (
  name       text COLLATE "C" PRIMARY KEY,
  settings   text NOT NULL,
  checkpoint bigint NOT NULL,
  created_at bigint NOT NULL,
  version    bigint NOT NULL
);
CREATE TABLE cg_acks (
  grp      text COLLATE "C" NOT NULL REFERENCES cg_groups (name) ON DELETE CASCADE,
  position bigint NOT NULL,
  PRIMARY KEY (grp, position)
);
CREATE TABLE cg_messages (
  grp      text COLLATE "C" NOT NULL REFERENCES cg_groups (name) ON DELETE CASCADE,
  position bigint NOT NULL,
  attempts integer NOT NULL,
  member   text COLLATE "C" NOT NULL,
  due_us   bigint NOT NULL,
  PRIMARY KEY (grp, position)
);
CREATE TABLE cg_parked (
  grp        text COLLATE "C" NOT NULL REFERENCES cg_groups (name) ON DELETE CASCADE,
  position   bigint NOT NULL,
  stream     text NOT NULL,
  type       text NOT NULL,
  attempts   integer NOT NULL,
  last_error text NOT NULL,
  parked_at  bigint NOT NULL,
  replaying  boolean NOT NULL,
  PRIMARY KEY (grp, position)
);
CREATE TABLE cg_members (
  grp              text COLLATE "C" NOT NULL REFERENCES cg_groups (name) ON DELETE CASCADE,
  member           text COLLATE "C" NOT NULL,
  last_seen_us     bigint NOT NULL,
  polling_until_us bigint NOT NULL,
  PRIMARY KEY (grp, member)
);
-- Vacuumed after every 1,000 dead rows instead of a fifth of the table: the live rows are few,
-- the churn is constant (the comment on kSessionSettings).
ALTER TABLE cg_acks SET (autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 1000);
ALTER TABLE cg_messages SET (autovacuum_vacuum_scale_factor = 0,
                             autovacuum_vacuum_threshold = 1000);
ALTER TABLE cg_members SET (autovacuum_vacuum_scale_factor = 0,
                            autovacuum_vacuum_threshold = 1000);
)sql"},
};

// A node that stops in the middle of an operation (hung, or cut off from its clients but not
// from the server) would hold the group's row lock and stall every other node on that group;
// the server ends such a session after this long. An operation holds the lock only while it
// reads the log into the group's window, far below it.
//
// Every ack deletes a cg_messages row and inserts a cg_acks row, and each checkpoint move deletes
// acks: these small tables churn, and until vacuum their indexes keep thousands of dead entries
// per live row. Plain index scans mark dead entries as they pass (later scans skip them);
// bitmap scans do not, and made loading a group's 200 rows cost 7 ms in triad_pg_bench.
constexpr const char* kSessionSettings =
    "SET idle_in_transaction_session_timeout = '60s'; SET enable_bitmapscan = off";

// A group's whole state in one statement (one round trip, one snapshot): every row of the group
// and its children, tagged by kind and ordered so that the group row comes first. Columns:
// grp, kind, position, a, b, c, i1, i2, f.
#define TRIAD_GROUP_ROWS(FILTER_GROUP, FILTER_CHILD)                                              \
  "SELECT * FROM ("                                                                               \
  "SELECT name AS grp, 0 AS kind, 0::bigint AS position, settings AS a, NULL::text AS b, "        \
  "NULL::text AS c, checkpoint AS i1, created_at AS i2, false AS f FROM cg_groups " FILTER_GROUP  \
  " UNION ALL SELECT grp, 1, position, NULL, NULL, NULL, 0, 0, false FROM cg_acks " FILTER_CHILD  \
  " UNION ALL SELECT grp, 2, position, member, NULL, NULL, attempts, due_us, false "              \
  "FROM cg_messages " FILTER_CHILD                                                                \
  " UNION ALL SELECT grp, 3, position, stream, type, last_error, attempts, parked_at, replaying " \
  "FROM cg_parked " FILTER_CHILD                                                                  \
  " UNION ALL SELECT grp, 4, 0, member, NULL, NULL, last_seen_us, polling_until_us, false "       \
  "FROM cg_members " FILTER_CHILD                                                                 \
  ") AS u ORDER BY grp COLLATE \"C\", kind, position, a COLLATE \"C\""

enum RowKind : int64_t { kGroupRow = 0, kAckRow, kMessageRow, kParkedRow, kMemberRow };

// Folds the rows of TRIAD_GROUP_ROWS into groups. Errors: kDataLoss (unreadable settings, or
// child rows without their group row, which the foreign keys rule out).
Result<std::vector<StoredGroup>> GroupsFromRows(const PgResult& rows) {
  std::vector<StoredGroup> out;
  for (int i = 0; i < rows.rows(); ++i) {
    const std::string_view grp = rows.Text(i, 0);
    const int64_t kind = rows.Int(i, 1);
    const Position position = rows.Int(i, 2);
    const std::string_view a = rows.Text(i, 3);
    if (kind == kGroupRow) {
      StoredGroup g;
      g.name = std::string(grp);
      auto settings = groups::SettingsFromJson(a);
      if (!settings.ok()) return settings.status().Annotate("consumer group '" + g.name + "'");
      g.settings = std::move(*settings);
      g.checkpoint = rows.Int(i, 6);
      g.created_at_us = rows.Int(i, 7);
      out.push_back(std::move(g));
      continue;
    }
    if (out.empty() || out.back().name != grp) {
      return DataLossError("consumer group '" + std::string(grp) + "' has rows but no group row");
    }
    StoredGroup& g = out.back();
    switch (kind) {
      case kAckRow:
        g.acked.insert(position);
        break;
      case kMessageRow:
        g.messages[position] = groups::StoredMessage{
            .attempts = static_cast<int32_t>(rows.Int(i, 6)),
            .member = std::string(a),
            .due_us = rows.Int(i, 7),
        };
        break;
      case kParkedRow:
        g.parked.emplace_back(ParkedMessage{.position = position,
                                            .stream = std::string(a),
                                            .type = std::string(rows.Text(i, 4)),
                                            .attempts = static_cast<int32_t>(rows.Int(i, 6)),
                                            .last_error = std::string(rows.Text(i, 5)),
                                            .parked_at_us = rows.Int(i, 7)},
                              rows.Bool(i, 8));
        break;
      case kMemberRow:
        g.members[std::string(a)] = groups::StoredMember{.last_seen_us = rows.Int(i, 6),
                                                         .polling_until_us = rows.Int(i, 7)};
        break;
      default:
        return InternalError("unexpected row kind " + std::to_string(kind));
    }
  }
  return out;
}

// The indexes of the last entry for each key of `entries`: an INSERT … ON CONFLICT DO UPDATE
// fails when one statement proposes the same key twice, and in GroupChanges the later entry wins.
template <typename Entries, typename KeyOf>
std::vector<size_t> LastPerKey(const Entries& entries, KeyOf key_of) {
  std::vector<size_t> out;
  out.reserve(entries.size());
  std::unordered_set<std::decay_t<decltype(key_of(entries[0]))>> seen;
  for (size_t i = entries.size(); i-- > 0;) {
    if (seen.insert(key_of(entries[i])).second) out.push_back(i);
  }
  return out;
}

// `value` as an SQL string literal, for the statements sent with the simple query protocol
// (which takes no parameters but lets COMMIT share the round trip).
// Errors: kInvalidArgument (not valid in the connection's encoding).
Result<std::string> Literal(PgConnection& conn, std::string_view value) {
  char* escaped = PQescapeLiteral(conn.raw(), value.data(), value.size());
  if (escaped == nullptr) {
    return InvalidArgumentError("postgres: cannot quote '" + std::string(value) +
                                "': " + PQerrorMessage(conn.raw()));
  }
  std::string out(escaped);
  PQfreemem(escaped);
  return out;
}

// Writes `changes` of group `name` except the group row, in GroupFile::Apply's order (message
// upserts, acks, parks, replays, unparks; members last). Each kind of change is one statement
// over arrays, whatever the number of rows. REQUIRES: inside a transaction holding the group row.
Status ApplyRows(PgConnection& conn, std::string_view name, const GroupChanges& changes) {
  if (!changes.messages.empty()) {
    const std::vector<size_t> last =
        LastPerKey(changes.messages, [](const auto& entry) { return entry.first; });
    std::vector<int64_t> positions, attempts, dues;
    std::vector<std::string_view> members;
    for (size_t i : last) {
      const auto& [position, message] = changes.messages[i];
      positions.push_back(position);
      attempts.push_back(message.attempts);
      members.push_back(message.member);
      dues.push_back(message.due_us);
    }
    TRIAD_RETURN_IF_ERROR(
        conn.QueryPrepared(
                "cg_messages_put",
                "INSERT INTO cg_messages (grp, position, attempts, member, due_us) "
                "SELECT $1, p, a, m, d FROM unnest($2::bigint[], $3::bigint[], $4::text[], "
                "$5::bigint[]) AS u (p, a, m, d) "
                "ON CONFLICT (grp, position) DO UPDATE SET attempts = excluded.attempts, "
                "member = excluded.member, due_us = excluded.due_us",
                PgParams()
                    .Text(name)
                    .IntArray(positions)
                    .IntArray(attempts)
                    .TextArray(members)
                    .IntArray(dues))
            .status()
            .Annotate("storing message states"));
  }
  if (!changes.acked.empty()) {
    // The message rows and the acks are in different tables: one statement does both.
    TRIAD_RETURN_IF_ERROR(
        conn.QueryPrepared("cg_acked",
                           "WITH gone AS (DELETE FROM cg_messages WHERE grp = $1 AND "
                           "position = ANY($2::bigint[])) "
                           "INSERT INTO cg_acks (grp, position) SELECT $1, p FROM "
                           "unnest($2::bigint[]) AS p WHERE p > $3 ON CONFLICT DO NOTHING",
                           PgParams().Text(name).IntArray(changes.acked).Int(changes.checkpoint))
            .status()
            .Annotate("storing acks"));
  }
  if (!changes.parked.empty()) {
    const std::vector<size_t> last =
        LastPerKey(changes.parked, [](const ParkedMessage& m) { return m.position; });
    std::vector<int64_t> positions, attempts, parked_at;
    std::vector<std::string_view> streams, types, errors;
    for (size_t i : last) {
      const ParkedMessage& m = changes.parked[i];
      positions.push_back(m.position);
      streams.push_back(m.stream);
      types.push_back(m.type);
      attempts.push_back(m.attempts);
      errors.push_back(m.last_error);
      parked_at.push_back(m.parked_at_us);
    }
    TRIAD_RETURN_IF_ERROR(
        conn.QueryPrepared(
                "cg_park",
                "WITH gone AS (DELETE FROM cg_messages WHERE grp = $1 AND "
                "position = ANY($2::bigint[])) "
                "INSERT INTO cg_parked (grp, position, stream, type, attempts, last_error, "
                "parked_at, replaying) SELECT $1, p, s, t, a, e, w, false FROM "
                "unnest($2::bigint[], $3::text[], $4::text[], $5::bigint[], $6::text[], "
                "$7::bigint[]) AS u (p, s, t, a, e, w) "
                "ON CONFLICT (grp, position) DO UPDATE SET stream = excluded.stream, "
                "type = excluded.type, attempts = excluded.attempts, "
                "last_error = excluded.last_error, parked_at = excluded.parked_at, "
                "replaying = false",
                PgParams()
                    .Text(name)
                    .IntArray(positions)
                    .TextArray(streams)
                    .TextArray(types)
                    .IntArray(attempts)
                    .TextArray(errors)
                    .IntArray(parked_at))
            .status()
            .Annotate("parking messages"));
  }
  if (!changes.replayed.empty()) {
    TRIAD_RETURN_IF_ERROR(conn.QueryPrepared("cg_replayed",
                                             "UPDATE cg_parked SET replaying = true WHERE grp = $1 "
                                             "AND position = ANY($2::bigint[])",
                                             PgParams().Text(name).IntArray(changes.replayed))
                              .status()
                              .Annotate("replaying parked messages"));
  }
  if (!changes.unparked.empty()) {
    TRIAD_RETURN_IF_ERROR(
        conn.QueryPrepared("cg_unparked",
                           "DELETE FROM cg_parked WHERE grp = $1 AND position = ANY($2::bigint[])",
                           PgParams().Text(name).IntArray(changes.unparked))
            .status()
            .Annotate("deleting replayed messages"));
  }
  if (!changes.members.empty()) {
    const std::vector<size_t> last = LastPerKey(
        changes.members, [](const auto& entry) { return std::string_view(entry.first); });
    std::vector<std::string_view> names;
    std::vector<int64_t> seen, polling;
    for (size_t i : last) {
      names.push_back(changes.members[i].first);
      seen.push_back(changes.members[i].second.last_seen_us);
      polling.push_back(changes.members[i].second.polling_until_us);
    }
    TRIAD_RETURN_IF_ERROR(
        conn.QueryPrepared("cg_members_put",
                           "INSERT INTO cg_members (grp, member, last_seen_us, polling_until_us) "
                           "SELECT $1, m, s, p FROM unnest($2::text[], $3::bigint[], "
                           "$4::bigint[]) AS u (m, s, p) "
                           "ON CONFLICT (grp, member) DO UPDATE SET "
                           "last_seen_us = excluded.last_seen_us, "
                           "polling_until_us = excluded.polling_until_us",
                           PgParams().Text(name).TextArray(names).IntArray(seen).IntArray(polling))
            .status()
            .Annotate("storing members"));
  }
  if (!changes.members_gone.empty()) {
    std::vector<std::string_view> names(changes.members_gone.begin(), changes.members_gone.end());
    TRIAD_RETURN_IF_ERROR(
        conn.QueryPrepared("cg_members_gone",
                           "DELETE FROM cg_members WHERE grp = $1 AND member = ANY($2::text[])",
                           PgParams().Text(name).TextArray(names))
            .status()
            .Annotate("deleting members"));
  }
  return Status::OK();
}

// The statements, ending in "; ", that finish applying `changes` to the group row: the moved
// checkpoint (its acks trimmed) and the version bump. Sent with the simple query protocol so that
// a GroupLock's COMMIT rides in the same round trip.
Result<std::string> GroupRowSql(PgConnection& conn, std::string_view name,
                                const GroupChanges& changes) {
  TRIAD_ASSIGN_OR_RETURN(const std::string literal, Literal(conn, name));
  std::string sql;
  if (changes.checkpoint_moved) {
    sql += "DELETE FROM cg_acks WHERE grp = " + literal +
           " AND position <= " + std::to_string(changes.checkpoint) + "; ";
  }
  sql += "UPDATE cg_groups SET version = version + 1";
  if (changes.checkpoint_moved) sql += ", checkpoint = " + std::to_string(changes.checkpoint);
  sql += " WHERE name = " + literal + "; ";
  return sql;
}

class PgGroupStore;

// A GroupLock: the store's connection inside a transaction that holds the group row's lock.
class PgGroupLock final : public groups::GroupLock {
 public:
  PgGroupLock(PgGroupStore& store, std::string name, int64_t version)
      : store_(store), name_(std::move(name)), version_(version) {}
  // Rolls back unless Commit() was called.
  ~PgGroupLock() override { Finish(/*rollback=*/true); }

  // The version read under the lock; unchanged by Commit() (the stored one is then this + 1).
  int64_t version() const override { return version_; }
  // Errors: kNotFound (version() == 0), kFailedPrecondition (after Commit), kDataLoss
  // (unreadable settings), kUnavailable.
  Result<StoredGroup> Load() override;
  // Errors: kNotFound (version() == 0; rolled back), kFailedPrecondition (Commit called twice),
  // kAborted (an earlier statement of the transaction failed), kUnavailable (the outcome is then
  // unknown), kInternal. The transaction is over afterwards, whatever the outcome.
  Status Commit(const GroupChanges& changes) override;

 private:
  // Ends the transaction (rolling back when asked and still open) and frees the connection for
  // the store's other calls; once.
  void Finish(bool rollback);

  PgGroupStore& store_;
  const std::string name_;
  const int64_t version_;
  bool finished_ = false;
};

// The shared GroupStorage (pg_group_store.h). The overrides keep group_storage.h's contracts;
// besides those errors, every call but shared() fails with kFailedPrecondition while a GroupLock
// of this store is open (its transaction owns the connection).
class PgGroupStore final : public groups::GroupStorage {
 public:
  PgGroupStore(PgTarget target, std::unique_ptr<PgConnection> conn)
      : target_(std::move(target)), conn_(std::move(conn)) {}

  bool shared() const override { return true; }

  Result<std::vector<StoredGroup>> LoadAll() override {
    return Retrying<std::vector<StoredGroup>>([&]() -> Result<std::vector<StoredGroup>> {
      TRIAD_ASSIGN_OR_RETURN(
          PgResult rows, conn_->QueryPrepared("cg_load_all", TRIAD_GROUP_ROWS("", ""), PgParams()));
      return GroupsFromRows(rows);
    });
  }

  Status Create(std::string_view name, const GroupSettings& settings, int64_t created_at_us,
                Position checkpoint) override {
    TRIAD_RETURN_IF_ERROR(Connected());
    const std::string json = groups::SettingsToJson(settings);
    // Not retried on a lost connection: the insert may have committed, and a second one would
    // then report kAlreadyExists for the caller's own group.
    Status s =
        conn_
            ->QueryPrepared("cg_create",
                            "INSERT INTO cg_groups (name, settings, checkpoint, "
                            "created_at, version) VALUES ($1, $2, $3, $4, "
                            "(nextval('cg_generations') - 1) * 4294967296 + 1)",
                            PgParams().Text(name).Text(json).Int(checkpoint).Int(created_at_us))
            .status();
    if (s.code() == StatusCode::kAlreadyExists) {
      return AlreadyExistsError("consumer group '" + std::string(name) + "' already exists");
    }
    return s;
  }

  Status Delete(std::string_view name) override {
    // The children go with the row (ON DELETE CASCADE). The statement waits for a node holding
    // the group's lock, so no operation is half-applied to a deleted group.
    return Retrying<bool>([&]() -> Result<bool> {
             TRIAD_RETURN_IF_ERROR(conn_
                                       ->QueryPrepared("cg_delete",
                                                       "DELETE FROM cg_groups WHERE name = $1",
                                                       PgParams().Text(name))
                                       .status());
             return true;
           })
        .status();
  }

  Status Commit(std::span<const groups::PendingChanges> batch) override {
    if (batch.empty()) return Status::OK();
    TRIAD_RETURN_IF_ERROR(Connected());
    TRIAD_RETURN_IF_ERROR(conn_->Exec("BEGIN"));
    Status s = CommitLocked(batch);
    if (s.ok()) s = conn_->Exec("COMMIT");
    if (!s.ok()) conn_->Exec("ROLLBACK").IgnoreError();
    if (s.ok()) Announce();
    return s;
  }

  Result<std::vector<std::string>> ListNames() override {
    return Retrying<std::vector<std::string>>([&]() -> Result<std::vector<std::string>> {
      TRIAD_ASSIGN_OR_RETURN(
          PgResult rows,
          conn_->QueryPrepared("cg_names", "SELECT name FROM cg_groups ORDER BY name", PgParams()));
      std::vector<std::string> names;
      names.reserve(static_cast<size_t>(rows.rows()));
      for (int i = 0; i < rows.rows(); ++i) names.emplace_back(rows.Text(i, 0));
      return names;
    });
  }

  void WatchOtherNodes(std::function<void()> listener) override {
    // A channel of its own topic: group commits must not wake the event store's subscribers.
    channel_ = std::make_unique<PgCommitChannel>(
        target_, [listener = std::move(listener)](Position) { listener(); }, "groups");
  }

  Result<std::unique_ptr<groups::GroupLock>> Lock(std::string_view name) override {
    TRIAD_ASSIGN_OR_RETURN(
        const int64_t version, Retrying<int64_t>([&]() -> Result<int64_t> {
          TRIAD_ASSIGN_OR_RETURN(const std::string literal, Literal(*conn_, name));
          // BEGIN and the row lock in one round trip; a failure leaves no open transaction
          // behind (a lost session took it along, any other error is rolled back here).
          auto row = conn_->ExecLast(
              "BEGIN; SELECT version FROM cg_groups WHERE name = " + literal + " FOR UPDATE");
          if (!row.ok()) {
            if (PQtransactionStatus(conn_->raw()) != PQTRANS_IDLE) {
              conn_->Exec("ROLLBACK").IgnoreError();
            }
            return row.status();
          }
          return row->rows() == 0 ? int64_t{0} : row->Int(0, 0);
        }));
    lock_open_ = true;
    return std::unique_ptr<groups::GroupLock>(new PgGroupLock(*this, std::string(name), version));
  }

 private:
  friend class PgGroupLock;

  // Makes sure the connection is usable: reconnects once when it is broken (or was left inside
  // a transaction). Errors: kFailedPrecondition (a GroupLock of this store is open: its
  // transaction owns the connection), kUnavailable (reconnecting failed).
  Status Connected() {
    if (lock_open_) {
      return FailedPreconditionError(
          "a consumer-group lock of this store is still open; end it first");
    }
    if (conn_->Healthy()) return Status::OK();
    // The schema exists already (created at open): reconnecting changes nothing.
    auto fresh = PgConnection::Open(target_, /*create_schema=*/false);
    if (fresh.ok()) {
      if (Status set = (*fresh)->Exec(kSessionSettings); !set.ok()) fresh = set;
    }
    if (!fresh.ok()) {
      return fresh.status().Annotate("reconnecting to consumer-group store " + target_.display);
    }
    conn_ = std::move(*fresh);
    return Status::OK();
  }

  // Runs `op`, which must be harmless to run twice, and once more on a new connection if the
  // connection turns out to be lost (an idle connection only notices a server restart or a cut
  // session when it is next used).
  template <typename T, typename Op>
  Result<T> Retrying(Op op) {
    TRIAD_RETURN_IF_ERROR(Connected());
    Result<T> result = op();
    if (result.ok() || result.status().code() != StatusCode::kUnavailable) return result;
    TRIAD_RETURN_IF_ERROR(Connected());
    return op();
  }

  // Commit(batch) inside its transaction: locks the rows of the batch's groups (in name order,
  // so two committers cannot deadlock), then applies each operation's changes to its group.
  // Changes of groups deleted meanwhile are dropped: their rows would go with the group anyway.
  Status CommitLocked(std::span<const groups::PendingChanges> batch) {
    std::vector<std::string_view> names;
    names.reserve(batch.size());
    for (const groups::PendingChanges& pending : batch) names.push_back(pending.group);
    TRIAD_ASSIGN_OR_RETURN(PgResult rows,
                           conn_->QueryPrepared("cg_lock_many",
                                                "SELECT name FROM cg_groups WHERE name = "
                                                "ANY($1::text[]) ORDER BY name FOR UPDATE",
                                                PgParams().TextArray(names)));
    std::unordered_set<std::string_view> present;
    for (int i = 0; i < rows.rows(); ++i) present.insert(rows.Text(i, 0));
    for (const groups::PendingChanges& pending : batch) {
      if (!present.contains(pending.group)) continue;
      TRIAD_RETURN_IF_ERROR(ApplyRows(*conn_, pending.group, pending.changes));
      TRIAD_ASSIGN_OR_RETURN(const std::string sql,
                             GroupRowSql(*conn_, pending.group, pending.changes));
      TRIAD_RETURN_IF_ERROR(conn_->Exec(sql));
    }
    return Status::OK();
  }

  // Tells the other nodes (their WatchOtherNodes listeners) that a group changed.
  void Announce() {
    if (channel_ != nullptr) channel_->Notify(++commits_);
  }

  const PgTarget target_;
  std::unique_ptr<PgConnection> conn_;
  // A PgGroupLock's transaction is open on conn_.
  bool lock_open_ = false;
  // Commits by this store, the payload of its notifies (which must grow).
  Position commits_ = 0;
  std::unique_ptr<PgCommitChannel> channel_;  // null until WatchOtherNodes()
};

Result<StoredGroup> PgGroupLock::Load() {
  if (finished_) return FailedPreconditionError("the consumer-group lock is already over");
  if (version_ == 0) return NotFoundError("consumer group '" + name_ + "' does not exist");
  // The row lock keeps other nodes' writes to this group out until the transaction ends, so the
  // rows read now are exactly what the version says.
  TRIAD_ASSIGN_OR_RETURN(
      PgResult rows,
      store_.conn_->QueryPrepared("cg_load", TRIAD_GROUP_ROWS("WHERE name = $1", "WHERE grp = $1"),
                                  PgParams().Text(name_)));
  TRIAD_ASSIGN_OR_RETURN(std::vector<StoredGroup> loaded, GroupsFromRows(rows));
  if (loaded.size() != 1) {
    return InternalError("consumer group '" + name_ + "' vanished while locked");
  }
  return std::move(loaded.front());
}

Status PgGroupLock::Commit(const GroupChanges& changes) {
  if (finished_) return FailedPreconditionError("the consumer-group lock is already over");
  PgConnection& conn = *store_.conn_;
  auto commit = [&]() -> Status {
    if (version_ == 0) return NotFoundError("consumer group '" + name_ + "' does not exist");
    // COMMIT of a transaction an earlier failed statement aborted would "succeed" as a rollback.
    if (PQtransactionStatus(conn.raw()) == PQTRANS_INERROR) {
      return AbortedError("a statement of this consumer-group transaction failed; rolled back");
    }
    TRIAD_RETURN_IF_ERROR(ApplyRows(conn, name_, changes));
    TRIAD_ASSIGN_OR_RETURN(std::string sql, GroupRowSql(conn, name_, changes));
    // Member liveness alone need not wait for the WAL flush: losing it in a crash only makes a
    // member look gone sooner.
    if (changes.empty()) sql = "SET LOCAL synchronous_commit = off; " + sql;
    // The simple protocol stops at the first failing statement, so COMMIT runs only if the
    // version was bumped.
    return conn.Exec(sql + "COMMIT");
  };
  Status s = commit();
  Finish(/*rollback=*/!s.ok());
  if (s.ok()) store_.Announce();
  return s.Annotate("committing consumer group '" + name_ + "'");
}

void PgGroupLock::Finish(bool rollback) {
  if (finished_) return;
  finished_ = true;
  store_.lock_open_ = false;
  PgConnection& conn = *store_.conn_;
  if (rollback && PQtransactionStatus(conn.raw()) != PQTRANS_IDLE) {
    conn.Exec("ROLLBACK").IgnoreError();
  }
}

#undef TRIAD_GROUP_ROWS

}  // namespace

Result<std::unique_ptr<groups::GroupStorage>> OpenPgGroupStore(std::string_view uri,
                                                               bool create_if_missing) {
  TRIAD_ASSIGN_OR_RETURN(PgTarget target, ParsePostgresUri(uri));
  auto conn = [&]() -> Result<std::unique_ptr<PgConnection>> {
    TRIAD_ASSIGN_OR_RETURN(auto c, PgConnection::Open(target, create_if_missing));
    Status migrated = Migrate(*c, kGroupComponent, kGroupMigrations, !create_if_missing);
    // Tables older than this binary are still brought up to date: that creates nothing new.
    if (migrated.code() == StatusCode::kFailedPrecondition) {
      migrated = Migrate(*c, kGroupComponent, kGroupMigrations, /*read_only=*/false);
    }
    TRIAD_RETURN_IF_ERROR(migrated);
    TRIAD_RETURN_IF_ERROR(c->Exec(kSessionSettings));
    return c;
  }();
  if (!conn.ok()) {
    return conn.status().Annotate("opening consumer-group store " + target.display);
  }
  return std::unique_ptr<groups::GroupStorage>(
      new PgGroupStore(std::move(target), std::move(*conn)));
}

}  // namespace triad::internal::pg
