// BatchContext: the ProjectionContext of one batch (or one tick, or one fresh read).
//
// Documents a batch touches are loaded once into a cache, changed in memory and written once at
// the end (Flush). Each handler call works on an overlay of the cache: its changes are merged
// only when the call succeeds (CommitCall), so a failed event leaves no trace (AbortCall).
//
// Find runs in SQL on the batch's transaction, so it first writes the batch's changes there,
// the running call's included (a tick paging through documents it marks sees them change). When
// a call that did so fails, its writes are in the transaction: AbortCall then has the runner
// drop the transaction (SetTransactionDiscarder), and the next one gets every change of the
// batch written again.
//
// Memory: the documents a batch holds (loaded or written, in the cache and the call's overlay)
// are counted (approximately, in bytes of their JSON); past SetMemoryLimit every method fails
// with kResourceExhausted naming the limit, and EndCall reports it so the runner can commit the
// events before the call and retry it in a new batch.
//
// Thread-safety: none; one BatchContext per batch, used by the thread running the batch.
#pragma once

#include "triad/clock.h"
#include "triad/document.h"
#include "triad/projection.h"
#include "triad/read_model_backend.h"

#include <nlohmann/json.hpp>

#include <atomic>
#include <cstddef>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace triad::internal {

// A document as a batch sees it.
struct CachedDocument {
  // nullopt: the document does not exist (never did, or deleted by this batch).
  std::optional<nlohmann::json> body;
  DocumentMeta meta;
  // Changed since it was loaded or last flushed.
  bool dirty = false;
  // Written to the current transaction by Flush (written again if that transaction is dropped).
  bool flushed = false;
  // In the overlay: handed out for changing since Find last wrote it to the transaction.
  bool changed_since_written = false;
  // Approximate bytes of `body`, as counted in the batch's total.
  size_t bytes = 0;
};

// Logical collection name → storage name, for one projection version.
using StorageNames = std::map<std::string, std::string, std::less<>>;

class BatchContext final : public ProjectionContext {
 public:
  // `definition`, `storage`, `backend` and `clock` must outlive the context.
  BatchContext(const ProjectionDefinition& definition, const StorageNames& storage,
               ReadModelBackend& backend, Clock& clock);

  // Loads documents through `txn` from now on (it sees the batch's flushed writes).
  void SetTransaction(ReadModelTransaction* txn) { txn_ = txn; }
  // How Find gets a transaction that sees the batch's writes: the batch opens its transaction
  // lazily. Without an opener, Find reads the committed store (fresh reads).
  void SetTransactionOpener(std::function<Result<ReadModelTransaction*>()> opener) {
    opener_ = std::move(opener);
  }
  // How AbortCall drops the transaction after a failed call's changes were written to it (by
  // Find); it must also call SetTransaction(nullptr).
  void SetTransactionDiscarder(std::function<void()> discarder) {
    discarder_ = std::move(discarder);
  }
  // Bytes of documents the batch may hold; 0: no limit.
  void SetMemoryLimit(size_t max_bytes) { max_bytes_ = max_bytes; }
  // The count the engine raises above 0 to stop the running handler (Interrupted()); nullptr:
  // never.
  void SetInterrupt(const std::atomic<int>* interrupt) { interrupt_ = interrupt; }

  // Starts a handler call for `event` (nullptr: a tick, which leaves `_meta` unchanged).
  void BeginCall(const EventView* event);
  // Ends the handler's call before CommitCall/AbortCall: counts the documents it changed.
  // Returns kResourceExhausted when the batch holds more than the memory limit.
  Status EndCall();
  // Merges the call's changes into the batch.
  void CommitCall();
  // Discards the call's changes (and the transaction, if they were written to it).
  void AbortCall();
  // The first storage failure seen during the current call (OK if none): a handler error caused
  // by it means "retry the batch", not "the event is bad".
  const Status& storage_error() const { return storage_error_; }

  // Writes every changed document through `txn` and marks them clean.
  Status Flush(ReadModelTransaction& txn);
  // The batch's view of a document (after CommitCall), or nullptr if it was never touched.
  const CachedDocument* Cached(std::string_view collection, std::string_view id) const;

  Result<const nlohmann::json*> Get(std::string_view collection, std::string_view id) override;
  Result<nlohmann::json*> Mutate(std::string_view collection, std::string_view id) override;
  Result<nlohmann::json*> Upsert(std::string_view collection, std::string_view id) override;
  Status Delete(std::string_view collection, std::string_view id) override;
  Result<std::vector<Document>> Find(std::string_view collection, const Query& query) override;
  int64_t NowMicros() override { return clock_.NowMicros(); }
  bool Interrupted() const override {
    return interrupt_ != nullptr && interrupt_->load(std::memory_order_relaxed) > 0;
  }
  // Approximate bytes of documents the batch holds.
  size_t held_bytes() const { return held_bytes_; }

 private:
  using Key = std::pair<std::string, std::string>;

  // The storage name of `collection`, checking `id` too (empty id: not checked).
  Result<std::string_view> Storage(std::string_view collection, std::string_view id) const;
  // The batch's entry for the document, loading it on first use.
  Result<CachedDocument*> Load(std::string_view collection, std::string_view id);
  // The call's private copy of the document.
  Result<CachedDocument*> Writable(std::string_view collection, std::string_view id);
  void Stamp(CachedDocument& doc) const;
  Status NoteStorage(Status status);
  // Writes one document of `collection` through `txn`.
  Status Write(ReadModelTransaction& txn, const std::string& collection, const std::string& id,
               CachedDocument& doc);
  // Counts the document last handed out for changing, and checks the memory limit: the status
  // every method returns first (OK under the limit).
  Status Settle();
  // Sets `doc.bytes` from its body and adjusts the total.
  void Count(CachedDocument& doc);

  const ProjectionDefinition& definition_;
  const StorageNames& storage_;
  ReadModelBackend& backend_;
  Clock& clock_;
  std::string projection_key_;
  ReadModelTransaction* txn_ = nullptr;
  std::function<Result<ReadModelTransaction*>()> opener_;
  std::function<void()> discarder_;
  const std::atomic<int>* interrupt_ = nullptr;

  std::map<Key, CachedDocument> cache_;
  std::map<Key, CachedDocument> overlay_;
  bool in_event_ = false;
  std::string event_stream_;
  StreamVersion event_version_ = 0;
  Position event_position_ = 0;
  Status storage_error_;
  // The running call's changes were written to the transaction (by Find).
  bool call_in_txn_ = false;

  size_t max_bytes_ = 0;
  size_t held_bytes_ = 0;
  // The overlay document handed out for changing, not yet counted.
  CachedDocument* unsettled_ = nullptr;
  Status limit_error_;
};

// Approximate bytes of a JSON value in memory (strings and keys, plus a fixed cost per value).
size_t ApproxJsonBytes(const nlohmann::json& value);

// Parses a stored document body into JSON. Errors: kDataLoss when it is not a JSON object.
Result<nlohmann::json> ParseBody(std::string_view collection, const Document& document);

}  // namespace triad::internal
