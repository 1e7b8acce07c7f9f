// EventStore: the book of record.
//
// Streams of events with versions, one dense global position across all streams, optimistic
// concurrency, idempotent appends, reads by stream and by position, a live tail, and snapshots.
// It keeps the promises of docs/concepts.md: durable acks, no skipped positions, per-stream
// linearizable appends, idempotent appends, bad input refused and never stored.
//
//   auto store = triad::EventStore::Open(triad::Options{}, "sqlite:bank.db");
//   if (!store.ok()) return store.status();
//   triad::NewEvent opened{.type = "AccountOpened", .data = R"({"owner":"ada"})"};
//   auto r = (*store)->Append("account-1", triad::ExpectedVersion::NoStream(), {&opened, 1});
//   if (!r.ok() && r.status().code() == triad::StatusCode::kAborted) { /* reload, retry */ }
//
// Concurrent appends from many threads are merged into one transaction and one durable sync
// (group commit); each append keeps its own expected-version check, so a conflict fails only it.
//
// Thread-safety: every method is safe to call concurrently from any number of threads.
// The store is not copyable; destroy it to close it (pending appends finish first).
#pragma once

#include "triad/backend.h"
#include "triad/event.h"
#include "triad/expected_version.h"
#include "triad/options.h"
#include "triad/result.h"
#include "triad/status.h"

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace triad {

// The report of EventStore::Check().
struct CheckReport {
  Position head_position = 0;
  int64_t events_checked = 0;
  int64_t streams_checked = 0;
  // One line per violated invariant; empty when the store is healthy.
  std::vector<std::string> problems;
  bool ok() const { return problems.empty(); }
};

class EventStore {
 public:
  // Opens the store at `uri`: "sqlite:PATH" (or a bare PATH) for the embedded SQLite store;
  // "postgres://…" or "postgresql://…" (libpq's URI form, with an optional `schema` parameter;
  // docs/postgres.md) for a store shared by several processes; "memory:" for a store that lives
  // only as long as the object (tests).
  // Errors: kInvalidArgument (bad URI or options), kNotFound (missing and !create_if_missing),
  // kUnavailable, kDataLoss (the file is not a Triad store or is corrupt).
  static Result<std::unique_ptr<EventStore>> Open(const Options& options, std::string_view uri);

  EventStore() = default;
  EventStore(const EventStore&) = delete;
  EventStore& operator=(const EventStore&) = delete;
  virtual ~EventStore() = default;

  // Appends `events` to `stream` atomically, if the stream's version passes `expected`.
  // Returns the versions and positions written. Re-sending the same event ids to the same stream
  // with a compatible expected version returns the first result with already_stored = true and
  // writes nothing.
  // Errors: kInvalidArgument (bad stream name, type, JSON, or a limit exceeded; nothing stored),
  // kAborted (wrong expected version; status.current_version() holds the stream's version),
  // kAlreadyExists (an event id is already stored with other content or in another stream),
  // kFailedPrecondition (read-only),
  // kUnavailable (storage failed, e.g. the disk is full; the message says whether the append was
  // rolled back or its outcome is unknown: retry with the same ids to find out safely; later
  // appends are tried afresh, so the store recovers by itself once the cause is gone),
  // kInternal (an unexpected storage error; outcome unknown as above).
  virtual Result<AppendResult> Append(std::string_view stream, ExpectedVersion expected,
                                      std::span<const NewEvent> events) = 0;

  // Reads `stream` from a version in a direction, at most options.limit events.
  // Errors: kNotFound when the stream does not exist; kInvalidArgument for a bad name.
  virtual Result<std::vector<RecordedEvent>> ReadStream(std::string_view stream,
                                                        const ReadStreamOptions& options) = 0;

  // Reads the global log from options.from_position, filtered by types AND categories.
  // An empty result means no matching event exists yet at or after from_position.
  virtual Result<std::vector<RecordedEvent>> ReadAll(const ReadAllOptions& options) = 0;

  // Like ReadAll(options), without copying: calls `visit` with a view of each event, in position
  // order, and stops early when `visit` returns false. The view is valid only during the call;
  // `visit` must not call back into the store. Returns the number of events visited; fewer than
  // options.limit (and no early stop) means the end of the log was reached.
  // Errors: as ReadAll.
  virtual Result<int64_t> ScanAll(const ReadAllOptions& options, const EventVisitor& visit) = 0;

  // The last committed position; 0 for an empty log.
  virtual Result<Position> HeadPosition() = 0;

  // Waits until the head position is >= `position` or `timeout_us` passes. Woken at once by
  // commits through this store; commits by other processes are seen within
  // Options::external_poll_interval_us. Returns the head position.
  // Errors: kDeadlineExceeded (its message names the current head) when the timeout passes.
  virtual Result<Position> WaitForPosition(Position position, int64_t timeout_us) = 0;

  // The stream's summary. Errors: kNotFound.
  virtual Result<StreamInfo> GetStreamInfo(std::string_view stream) = 0;

  // Streams in name order, filtered and paged.
  virtual Result<std::vector<StreamInfo>> ListStreams(const ListStreamsOptions& options) = 0;

  // Stores an aggregate snapshot, replacing the stream's previous one unless that one has the
  // same schema_version and a higher version: a late writer never rolls a snapshot back.
  // Errors: kInvalidArgument (bad stream name, version beyond the stream), kFailedPrecondition.
  virtual Status SaveSnapshot(const Snapshot& snapshot) = 0;

  // The stream's snapshot, or nullopt when none was saved.
  virtual Result<std::optional<Snapshot>> LoadSnapshot(std::string_view stream) = 0;

  // Counts and sizes.
  virtual Result<BackendStats> Stats() = 0;

  // Verifies the invariants: positions dense from 1, each stream's versions dense from 0, stream
  // summaries equal to their events, every event's JSON an object, plus the backend's own checks.
  // Reads the whole log; O(events). Problems are reported, not errors.
  virtual Result<CheckReport> Check() = 0;

  // OK while appends are expected to work; kUnavailable naming the cause after a commit failed
  // (e.g. the disk is full) until a later commit succeeds. When a commit failed, it first tries
  // a small write (Backend::ProbeWrite), so it turns OK as soon as the cause is gone.
  // Thread-safety: any thread.
  virtual Status WriteHealth() { return Status::OK(); }

  // The backend's description, e.g. "sqlite:/path/triad.db".
  virtual std::string Describe() const = 0;

  // Registers `listener`, called with the new head position after every commit made through this
  // store (not other processes': poll HeadPosition() for those). It runs on the committing thread
  // while later appends wait, so it must be quick and must not call back into the store: notify a
  // condition variable and return. Returns an id for RemoveCommitListener().
  virtual uint64_t AddCommitListener(std::function<void(Position head)> listener) = 0;

  // Unregisters a listener; when it returns, the listener is not running and will not be called.
  virtual void RemoveCommitListener(uint64_t id) = 0;
};

}  // namespace triad
