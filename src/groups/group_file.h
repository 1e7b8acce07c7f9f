// GroupFile: the private GroupStorage (group_storage.h): one SQLite file beside the store
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
#include "groups/group_storage.h"

namespace triad::internal::groups {

// PRAGMA application_id of a group file: "TRGR". Differs from the store's and the read model's so
// that none opens another's file.
inline constexpr int32_t kApplicationId = 0x54524752;
// The schema version this binary writes; a file with a newer one is refused.
inline constexpr int64_t kSchemaVersion = 1;

class GroupFile final : public GroupStorage {
 public:
  // Opens or, when `create`, creates the file at `path` (":memory:" for a private in-memory
  // database). Errors: kDataLoss (not a group file, or a newer schema), kNotFound (no file and
  // !create), kUnavailable.
  static Result<std::unique_ptr<GroupFile>> Open(const std::string& path, bool create = true);

  bool shared() const override { return false; }
  Result<std::vector<StoredGroup>> LoadAll() override;
  Status Create(std::string_view name, const GroupSettings& settings, int64_t created_at_us,
                Position checkpoint) override;
  Status Delete(std::string_view name) override;
  // One sync for the whole batch; attempts are stored, holders, deadlines and members are not.
  Status Commit(std::span<const PendingChanges> batch) override;
  // kInternal: a private store is never listed by name or locked.
  Result<std::vector<std::string>> ListNames() override;
  Result<std::unique_ptr<GroupLock>> Lock(std::string_view name) override;

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
