// GroupFile: the durable state of consumer groups, one SQLite file beside the store
// ("STORE.groups", docs/consumer-groups.md "Storage"): settings and checkpoint per group, acks
// above the checkpoint, delivery counts and parked messages. Every write is one transaction with
// synchronous=FULL, so a change is durable when the call returns. In-flight leases are not
// stored: after a restart those messages are delivered again.
//
// Thread-safety: none; ConsumerGroupsImpl serializes all calls under its mutex.
#pragma once

#include "storage/sqlite/sqlite_db.h"

#include "triad/result.h"
#include "triad/status.h"

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "groups/group_state.h"

namespace triad::internal::groups {

// PRAGMA application_id of a group file: "TRGR". Differs from the store's and the read model's so
// that none opens another's file.
inline constexpr int32_t kApplicationId = 0x54524752;
// The schema version this binary writes; a file with a newer one is refused.
inline constexpr int64_t kSchemaVersion = 1;

// The changes of one operation on group `group`, waiting for the next commit.
struct PendingChanges {
  std::string group;
  GroupChanges changes;
};

class GroupFile {
 public:
  // Opens or creates the file at `path` (":memory:" for a private in-memory database).
  // Errors: kDataLoss (not a group file, or a newer schema), kUnavailable.
  static Result<std::unique_ptr<GroupFile>> Open(const std::string& path);

  // Every stored group. Errors: kDataLoss (unreadable settings), kUnavailable.
  Result<std::vector<StoredGroup>> LoadAll();

  // Stores a new group. Errors: kAlreadyExists, kUnavailable.
  Status Create(std::string_view name, const GroupSettings& settings, int64_t created_at_us,
                Position checkpoint);

  // Deletes a group and all its rows.
  Status Delete(std::string_view name);

  // Applies the changes of several operations, in order, in one durable transaction (group
  // commit: one sync for all of them). Nothing when `batch` is empty.
  Status Commit(std::span<const PendingChanges> batch);

 private:
  explicit GroupFile(std::unique_ptr<sqlite::Connection> db) : db_(std::move(db)) {}
  Status Initialize(const std::string& path);
  // Runs `body` inside BEGIN IMMEDIATE ... COMMIT, rolling back on error.
  template <typename Body>
  Status InTransaction(Body&& body);
  Status Step(sqlite::Statement* stmt, std::string_view what);
  // Applies one operation's changes inside the caller's transaction.
  Status Apply(std::string_view name, const GroupChanges& changes);

  std::unique_ptr<sqlite::Connection> db_;
};

}  // namespace triad::internal::groups
