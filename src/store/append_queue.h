// AppendQueue: the single commit path (group commit).
//
// Concurrent appends queue here. The writer at the front becomes the leader: it takes queued
// writers up to the byte and count caps, runs them in one backend transaction with one savepoint
// per writer (so a conflict fails only that writer), commits once, and hands every writer its
// result. Positions are therefore assigned in commit order by one thread at a time (promise 2),
// and one durable sync covers the whole group (leveldb DBImpl::Write / BuildBatchGroup).
//
// A failed commit (a full disk, an I/O error) never poisons the store for good. On an embedded
// backend the leader re-reads the head from storage once the transaction is over: below the
// group's first position, the group was rolled back and its writers are told it was not stored;
// otherwise (or when the head cannot be read) they are told the outcome is unknown, and the next
// leader re-reads the head before it writes again. Either way the store reports unhealthy
// (Health()) until a commit or a write probe succeeds, and every later append is tried afresh, so
// the store recovers by itself once space is back. A backend that survives failed commits (a
// PostgreSQL server, where other nodes write too) reports the outcome as unknown; retries with
// the same ids are idempotent.
//
// Thread-safety: Append() may be called from any number of threads.
#pragma once

#include "triad/backend.h"
#include "triad/clock.h"
#include "triad/event.h"
#include "triad/expected_version.h"
#include "triad/options.h"
#include "triad/result.h"

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <string_view>
#include <vector>

namespace triad::internal {

class AppendQueue {
 public:
  // `on_commit` is called by the leader after each successful commit with the new head position.
  AppendQueue(Backend& backend, Clock& clock, const Options& options,
              std::function<void(Position)> on_commit);

  // OK, or the failure of the last commit while no later commit or write probe has succeeded:
  // kUnavailable naming the cause. Runs the backend's write probe when a commit failed, so it
  // turns OK once the cause is gone even if nothing is appended.
  Status Health();

  // Appends prepared events; blocks until the group holding them has committed or failed.
  // `client_ids[i]` tells whether events[i].id came from the caller (then idempotency applies).
  Result<AppendResult> Append(std::string_view stream, ExpectedVersion expected,
                              std::vector<PreparedEvent> events, std::vector<bool> client_ids);

 private:
  struct Writer {
    std::string_view stream;
    ExpectedVersion expected = ExpectedVersion::Any();
    std::vector<PreparedEvent> events;
    std::vector<bool> client_ids;
    size_t bytes = 0;
    Result<AppendResult> result = InternalError("append did not run");
    bool done = false;
    std::condition_variable cv;
  };

  // Runs `group` in one transaction; sets every writer's result. Called by the leader without mu_.
  void CommitGroup(const std::vector<Writer*>& group);
  // Announces the group's streams and client-chosen ids to the transaction (one round trip on a
  // networked backend instead of one per append).
  static Status Prefetch(WriteTransaction& tx, const std::vector<Writer*>& group);
  // The error for the writers of a group whose commit failed with `commit`, after the
  // transaction ended; `first` is the lowest position the group inserted (0: none). Records the
  // failure for Health().
  Status CommitFailed(const Status& commit, Position first);
  // Applies one writer inside the open transaction.
  Result<AppendResult> ApplyOne(WriteTransaction& tx, Writer& writer, int64_t recorded_at_us);
  // The result for a re-sent append whose first event id is already stored as `first`.
  Result<AppendResult> ResolveRetry(WriteTransaction& tx, Writer& writer,
                                    const RecordedEvent& first);

  Backend& backend_;
  Clock& clock_;
  const Options options_;
  const std::function<void(Position)> on_commit_;

  std::mutex mu_;
  std::deque<Writer*> writers_;  // guarded by mu_; front is the leader
  Status failure_;               // guarded by mu_; the last commit's failure, until one succeeds
  uint64_t failure_generation_ = 0;  // guarded by mu_; counts failures, for Health()
  // Set when a failed commit's outcome could not be verified: the next leader re-reads the head
  // from storage before it writes. Only the leader touches it.
  bool verify_head_ = false;
  int64_t last_recorded_at_us_ = 0;  // only the leader touches it
};

}  // namespace triad::internal
