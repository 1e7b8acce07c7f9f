// ReadModelBackend: the one storage interface of the read-model store (documents, indexes,
// projection checkpoints, dead letters). SQLite implements it (a file beside the event store,
// or in memory); PostgreSQL will implement the same interface and pass the same suite
// (tests/conformance/read_model_*).
//
// The projection engine owns the rules (routing queries to the serving version, lifecycle,
// error policies); a backend owns only storage, transactions and query execution. Collections
// are addressed by their storage name, CollectionStorageName(projection, version, collection),
// so two versions of a projection never share storage.
//
// Promise 5 lives here: the document writes of a batch and the projection's new checkpoint go
// through one ReadModelTransaction and commit together or not at all.
//
// Thread-safety: read methods may be called from any number of threads at once. At most one
// ReadModelTransaction is open at a time per backend object: BeginWrite() blocks while another
// is open. A transaction is used by one thread.
#pragma once

#include "triad/document.h"
#include "triad/event.h"
#include "triad/options.h"
#include "triad/result.h"
#include "triad/status.h"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace triad {

// The storage name of `collection` written by projection `name`@`version`:
// "name@version/collection".
std::string CollectionStorageName(std::string_view projection_name, int32_t version,
                                  std::string_view collection);

// The persisted state of one projection version. Written only by the projection engine.
struct ProjectionRecord {
  std::string name;
  int32_t version = 1;
  // The last position processed (0: none).
  Position checkpoint = 0;
  // Queries on this projection's collections read this version. At most one version per name.
  bool serving = false;
  // An operator paused it; kept across restarts.
  bool paused = false;
  // An event failed under ErrorPolicy::kStop; kept until resumed or reset.
  bool faulted = false;
  // Replaced by a promoted version; its collections are dropped.
  bool retired = false;
  // A manual "run up to P then stop": the engine pauses once checkpoint reaches it (0: none).
  Position stop_at = 0;
  // Clock time of the last tick handled, microseconds since the epoch (0: never).
  int64_t last_tick_us = 0;
  // The last handler failure, and the position of the failing event (0 for a tick).
  std::string last_error;
  Position last_error_position = 0;
  // The collections it writes, with their indexes, so that queries can be routed and the store
  // described without the projection's code.
  std::vector<CollectionSpec> collections;
};

// What happened to an event a handler failed on.
enum class DeadLetterKind {
  // ErrorPolicy::kDeadLetter: parked; can be replayed.
  kParked,
  // ErrorPolicy::kSkip: skipped and recorded; kept for inspection, can also be replayed.
  kSkipped,
};

// An event a projection's handler failed on, kept with the error.
struct DeadLetter {
  std::string projection;
  int32_t version = 1;
  Position position = 0;
  std::string stream;
  StreamVersion stream_version = 0;
  std::string event_type;
  std::string error;
  DeadLetterKind kind = DeadLetterKind::kParked;
  // Clock time it was recorded, microseconds since the epoch.
  int64_t recorded_at_us = 0;
  // How many times it was replayed and failed again.
  int32_t attempts = 1;
};

// A document read with the checkpoint of the projection version that writes its collection,
// both from one snapshot.
struct DocumentRead {
  std::optional<Document> document;
  Position as_of = 0;
};

// One open write transaction. It sees its own writes. Destroying it without Commit() rolls
// everything back.
class ReadModelTransaction {
 public:
  virtual ~ReadModelTransaction() = default;

  // Creates the collection's storage and indexes if missing. Indexes added to an existing
  // collection are built from its documents. Idempotent. Errors: kInvalidArgument (bad name,
  // bad field path, the same field declared twice with different types).
  virtual Status EnsureCollection(std::string_view storage_name, const CollectionSpec& spec) = 0;

  // Drops the collection's documents and indexes. Missing collections are fine.
  virtual Status DropCollection(std::string_view storage_name) = 0;

  // The document, or nullopt. Errors: kNotFound when the collection does not exist.
  virtual Result<std::optional<Document>> Get(std::string_view storage_name,
                                              std::string_view id) = 0;

  // Inserts or replaces the document (body must be a JSON object; meta.projection is not
  // stored: it is derived from the storage name). Errors: kNotFound (no collection),
  // kInvalidArgument (empty id or id over 512 bytes, body not a JSON object).
  virtual Status Put(std::string_view storage_name, const Document& document) = 0;

  // Deletes the document if present.
  virtual Status Delete(std::string_view storage_name, std::string_view id) = 0;

  // Runs `query` on the collection as this transaction sees it.
  virtual Result<QueryPage> Find(std::string_view storage_name, const Query& query) = 0;

  // The record of `name`@`version`, or nullopt. Read for update: on a store shared by several
  // processes (PostgreSQL) the record stays locked until the transaction ends, so that its
  // read-modify-write does not lose another process's concurrent change.
  virtual Result<std::optional<ProjectionRecord>> GetProjection(std::string_view name,
                                                                int32_t version) = 0;
  // Inserts or replaces the record. At most one version per name may be serving: the caller
  // clears the old one's flag in the same transaction.
  virtual Status PutProjection(const ProjectionRecord& record) = 0;
  virtual Status DeleteProjection(std::string_view name, int32_t version) = 0;

  // Adds or replaces (by projection, version, position) a dead letter.
  virtual Status PutDeadLetter(const DeadLetter& letter) = 0;
  virtual Status DeleteDeadLetter(std::string_view projection, int32_t version,
                                  Position position) = 0;
  // Deletes every dead letter of `projection`@`version`.
  virtual Status DeleteDeadLetters(std::string_view projection, int32_t version) = 0;

