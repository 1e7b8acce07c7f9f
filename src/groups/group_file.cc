#include "groups/group_file.h"

#include "util/status_macros.h"

#include <sqlite3.h>

#include <filesystem>
#include <string>
#include <system_error>
#include <utility>

#include "groups/group_settings.h"

namespace triad::internal::groups {
namespace {

constexpr const char* kCreateSchema = R"sql(
CREATE TABLE IF NOT EXISTS cg_meta (
  key   TEXT PRIMARY KEY,
  value TEXT NOT NULL
) STRICT;
CREATE TABLE IF NOT EXISTS cg_groups (
  name       TEXT PRIMARY KEY,
  settings   TEXT NOT NULL,
  checkpoint INTEGER NOT NULL,
  created_at INTEGER NOT NULL
) STRICT;
CREATE TABLE IF NOT EXISTS cg_acks (
  grp      TEXT NOT NULL,
  position INTEGER NOT NULL,
  PRIMARY KEY (grp, position)
) STRICT, WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS cg_attempts (
  grp      TEXT NOT NULL,
  position INTEGER NOT NULL,
  attempts INTEGER NOT NULL,
  PRIMARY KEY (grp, position)
) STRICT, WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS cg_parked (
  grp        TEXT NOT NULL,
  position   INTEGER NOT NULL,
  stream     TEXT NOT NULL,
  type       TEXT NOT NULL,
  attempts   INTEGER NOT NULL,
  last_error TEXT NOT NULL,
  parked_at  INTEGER NOT NULL,
  replaying  INTEGER NOT NULL,
  PRIMARY KEY (grp, position)
) STRICT, WITHOUT ROWID;
)sql";

}  // namespace

Result<std::unique_ptr<GroupFile>> GroupFile::Open(const std::string& path, bool create) {
  if (!create && path != ":memory:") {
    std::error_code error;
    if (!std::filesystem::exists(path, error)) {
      return NotFoundError("no consumer-group file '" + path + "'");
    }
  }
  TRIAD_ASSIGN_OR_RETURN(
      auto db, sqlite::Connection::Open(path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE));
  std::unique_ptr<GroupFile> file(new GroupFile(std::move(db)));
  if (Status s = file->Initialize(path); !s.ok()) {
    return s.Annotate("opening consumer-group file '" + path + "'");
  }
  return file;
}

Status GroupFile::Initialize(const std::string& path) {
  sqlite::Connection& db = *db_;
  const sqlite::FileKind kind{.application_id = kApplicationId,
                              .create_sql = std::string(kCreateSchema) +
                                            "INSERT OR IGNORE INTO cg_meta (key, value) VALUES "
                                            "('schema_version', '" +
                                            std::to_string(kSchemaVersion) + "');",
                              .name = "Triad group file"};
  TRIAD_RETURN_IF_ERROR(sqlite::OpenTriadFile(db, path, kind, /*create=*/true,
                                              /*wal=*/path != ":memory:")
                            .status());
  // An acknowledged Ack must survive power loss (consumer_groups.h).
  TRIAD_RETURN_IF_ERROR(db.Exec("PRAGMA synchronous=FULL"));
  TRIAD_ASSIGN_OR_RETURN(
      const int64_t version,
      db.QueryInt("SELECT CAST(value AS INTEGER) FROM cg_meta WHERE key = 'schema_version'"));
  if (version > kSchemaVersion) {
    return DataLossError("'" + path + "' has group schema version " + std::to_string(version) +
                         ", newer than this binary's " + std::to_string(kSchemaVersion) +
                         "; upgrade Triad");
  }
  return Status::OK();
}

template <typename Body>
Status GroupFile::InTransaction(Body&& body) {
  TRIAD_RETURN_IF_ERROR(db_->Exec("BEGIN IMMEDIATE"));
  Status s = body();
  if (s.ok()) s = db_->Exec("COMMIT");
  if (!s.ok()) db_->Exec("ROLLBACK").IgnoreError();
  return s;
}

Status GroupFile::Step(sqlite::Statement* stmt, std::string_view what) {
  sqlite::ScopedReset reset(stmt);
  const int rc = stmt->Step();
  if (rc != SQLITE_DONE && rc != SQLITE_ROW) return sqlite::ErrorStatus(db_->db(), rc, what);
  return Status::OK();
}

