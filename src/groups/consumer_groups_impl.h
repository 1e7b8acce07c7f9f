// ConsumerGroupsImpl: include/triad/consumer_groups.h over an EventStore and a GroupFile.
//
// Locking. mu_ guards every group's GroupState; file_mu_ serializes the GroupFile. Lock order:
// file_mu_, then mu_. An operation refreshes its group under mu_ (lease and ack-timeout expiry,
// new events from the log, the checkpoint), applies itself in memory, and queues the resulting
// GroupChanges with a ticket; then, without mu_, it waits until its ticket is durable. The first
// waiter to take file_mu_ commits every queued change in one transaction (group commit, like the
// store's append queue), so acks that arrive together share one sync and the sync never blocks
// other members' polls. A poll returns messages only after everything queued before it is
// durable, so no member sees a stream's next message before the previous one's ack is stored.
// When a commit fails, the groups in it are reloaded from the file: memory never claims more than
// the disk holds (their in-flight messages are delivered again).
//
// Time. Expiry is evaluated lazily on each call with the injected Clock, so no background thread
// is needed: nothing can observe an expired lease except a call, and a waiting poll wakes at the
// next due time (GroupState::NextDueUs) to look. Waiting polls sleep on wake_cv_ under wake_mu_,
// not mu_, so the store's commit listener (which runs on the committing thread while appends
// wait) never contends with group work; a generation counter makes the wake-up impossible to
// miss. Commits by other processes are seen by reading the log every kExternalPollUs; on shared
// storage, other nodes' group commits also wake the polls (GroupStorage::WatchOtherNodes).
#pragma once

#include "triad/clock.h"
#include "triad/consumer_groups.h"
#include "triad/event_store.h"

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "groups/group_file.h"
#include "groups/group_state.h"

namespace triad::internal::groups {

// How often a waiting poll looks at the log for commits made by other processes.
inline constexpr int64_t kExternalPollUs = 250'000;

class ConsumerGroupsImpl final : public ConsumerGroups {
 public:
  ConsumerGroupsImpl(EventStore* store, Clock* clock, std::unique_ptr<GroupStorage> file,
                     std::string describe);
  ~ConsumerGroupsImpl() override;
  ConsumerGroupsImpl(const ConsumerGroupsImpl&) = delete;
  ConsumerGroupsImpl& operator=(const ConsumerGroupsImpl&) = delete;

  // Loads the stored groups and starts listening to the store's commits.
  Status Start();

  Result<bool> Create(std::string_view name, const GroupSettings& settings) override;
  Result<GroupInfo> Get(std::string_view name) override;
  Result<std::vector<GroupInfo>> List() override;
  Status Delete(std::string_view name) override;
  Result<std::vector<GroupMessage>> Poll(std::string_view group, std::string_view member,
                                         const PollOptions& options) override;
  Result<int64_t> Ack(std::string_view group, std::string_view member,
                      std::span<const Position> positions) override;
  Result<int64_t> Nack(std::string_view group, std::string_view member,
                       std::span<const Position> positions, std::string_view reason,
                       bool park) override;
  Result<std::vector<ParkedMessage>> ListParked(std::string_view group, Position from_position,
                                                size_t limit) override;
  Result<int64_t> ReplayParked(std::string_view group,
                               std::span<const Position> positions) override;
  std::string Describe() const override { return describe_; }

 private:
  using Operation = std::function<Result<int64_t>(GroupState&, int64_t now_us, GroupChanges&)>;

  // The group `name`. Errors: kNotFound. REQUIRES: mu_ held.
  Result<GroupState*> FindLocked(std::string_view name);
  // Expiry, new events and the checkpoint of `group`, into `changes`. REQUIRES: mu_ held.
  Status RefreshLocked(GroupState& group, int64_t now_us, GroupChanges& changes);
  // Queues `changes` for the next commit; returns its ticket (0 when there is nothing to store).
  // REQUIRES: mu_ held.
  uint64_t EnqueueLocked(const std::string& group, GroupChanges changes);
  // Returns once `ticket` is durable (committing the queue if no one else is), with the status
  // of the commit that carried it. REQUIRES: neither mutex held.
  Status WaitDurable(uint64_t ticket);
  // Commits every queued change. REQUIRES: file_mu_ held, mu_ not held.
  Status FlushLocked();
  // Replaces group `name` by its stored state. REQUIRES: file_mu_ and mu_ held.
  Status ReloadLocked(const std::string& name);
  // Refreshes `group`, runs `op` on it, and makes the changes durable: Ack, Nack, ReplayParked,
  // Get, ListParked and each look of a Poll all have this shape. `op` is not run when the
  // refresh fails.
  Result<int64_t> Run(std::string_view group, const Operation& op);
  // Run on shared storage: inside the storage's lock on the group, after reloading the group if
  // another node changed it; the changes are committed before the lock is released. REQUIRES:
  // no mutex held.
  Result<int64_t> RunShared(std::string_view group, const Operation& op);
  Result<bool> CreateShared(std::string_view name, const GroupSettings& settings);
  Status DeleteShared(std::string_view name);
  // Ends a poll that failed half-way, in memory only. REQUIRES: no mutex held.
  void AbandonPoll(std::string_view group, const std::string& member);
  // Wakes every waiting poll.
  void Wake();

  EventStore* const store_;
  Clock* const clock_;
  const std::string describe_;

  std::mutex file_mu_;
  std::unique_ptr<GroupStorage> file_;  // guarded by file_mu_

  std::mutex mu_;
  std::map<std::string, std::unique_ptr<GroupState>, std::less<>> groups_;  // guarded by mu_
  std::vector<PendingChanges> queue_;                                       // guarded by mu_
  uint64_t last_ticket_ = 0;     // the last ticket handed out; guarded by mu_
  uint64_t durable_ticket_ = 0;  // every ticket up to it is committed (or failed); guarded by mu_
  struct FailedCommit {
    uint64_t first_ticket;
    uint64_t last_ticket;
    Status status;
  };
  std::deque<FailedCommit> failures_;  // the most recent failed commits; guarded by mu_

  std::mutex wake_mu_;
  std::condition_variable wake_cv_;
  std::atomic<uint64_t> wake_generation_{0};
  uint64_t listener_id_ = 0;
  bool listening_ = false;
};

}  // namespace triad::internal::groups
