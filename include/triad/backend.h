// Backend: the one storage interface every store (memory, SQLite, PostgreSQL) implements.
//
// The EventStore owns the rules: validation, expected-version checks, idempotency, group commit.
// A Backend owns only storage: transactions, dense position assignment, and reads. The SQL
// dialect, locking and durability mechanics stay inside each backend, so the same contract suite
// (tests/conformance/) runs unchanged against every implementation.
//
// Write path: the EventStore's single commit path calls BeginWrite(), Prefetch() once with every
// stream and client-chosen event id of the group, then for each queued append
// Savepoint() → CurrentVersion()/FindEvent() → Insert() → ReleaseSavepoint() (or
// RollbackToSavepoint() when that append fails alone), then Commit() once for the whole group.
//
// Thread-safety: read methods may be called from any number of threads at once. At most one
// WriteTransaction per Backend object is open at a time (the EventStore serializes them); a
// WriteTransaction is used by one thread.
#pragma once

#include "triad/event.h"
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

// An event validated by the store and ready to insert: id assigned, correlation fields extracted
// from metadata.
struct PreparedEvent {
  std::string id;
  std::string type;
  std::string data;
  std::string metadata;
  std::string correlation_id;
  std::string causation_id;
};

// Receives one event of a scan; returns false to stop the scan. The view is valid only during
// the call.
using EventVisitor = std::function<bool(const EventView&)>;

// Figures about the stored data, for `triad stats`.
struct BackendStats {
  Position head_position = 0;
  int64_t event_count = 0;
  int64_t stream_count = 0;
  int64_t snapshot_count = 0;
  // Bytes used on disk (database file plus write-ahead log); 0 when not applicable.
  int64_t storage_bytes = 0;
};

// One open write transaction. Destroying it without Commit() rolls everything back.
class WriteTransaction {
 public:
  virtual ~WriteTransaction() = default;

  // Announces the streams and the client-chosen event ids the coming calls will look up, so that
  // a backend behind a network can fetch them in one round trip. Optional: the default does
  // nothing, and lookups of names not announced must still work.
  virtual Status Prefetch(std::span<const std::string_view> streams,
                          std::span<const std::string_view> event_ids) {
    (void)streams;
    (void)event_ids;
    return Status::OK();
  }

  // The stream's version as seen by this transaction, including earlier inserts in it;
  // kNoStreamVersion if the stream does not exist. A backend shared by several processes takes
  // whatever lock makes the subsequent Insert() safe.
  virtual Result<StreamVersion> CurrentVersion(std::string_view stream) = 0;

  // The stored event with `id`, including inserts earlier in this transaction, or nullopt.
  virtual Result<std::optional<RecordedEvent>> FindEvent(std::string_view id) = 0;

  // Stores `events` in `stream` as versions first_version, first_version+1, ... at the next dense
  // positions, with `recorded_at_us`, and updates the stream's summary. Returns the first
  // position assigned.
  // REQUIRES: first_version == CurrentVersion(stream) + 1; !events.empty(); `events` stay alive
  // and unchanged until the transaction ends (a backend may write them only at Commit()).
  // Errors: kAlreadyExists naming the id when an event id is already stored.
  virtual Result<Position> Insert(std::string_view stream, StreamVersion first_version,
                                  std::span<const PreparedEvent> events,
                                  int64_t recorded_at_us) = 0;

  // Marks a point to roll back to. Savepoints do not nest: one is open at a time.
  virtual Status Savepoint() = 0;
  // Undoes everything since Savepoint() and closes it.
  virtual Status RollbackToSavepoint() = 0;
  // Keeps everything since Savepoint() and closes it.
  virtual Status ReleaseSavepoint() = 0;

  // Makes the transaction durable as the store's Durability asks, then ends it. After an error the
  // outcome is unknown (the commit may or may not have reached storage); the transaction is over.
  virtual Status Commit() = 0;
};

class Backend {
 public:
  virtual ~Backend() = default;

