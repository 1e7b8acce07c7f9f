// ProjectionEngine: runs projections from the event store into the read-model store, and answers
// queries from it.
//
//   auto engine = triad::ProjectionEngine::Open(store.get(), triad::EngineOptions{});
//   (*engine)->Register(accounts_projection);        // starts at 0 and catches up
//   (*engine)->Start();                               // one worker thread per projection
//   auto r = (*store)->Append(...);
//   triad::ReadOptions wait{.min_position = r->last_position, .timeout_us = 2'000'000};
//   auto doc = (*engine)->Get("accounts", "account-1", wait);   // read your own write
//
// Each projection version reads the log from its checkpoint in batches (its filter pushed into
// the read), calls its handler, and commits the batch's document writes with the new checkpoint
// in one read-model transaction (promise 5). Documents touched by a batch are loaded once and
// written once. Queries name a collection; the engine routes them to the serving version of the
// projection that writes it, so a new version builds beside the old one until Promote().
//
// Several engines, in several processes ("nodes"), may share one read-model store (PostgreSQL).
// Each projection then runs on exactly one of them at a time: a worker runs batches only while
// its engine holds the projection's lease (ReadModelBackend::TryAcquireLease); the others stand
// by and take over about EngineOptions::lease_retry_interval_us after the owner goes away.
// Operator actions work on any node: they change the shared projection record, which the
// running node re-reads.
//
// Thread-safety: every method is safe to call concurrently from any thread.
#pragma once