  // Makes everything durable as ReadModelOptions::durability asks, then ends the transaction.
  // After an error the outcome is unknown; the transaction is over.
  virtual Status Commit() = 0;
};

// Options for opening a read-model backend.
struct ReadModelOptions {
  // kFull: each commit is synced before Commit() returns. kRelaxed: synced at WAL checkpoints;
  // a power loss may roll back the last batches, documents and checkpoint together, which the
  // engine then reprocesses (promise 5 holds either way). Default: kFull.
  Durability durability = Durability::kFull;
  bool create_if_missing = true;
  bool read_only = false;
};

class ReadModelBackend {
 public:
  virtual ~ReadModelBackend() = default;

  // Starts the write transaction, waiting while another one is open.
  // Errors: kFailedPrecondition (read-only), kUnavailable.
  virtual Result<std::unique_ptr<ReadModelTransaction>> BeginWrite() = 0;

  // Every projection record, ordered by name then version.
  virtual Result<std::vector<ProjectionRecord>> ListProjections() = 0;

  // The document `id` of the collection, with the checkpoint of `projection`@`version` read in
  // the same snapshot (0 if it has no record). Errors: kNotFound (no collection).
  virtual Result<DocumentRead> Get(std::string_view storage_name, std::string_view id,
                                   std::string_view projection, int32_t version) = 0;

  // Runs `query` on the collection; `as_of` is the checkpoint of `projection`@`version` read in
  // the same snapshot. Errors: kNotFound (no collection); kInvalidArgument (a filter or order on
  // a field without an index and !allow_scan, naming the field; a value of the wrong type; bad
  // limit; a cursor that does not belong to this query).
  virtual Result<QueryPage> Find(std::string_view storage_name, const Query& query,
                                 std::string_view projection, int32_t version) = 0;

  // Counts the documents matching `query.filters` (limit, order and cursor are ignored).
  // Errors: as Find.
  virtual Result<CountResult> Count(std::string_view storage_name, const Query& query,
                                    std::string_view projection, int32_t version) = 0;

  // Documents of the collection in id order with ids greater than `after_id`, at most `limit`.
  // Used to compare two versions (diff). Errors: kNotFound (no collection).
  virtual Result<std::vector<Document>> ScanDocuments(std::string_view storage_name,
                                                      std::string_view after_id, size_t limit) = 0;

  // Dead letters of `projection`@`version` in position order.
  virtual Result<std::vector<DeadLetter>> ListDeadLetters(std::string_view projection,
                                                          int32_t version) = 0;

  // A short description for people, e.g. "sqlite:/var/lib/triad/triad.db.readmodel".
  virtual std::string Describe() const = 0;

  // ---- Projection leases: one writer per projection among the processes sharing a store. ----
  //
  // A lease names a projection (its name, not name@version: the versions of one projection,
  // built side by side and then promoted, stay on one node). The projection engine runs a
  // projection's batches only while its backend object holds the lease, so that when several
  // processes ("nodes") open one shared store, each projection runs on exactly one of them.
  // A lease belongs to this backend object, not to a thread: every engine and thread using the
  // object shares it. Stores used by one process (SQLite, memory) grant every lease at once.
  //
  // The fence: a backend that can lose a lease (PostgreSQL: when its writer session ends) must
  // re-check its leases when BeginWrite() reopens the connection that commits, before returning
  // the transaction, so that HoldsLease() called after BeginWrite() is true only if a commit of
  // that transaction cannot race another holder. Callers check HoldsLease() after BeginWrite()
  // and roll back when it is false.

  // Tries to make this object the only writer of `projection` among the processes sharing the
  // store. Returns true when this object holds the lease (also when it already held it: then
  // without any round trip), false when another one does. Default: true.
  // Errors: kUnavailable (server unreachable; the lease is not held).
  // Thread-safety: any thread; may wait while a write transaction is open.
  virtual Result<bool> TryAcquireLease(std::string_view projection) {
    static_cast<void>(projection);
    return true;
  }

  // Whether this object still holds the lease of `projection`: false once it was released or
  // lost (the writer connection was reopened and another process had taken the lease meanwhile).
  // Never touches storage. Default: true.
  // Thread-safety: any thread, never waits for a transaction.
  virtual bool HoldsLease(std::string_view projection) {
    static_cast<void>(projection);
    return true;
  }

  // Gives up the lease of `projection` so that another process can take it; nothing when it is
  // not held (or the connection holding it is already gone). Default: nothing.
  // Thread-safety: any thread; may wait while a write transaction is open.
  virtual void ReleaseLease(std::string_view projection) { static_cast<void>(projection); }
};

// Opens the read-model store `uri` names: "sqlite:PATH" (or a bare PATH), "memory:" (lives as
// long as the object), or "postgres://…" / "postgresql://…" (libpq URI syntax plus `schema`,
// default "triad": the read model's rm_ tables live in the same schema as the event store, and
// several processes may open it at once). Errors: kInvalidArgument (unknown scheme, bad URI),
// kNotFound (missing and !create_if_missing or read_only), kDataLoss (not a Triad read-model
// file, or a newer schema), kUnavailable (file cannot be locked, server unreachable).
Result<std::unique_ptr<ReadModelBackend>> OpenReadModelBackend(const ReadModelOptions& options,
                                                               std::string_view uri);

// The read-model URI that goes with an event store URI: "sqlite:PATH" → "sqlite:PATH.readmodel";
// "memory:" → "memory:".
std::string DefaultReadModelUri(std::string_view event_store_uri);

}  // namespace triad