  // Starts the write transaction. Errors: kUnavailable (busy), kFailedPrecondition (read-only).
  virtual Result<std::unique_ptr<WriteTransaction>> BeginWrite() = 0;

  // Whether the outcome of a Commit() that failed is left unknown. When false (the default: an
  // embedded file only this process writes), the EventStore re-reads HeadPosition() once the
  // transaction is over to tell the writers whether their appends were stored, and re-reads it
  // again before the next write when that fails. A server-backed store, where other nodes commit
  // too, returns true: the client retries with the same event ids and gets the first result
  // (promise 4). Either way later appends are tried afresh.
  virtual bool SurvivesFailedCommit() const { return false; }

  // Makes and commits a change that leaves the stored data as it was, to tell whether writes
  // work again (space freed) after a failed commit; the EventStore calls it only then, from its
  // health check. Errors: as Commit(). Default: OK (a backend whose writes never need space).
  // Thread-safety: as BeginWrite().
  virtual Status ProbeWrite() { return Status::OK(); }

  // Calls `on_commit(head)`, from a backend thread, whenever another process commits to the same
  // store, as soon as the backend hears of it (PostgreSQL: LISTEN/NOTIFY); nullptr stops the
  // calls (and waits for one in progress). Returns false when the backend has no such channel
  // (the EventStore then learns of other processes' commits by polling alone).
  virtual bool WatchExternalCommits(std::function<void(Position head)> on_commit) {
    (void)on_commit;
    return false;
  }

  // Events of `stream` as ReadStreamOptions says; empty if the stream does not exist.
  virtual Result<std::vector<RecordedEvent>> ReadStream(std::string_view stream,
                                                        const ReadStreamOptions& options) = 0;

  // Events of the global log from options.from_position in position order, filtered.
  virtual Result<std::vector<RecordedEvent>> ReadAll(const ReadAllOptions& options) = 0;

  // Calls `visit` for each event ReadAll(options) would return, in position order, without
  // copying the events; stops early when `visit` returns false. Returns the number of events
  // visited. The default implementation reads through ReadAll(); backends override it to hand
  // out views of their own buffers.
  virtual Result<int64_t> ScanAll(const ReadAllOptions& options, const EventVisitor& visit);

  // The last committed position; 0 when the log is empty.
  virtual Result<Position> HeadPosition() = 0;

  // The stream's summary, or nullopt when it does not exist.
  virtual Result<std::optional<StreamInfo>> GetStreamInfo(std::string_view stream) = 0;

  // Streams in name order as ListStreamsOptions says.
  virtual Result<std::vector<StreamInfo>> ListStreams(const ListStreamsOptions& options) = 0;

  // Stores `snapshot`, replacing the stream's previous one unless that one has the same
  // schema_version and a higher version (a late writer never rolls a snapshot back).
  // Durable like an append.
  virtual Status SaveSnapshot(const Snapshot& snapshot) = 0;

  // The stream's latest snapshot, or nullopt.
  virtual Result<std::optional<Snapshot>> LoadSnapshot(std::string_view stream) = 0;

  virtual Result<BackendStats> Stats() = 0;

  // Backend-specific integrity checks (e.g. SQLite's integrity_check and the summary tables
  // against the events). Returns one line per problem found; empty when healthy.
  virtual Result<std::vector<std::string>> CheckStorage() = 0;

  // A short description for people, e.g. "sqlite:/var/lib/triad/triad.db".
  virtual std::string Describe() const = 0;
};

// Opens the backend that `uri` names: "sqlite:PATH" (or a bare PATH), "memory:", or
// "postgres://user@host/db?schema=NAME" (any libpq URI; docs/postgres.md).
// Errors: kInvalidArgument for an unknown scheme, kNotFound when the store is missing and
// options.create_if_missing is false, kUnavailable/kDataLoss from the storage engine.
Result<std::unique_ptr<Backend>> OpenBackend(const Options& options, std::string_view uri);

}  // namespace triad
