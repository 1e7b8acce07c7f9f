// GroupStorage: where the durable state of consumer groups is kept.
//
// Two kinds (docs/consumer-groups.md "Storage"):
//   - Private (GroupFile, an SQLite file): one process owns the groups. ConsumerGroupsImpl keeps
//     each group in memory and only stores the changes, several operations per transaction.
//   - Shared (PgGroupStore, PostgreSQL): several processes (nodes) serve the same groups. Every
//     operation runs inside a GroupLock: a transaction holding the group's row lock, so
//     operations on one group are serialized across nodes. The stored version tells a node
//     whether its copy in memory is current; when another node changed the group, the node
//     reloads it inside the lock before applying the operation. Everything, in-flight leases
//     and members included, is stored, so any node can continue where another left off.
//
// Thread-safety: none; ConsumerGroupsImpl serializes all calls (file_mu_).
#pragma once

#include "triad/consumer_groups.h"
#include "triad/result.h"
#include "triad/status.h"

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "groups/group_state.h"

namespace triad::internal::groups {

// The changes of one operation on group `group`, waiting for the next commit.
struct PendingChanges {
  std::string group;
  GroupChanges changes;
};

// One transaction on shared storage holding one group's row lock (SELECT … FOR UPDATE). The
// destructor rolls back unless Commit() succeeded.
class GroupLock {
 public:
  GroupLock() = default;
  GroupLock(const GroupLock&) = delete;
  GroupLock& operator=(const GroupLock&) = delete;
  virtual ~GroupLock() = default;

  // The group's stored version (>= 1; each Commit adds 1), or 0 when there is no such group.
  virtual int64_t version() const = 0;
  // The group's whole stored state, as of this transaction. REQUIRES: version() > 0.
  virtual Result<StoredGroup> Load() = 0;
  // Applies `changes` (all of them, members included), adds 1 to the version and commits.
  // Changes holding nothing but member liveness may be committed without waiting for the flush
  // (losing them in a crash only makes a member look gone sooner).
  // Errors: kUnavailable (the outcome is then unknown), kInternal.
  virtual Status Commit(const GroupChanges& changes) = 0;
};

class GroupStorage {
 public:
  GroupStorage() = default;
  GroupStorage(const GroupStorage&) = delete;
  GroupStorage& operator=(const GroupStorage&) = delete;
  virtual ~GroupStorage() = default;

  // True when other processes may change the groups: then use Lock() around every operation.
  virtual bool shared() const = 0;

  // Every stored group. Errors: kDataLoss (unreadable settings), kUnavailable.
  virtual Result<std::vector<StoredGroup>> LoadAll() = 0;

  // Stores a new group. Errors: kAlreadyExists (a group of that name exists), kUnavailable.
  virtual Status Create(std::string_view name, const GroupSettings& settings, int64_t created_at_us,
                        Position checkpoint) = 0;

  // Deletes a group and all its rows; nothing when it does not exist. Errors: kUnavailable.
  virtual Status Delete(std::string_view name) = 0;

  // Private storage: applies the changes of several operations, in order, in one durable
  // transaction (group commit). Only what a private store keeps (GroupChanges) is stored.
  virtual Status Commit(std::span<const PendingChanges> batch) = 0;

  // Shared storage: the names of every group, in name order. Errors: kUnavailable.
  virtual Result<std::vector<std::string>> ListNames() = 0;

  // Shared storage: begins a transaction and locks group `name`'s row (waiting for other nodes'
  // operations on it). Errors: kUnavailable.
  virtual Result<std::unique_ptr<GroupLock>> Lock(std::string_view name) = 0;

  // Shared storage: from now on, calls `listener` (on a thread of the storage's own) soon after
  // another process committed a change to any group, so that polls waiting here look again at
  // once instead of at their next periodic look. Call once, before any Lock(); `listener` must
  // stay callable until the storage is destroyed. Private storage: never calls it.
  virtual void WatchOtherNodes(std::function<void()> listener) { (void)listener; }
};

}  // namespace triad::internal::groups