Result<std::vector<StoredGroup>> GroupFile::LoadAll() {
  std::vector<StoredGroup> groups;
  {
    TRIAD_ASSIGN_OR_RETURN(auto* stmt, db_->Prepare("SELECT name, settings, checkpoint, created_at "
                                                    "FROM cg_groups ORDER BY name"));
    sqlite::ScopedReset reset(stmt);
    int rc;
    while ((rc = stmt->Step()) == SQLITE_ROW) {
      StoredGroup g;
      g.name = std::string(stmt->Text(0));
      auto settings = SettingsFromJson(stmt->Text(1));
      if (!settings.ok()) return settings.status().Annotate("group '" + g.name + "'");
      g.settings = std::move(*settings);
      g.checkpoint = stmt->Int(2);
      g.created_at_us = stmt->Int(3);
      groups.push_back(std::move(g));
    }
    if (rc != SQLITE_DONE) return sqlite::ErrorStatus(db_->db(), rc, "loading groups");
  }
  for (StoredGroup& g : groups) {
    TRIAD_ASSIGN_OR_RETURN(auto* acks, db_->Prepare("SELECT position FROM cg_acks WHERE grp = ?1"));
    {
      sqlite::ScopedReset reset(acks);
      acks->Bind(1, g.name);
      while (acks->Step() == SQLITE_ROW) g.acked.insert(acks->Int(0));
    }
    TRIAD_ASSIGN_OR_RETURN(auto* attempts, db_->Prepare("SELECT position, attempts FROM "
                                                        "cg_attempts WHERE grp = ?1"));
    {
      sqlite::ScopedReset reset(attempts);
      attempts->Bind(1, g.name);
      while (attempts->Step() == SQLITE_ROW) {
        g.messages[attempts->Int(0)].attempts = static_cast<int32_t>(attempts->Int(1));
      }
    }
    TRIAD_ASSIGN_OR_RETURN(auto* parked,
                           db_->Prepare("SELECT position, stream, type, attempts, last_error, "
                                        "parked_at, replaying FROM cg_parked WHERE grp = ?1 "
                                        "ORDER BY position"));
    sqlite::ScopedReset reset(parked);
    parked->Bind(1, g.name);
    while (parked->Step() == SQLITE_ROW) {
      ParkedMessage m{.position = parked->Int(0),
                      .stream = std::string(parked->Text(1)),
                      .type = std::string(parked->Text(2)),
                      .attempts = static_cast<int32_t>(parked->Int(3)),
                      .last_error = std::string(parked->Text(4)),
                      .parked_at_us = parked->Int(5)};
      g.parked.emplace_back(std::move(m), parked->Int(6) != 0);
    }
  }
  return groups;
}

Status GroupFile::Create(std::string_view name, const GroupSettings& settings,
                         int64_t created_at_us, Position checkpoint) {
  const std::string json = SettingsToJson(settings);
  return InTransaction([&]() -> Status {
    TRIAD_ASSIGN_OR_RETURN(auto* stmt,
                           db_->Prepare("INSERT INTO cg_groups (name, settings, checkpoint, "
                                        "created_at) VALUES (?1, ?2, ?3, ?4)"));
    stmt->Bind(1, name);
    stmt->Bind(2, json);
    stmt->Bind(3, checkpoint);
    stmt->Bind(4, created_at_us);
    return Step(stmt, "storing the group");
  });
}

Result<std::vector<std::string>> GroupFile::ListNames() {
  return InternalError("the SQLite group file is private to one process; use LoadAll");
}

Result<std::unique_ptr<GroupLock>> GroupFile::Lock(std::string_view) {
  return InternalError("the SQLite group file is private to one process; it has no locks");
}

Status GroupFile::Delete(std::string_view name) {
  return InTransaction([&]() -> Status {
    for (const char* sql :
         {"DELETE FROM cg_groups WHERE name = ?1", "DELETE FROM cg_acks WHERE grp = ?1",
          "DELETE FROM cg_attempts WHERE grp = ?1", "DELETE FROM cg_parked WHERE grp = ?1"}) {
      TRIAD_ASSIGN_OR_RETURN(auto* stmt, db_->Prepare(sql));
      stmt->Bind(1, name);
      TRIAD_RETURN_IF_ERROR(Step(stmt, "deleting the group"));
    }
    return Status::OK();
  });
}