#include "triad/clock.h"
#include "triad/document.h"
#include "triad/event_store.h"
#include "triad/projection.h"
#include "triad/read_model_backend.h"
#include "triad/result.h"
#include "triad/status.h"

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace triad {

struct EngineOptions {
  // The read-model store: "sqlite:PATH", "memory:". Empty: DefaultReadModelUri(store URI).
  std::string read_model_uri;
  // Use this backend instead (tests). Non-owning; must outlive the engine.
  ReadModelBackend* read_model = nullptr;
  ReadModelOptions read_model_options;
  // Time for ticks, lag and waits. nullptr: RealClock(). Pass the store's clock in tests.
  Clock* clock = nullptr;
  // Events per batch unless a projection sets its own. Default: 1,000.
  size_t batch_size = 1000;
  // Bytes of documents one batch may hold in memory unless a projection sets its own
  // (ProjectionDefinition::max_batch_bytes). Default: 64 MiB.
  size_t max_batch_bytes = size_t{64} << 20;
  // How often idle workers look for commits made by other processes. Default: 200 ms.
  int64_t external_poll_interval_us = 200'000;
  // After a storage error, a worker waits this long before retrying. Default: 1 s.
  int64_t retry_backoff_us = 1'000'000;
  // A worker whose projection runs on another process sharing the read-model store (see
  // ReadModelBackend::TryAcquireLease) tries to take it over this often, so a projection moves
  // to another node about this long after its node dies. Default: 1 s.
  int64_t lease_retry_interval_us = 1'000'000;
};

enum class ProjectionState {
  // Processing events behind the head.
  kRunning,
  kPaused,
  // At the head, waiting for events.
  kCaughtUp,
  // Building from 0 after a reset, or a new version building beside the serving one.
  kRebuilding,
  // Stopped on a handler error (ErrorPolicy::kStop); see last_error.
  kFaulted,
  // Replaced by a promoted version.
  kRetired,
};

// "running", "paused", "caught_up", "rebuilding", "faulted", "retired".
std::string_view ProjectionStateName(ProjectionState state);

struct ProjectionStatus {
  std::string name;
  int32_t version = 1;
  ProjectionState state = ProjectionState::kRunning;
  // Queries read this version.
  bool serving = false;
  // Registered in this engine (its handler is here); unregistered versions keep serving
  // queries but do not advance.
  bool registered = false;
  // This engine holds the projection's lease and runs it (registered only). False on a node in
  // standby: another process sharing the read-model store runs it, and this one takes over when
  // that process goes away (EngineOptions::lease_retry_interval_us).
  bool leased = false;
  Position checkpoint = 0;
  Position head_position = 0;
  // head_position - checkpoint.
  int64_t lag_events = 0;
  // Age of the oldest unprocessed event (0 when caught up).
  double lag_seconds = 0;
  // Events processed per second over the last few batches.
  double events_per_second = 0;
  std::string last_error;
  Position last_error_position = 0;
  int64_t dead_letters = 0;
  std::vector<std::string> collections;
  std::string error_policy;
  std::string trigger;
};

// How one collection differs between the serving version and the newest one.
struct CollectionDiff {
  std::string collection;
  int64_t old_count = 0;
  int64_t new_count = 0;
  int64_t only_in_old = 0;
  int64_t only_in_new = 0;
  // In both, with different bodies (`_meta` is not compared).
  int64_t changed = 0;
  // Up to 10 ids of documents that differ, in id order.
  std::vector<std::string> sample_ids;
};

struct ProjectionDiff {
  std::string name;
  int32_t old_version = 0;
  int32_t new_version = 0;
  Position old_checkpoint = 0;
  Position new_checkpoint = 0;
  std::vector<CollectionDiff> collections;
  bool identical() const;
};

// Freshness of a read.
struct ReadOptions {
  // Wait until the serving projection's checkpoint is >= min_position (read your own writes).
  Position min_position = 0;
  // How long to wait for min_position. Errors: kDeadlineExceeded naming the current checkpoint.
  int64_t timeout_us = 0;
};

struct GetOptions : ReadOptions {
  // Bring the document up to date first from the events newer than its `_meta.sources`,
  // without waiting for the engine and without writing anything (the engine still applies
  // those events exactly once). Needs ProjectionDefinition::record_sources and the projection
  // registered in this engine.
  bool fresh = false;
};

// A batch from a projection that runs outside the engine, in a client written in any language
// (POST /collections/{collection}/batch): its document writes and its new checkpoint commit in
// one transaction, so a client that crashes and retries gets the exactly-once effect.
struct ClientBatch {
  // The client projection: same name rules as ProjectionDefinition::name; version >= 1.
  std::string projection;
  int32_t version = 1;
  // The collection written. It belongs to this client projection: created on its first batch,
  // refused when another projection owns it.
  std::string collection;
  // Indexes of the collection. Only used when the collection is created; later batches may omit
  // them but must not declare different ones.
  std::vector<IndexSpec> indexes;
  // The checkpoint the client read before this batch (0 for its first). The batch commits only
  // if the stored checkpoint still equals it.
  Position expected_checkpoint = 0;
  // The new checkpoint: the last position the client processed. >= expected_checkpoint and
  // <= the log's head.
  Position checkpoint = 0;
  struct Upsert {
    std::string id;
    // A JSON object.
    std::string body;
    // `_meta.position`: the last event applied to it; <= checkpoint. 0: the batch's checkpoint.
    Position position = 0;
    std::map<std::string, StreamVersion, std::less<>> sources;
  };
  std::vector<Upsert> upserts;
  std::vector<std::string> deletes;
};

class ProjectionEngine {
 public:
  // Opens the engine over `store` (non-owning; must outlive the engine) and the read-model store
  // of `options`. Workers start with Start().
  // Errors: as OpenReadModelBackend; kInvalidArgument for bad options.
  static Result<std::unique_ptr<ProjectionEngine>> Open(EventStore* store,
                                                        const EngineOptions& options);

  ProjectionEngine() = default;
  ProjectionEngine(const ProjectionEngine&) = delete;
  ProjectionEngine& operator=(const ProjectionEngine&) = delete;
  // Stops the workers (finishing the batch in progress) and closes the read-model store.
  virtual ~ProjectionEngine() = default;

  // Adds a projection version. The first version of a name serves queries at once (while it
  // catches up from 0); a later version builds beside the serving one until Promote(). Its
  // collections and indexes are created; state kept from earlier runs (checkpoint, paused,
  // faulted) is resumed. Errors: kInvalidArgument (bad definition, a collection owned by another
  // projection name), kAlreadyExists (this name@version is already registered),
  // kFailedPrecondition (this version was retired).
  virtual Status Register(ProjectionDefinition definition) = 0;

  // Starts one worker thread per registered projection (and for those registered later).
  // Idempotent.
  virtual Status Start() = 0;

  // Stops the workers. Work in progress (a batch, a tick, RunOnce on another thread) is
  // interrupted (ProjectionContext::Interrupted; Lua handlers stop between instructions) and
  // abandoned uncommitted: its events are processed again later. Idempotent; Start() may be
  // called again.
  virtual void Stop() = 0;

  // Runs `name` (its newest registered version) on the calling thread until its checkpoint
  // reaches `up_to` (nullopt: the head at the time of the call), ticks excluded. Works whether
  // or not Start() was called; for tests, tools and manual projections.
  // Errors: kNotFound, kFailedPrecondition (paused, faulted, retired, or another node sharing
  // the read-model store holds the projection's lease), handler errors under kStop (the
  // projection is then faulted), kCancelled (a concurrent Stop() kept interrupting it), storage
  // errors.
  virtual Result<Position> RunOnce(std::string_view name,
                                   std::optional<Position> up_to = std::nullopt) = 0;

  // ---- Operator actions. `name` acts on its serving version (the one queries read; without
  // one, the newest version not retired) unless a version is given. Errors: kNotFound when no
  // such projection exists; kFailedPrecondition when the version is retired. ----

  // Pauses; kept across restarts. A batch running meanwhile is interrupted as by Stop() and
  // abandoned uncommitted, so Pause does not wait for a long handler.
  virtual Status Pause(std::string_view name, int32_t version = 0) = 0;
  // Resumes a paused or faulted projection (a faulted one retries its failing event).
  virtual Status Resume(std::string_view name, int32_t version = 0) = 0;
  // Drops the version's documents, dead letters and checkpoint, and rebuilds from 0. A batch
  // running meanwhile is interrupted and abandoned, as for Pause.
  virtual Status Reset(std::string_view name, int32_t version = 0) = 0;
  // "Run now": wakes the worker (needed for TriggerMode::kManual). With `up_to`, the projection
  // runs until its checkpoint reaches that position and then pauses ("run up to P then stop").
  // Without it, a paused version (or one running up to a position) runs up to the head at the
  // time of the call and then pauses again; others just run now.
  virtual Status Trigger(std::string_view name, std::optional<Position> up_to = std::nullopt,
                         int32_t version = 0) = 0;
  // Gets a faulted version past the event it faulted on, without a new version: the event is
  // recorded as a dead letter (kSkipped, with the error; ReplayDeadLetters can run it again
  // later), the checkpoint moves to it, and the version resumes.
  // Errors: kFailedPrecondition (not faulted, faulted in a tick, retired, or changed meanwhile),
  // kNotFound.
  virtual Status Skip(std::string_view name, int32_t version = 0) = 0;
  // Compares the serving version's documents with the newest version's.
  // Errors: kFailedPrecondition when there is only one version.
  virtual Result<ProjectionDiff> Diff(std::string_view name) = 0;
  // Makes the newest version serve queries, atomically; the old one is retired and its
  // collections dropped. Errors: kFailedPrecondition when the newest version has not caught up
  // (its checkpoint is behind the head), is faulted, or already serves.
  virtual Status Promote(std::string_view name) = 0;

  // Status of every projection version known to the read-model store, by name then version.
  virtual Result<std::vector<ProjectionStatus>> ListStatus() = 0;
  // Status of one version (0: the serving one, as for operator actions). Errors: kNotFound.
  virtual Result<ProjectionStatus> GetStatus(std::string_view name, int32_t version = 0) = 0;

  // Dead letters (parked and skipped events) of a version (0: the serving one).
  virtual Result<std::vector<DeadLetter>> ListDeadLetters(std::string_view name,
                                                          int32_t version = 0) = 0;
  // Runs the handler again on the dead letter at `position` (nullopt: all of them, in position
  // order) against the current documents, each in its own transaction with the letter's
  // removal. A letter that fails again stays with the new error and attempts + 1.
  // Returns how many succeeded. Errors: kNotFound (no such letter), kFailedPrecondition (the
  // projection is not registered here, or another node sharing the store runs it).
  virtual Result<int64_t> ReplayDeadLetters(std::string_view name,
                                            std::optional<Position> position = std::nullopt,
                                            int32_t version = 0) = 0;

  // Waits until the checkpoint of `name` (version 0: the serving one) is >= `position`.
  // Errors: kDeadlineExceeded naming the checkpoint; kFailedPrecondition if it faults meanwhile.
  virtual Result<Position> WaitForCheckpoint(std::string_view name, Position position,
                                             int64_t timeout_us, int32_t version = 0) = 0;

  // Commits a client projection's batch: its upserts, deletes and new checkpoint in one
  // transaction (promise 5 for projections run by clients). The first batch creates the client
  // projection, serving at once; its status is then listed like any other (not registered).
  // Returns the status after the commit.
  // Errors: kInvalidArgument (names, ids, a body that is not a JSON object, positions out of
  // range, indexes differing from the collection's, a collection owned by another projection);
  // kFailedPrecondition when the stored checkpoint differs from expected_checkpoint (nothing is
  // written; the message names the stored checkpoint, which GetStatus also returns) or when
  // name@version is registered in this engine (its handler runs here, not in a client).
  virtual Result<ProjectionStatus> ApplyClientBatch(const ClientBatch& batch) = 0;

  // ---- Queries, answered by the serving version of the projection that writes `collection`.
  // Errors: kNotFound (no projection writes the collection),
  // kDeadlineExceeded (min_position not reached in time; the message names the current
  // position), and the query errors of ReadModelBackend::Find. ----

  // One document. A missing document is not an error: the answer has no document and still
  // says the position it is as of.
  virtual Result<DocumentRead> Get(std::string_view collection, std::string_view id,
                                   const GetOptions& options = {}) = 0;
  virtual Result<QueryPage> Find(std::string_view collection, const Query& query,
                                 const ReadOptions& options = {}) = 0;
  virtual Result<CountResult> Count(std::string_view collection, const Query& query,
                                    const ReadOptions& options = {}) = 0;

  // The read-model store's description.
  virtual std::string Describe() const = 0;
};

}  // namespace triad
