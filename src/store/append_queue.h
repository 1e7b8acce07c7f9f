// AppendQueue: the single commit path (group commit).
//
// Concurrent appends queue here. The writer at the front becomes the leader: it takes queued
// writers up to the byte and count caps, runs them in one backend transaction with one savepoint
// per writer (so a conflict fails only that writer), commits once, and hands every writer its
// result. Positions are therefore assigned in commit order by one thread at a time (promise 2),
// and one durable sync covers the whole group (leveldb DBImpl::Write / BuildBatchGroup).
//
// A failed commit poisons the queue: the outcome of that group is unknown, so every later append
// fails with kFailedPrecondition until the store is reopened (leveldb RecordBackgroundError) —
// unless the backend survives failed commits (a PostgreSQL server: the next transaction starts
// afresh, and retries with the same ids are idempotent).
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
  std::deque<Writer*> writers_;      // guarded by mu_; front is the leader
  Status poisoned_;                  // guarded by mu_
  int64_t last_recorded_at_us_ = 0;  // only the leader touches it
};

}  // namespace triad::internal
