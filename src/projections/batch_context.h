// BatchContext: the ProjectionContext of one batch (or one tick, or one fresh read).
//
// Documents a batch touches are loaded once into a cache, changed in memory and written once at
// the end (Flush). Each handler call works on an overlay of the cache: its changes are merged
// only when the call succeeds (CommitCall), so a failed event leaves no trace (AbortCall).
//
// Thread-safety: none; one BatchContext per batch, used by the thread running the batch.
#pragma once

#include "triad/clock.h"
#include "triad/document.h"
#include "triad/projection.h"
#include "triad/read_model_backend.h"

#include <nlohmann/json.hpp>

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

  // Starts a handler call for `event` (nullptr: a tick, which leaves `_meta` unchanged).
  void BeginCall(const EventView* event);
  // Merges the call's changes into the batch.
  void CommitCall();
  // Discards the call's changes.
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

  const ProjectionDefinition& definition_;
  const StorageNames& storage_;
  ReadModelBackend& backend_;
  Clock& clock_;
  std::string projection_key_;
  ReadModelTransaction* txn_ = nullptr;
  std::function<Result<ReadModelTransaction*>()> opener_;

  std::map<Key, CachedDocument> cache_;
  std::map<Key, CachedDocument> overlay_;
  bool in_event_ = false;
  std::string event_stream_;
  StreamVersion event_version_ = 0;
  Position event_position_ = 0;
  Status storage_error_;
};

// Parses a stored document body into JSON. Errors: kDataLoss when it is not a JSON object.
Result<nlohmann::json> ParseBody(std::string_view collection, const Document& document);

}  // namespace triad::internal