Status GroupFile::Commit(std::span<const PendingChanges> batch) {
  if (batch.empty()) return Status::OK();
  return InTransaction([&]() -> Status {
    for (const PendingChanges& pending : batch) {
      TRIAD_RETURN_IF_ERROR(Apply(pending.group, pending.changes));
    }
    return Status::OK();
  });
}

Status GroupFile::Apply(std::string_view name, const GroupChanges& changes) {
  for (const auto& [position, message] : changes.messages) {
    TRIAD_ASSIGN_OR_RETURN(auto* stmt, db_->Prepare("INSERT OR REPLACE INTO cg_attempts (grp, "
                                                    "position, attempts) VALUES (?1, ?2, ?3)"));
    stmt->Bind(1, name);
    stmt->Bind(2, position);
    stmt->Bind(3, int64_t{message.attempts});
    TRIAD_RETURN_IF_ERROR(Step(stmt, "storing attempts"));
  }
  for (Position position : changes.acked) {
    TRIAD_ASSIGN_OR_RETURN(
        auto* drop, db_->Prepare("DELETE FROM cg_attempts WHERE grp = ?1 AND position = ?2"));
    drop->Bind(1, name);
    drop->Bind(2, position);
    TRIAD_RETURN_IF_ERROR(Step(drop, "deleting attempts"));
    if (position <= changes.checkpoint) continue;
    TRIAD_ASSIGN_OR_RETURN(
        auto* ack, db_->Prepare("INSERT OR IGNORE INTO cg_acks (grp, position) VALUES (?1, ?2)"));
    ack->Bind(1, name);
    ack->Bind(2, position);
    TRIAD_RETURN_IF_ERROR(Step(ack, "storing an ack"));
  }
  for (const ParkedMessage& m : changes.parked) {
    TRIAD_ASSIGN_OR_RETURN(auto* stmt,
                           db_->Prepare("INSERT OR REPLACE INTO cg_parked (grp, position, stream, "
                                        "type, attempts, last_error, parked_at, replaying) VALUES "
                                        "(?1, ?2, ?3, ?4, ?5, ?6, ?7, 0)"));
    stmt->Bind(1, name);
    stmt->Bind(2, m.position);
    stmt->Bind(3, m.stream);
    stmt->Bind(4, m.type);
    stmt->Bind(5, int64_t{m.attempts});
    stmt->Bind(6, m.last_error);
    stmt->Bind(7, m.parked_at_us);
    TRIAD_RETURN_IF_ERROR(Step(stmt, "parking a message"));
    TRIAD_ASSIGN_OR_RETURN(
        auto* drop, db_->Prepare("DELETE FROM cg_attempts WHERE grp = ?1 AND position = ?2"));
    drop->Bind(1, name);
    drop->Bind(2, m.position);
    TRIAD_RETURN_IF_ERROR(Step(drop, "deleting attempts"));
  }
  for (Position position : changes.replayed) {
    TRIAD_ASSIGN_OR_RETURN(auto* stmt, db_->Prepare("UPDATE cg_parked SET replaying = 1 WHERE "
                                                    "grp = ?1 AND position = ?2"));
    stmt->Bind(1, name);
    stmt->Bind(2, position);
    TRIAD_RETURN_IF_ERROR(Step(stmt, "replaying a parked message"));
  }
  for (Position position : changes.unparked) {
    TRIAD_ASSIGN_OR_RETURN(auto* stmt,
                           db_->Prepare("DELETE FROM cg_parked WHERE grp = ?1 AND position = ?2"));
    stmt->Bind(1, name);
    stmt->Bind(2, position);
    TRIAD_RETURN_IF_ERROR(Step(stmt, "deleting a replayed message"));
  }
  if (changes.checkpoint_moved) {
    TRIAD_ASSIGN_OR_RETURN(auto* stmt,
                           db_->Prepare("UPDATE cg_groups SET checkpoint = ?2 WHERE name = ?1"));
    stmt->Bind(1, name);
    stmt->Bind(2, changes.checkpoint);
    TRIAD_RETURN_IF_ERROR(Step(stmt, "storing the checkpoint"));
    TRIAD_ASSIGN_OR_RETURN(auto* drop,
                           db_->Prepare("DELETE FROM cg_acks WHERE grp = ?1 AND position <= ?2"));
    drop->Bind(1, name);
    drop->Bind(2, changes.checkpoint);
    TRIAD_RETURN_IF_ERROR(Step(drop, "trimming acks"));
  }
  return Status::OK();
}

}  // namespace triad::internal::groups
