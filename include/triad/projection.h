// Projections: handlers fed from the global log that keep documents in collections up to date.
//
//   triad::ProjectionDefinition accounts;
//   accounts.name = "accounts";
//   accounts.version = 1;
//   accounts.event_types = {"AccountOpened", "MoneyDeposited"};
//   accounts.collections = {{"accounts", {{"owner", triad::IndexType::kString}}}};
//   accounts.key = triad::DocumentKey::kStream;
//   accounts.on_event = [](const triad::EventView& e, triad::ProjectionContext& ctx) {
//     auto doc = ctx.Upsert("accounts", e.stream);
//     if (!doc.ok()) return doc.status();
//     (**doc)["events"] = (**doc).value("events", 0) + 1;
//     return triad::Status();
//   };
//
// Handlers must be deterministic functions of the event and the documents they read: the engine
// may run an event again after a crash (its earlier effect was rolled back with the batch) and a
// fresh read (ProjectionEngine::Get with fresh) runs events on a private copy of a document.
// A handler may throw: the exception counts as a handler failure with its what() as the error.
//
// Thread-safety: a definition is copied into the engine; its handlers are called from one
// engine thread at a time per projection version, and concurrently with other projections.
#pragma once

#include "triad/document.h"
#include "triad/event.h"
#include "triad/result.h"
#include "triad/status.h"

#include <nlohmann/json.hpp>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace triad {

// The documents a handler reads and writes. Changes are kept in memory and committed with the
// batch's checkpoint (promise 5); a failed handler call's changes are discarded.
//
// Writing a document (Upsert, Mutate) while handling an event sets its `_meta.position` to the
// event's position and `_meta.sources[event.stream]` to the event's version.
//
// Errors of every method: kInvalidArgument when `collection` is not declared by the projection
// or `id` is empty or over 512 bytes; kUnavailable/kInternal when storage fails (return it from
// the handler: the batch is retried, not skipped).
// Not thread-safe: valid only during the handler call that received it.
class ProjectionContext {
 public:
  virtual ~ProjectionContext() = default;

  // The document, or nullptr when it does not exist. Read-only: does not mark it written.
  virtual Result<const nlohmann::json*> Get(std::string_view collection, std::string_view id) = 0;

  // The document for changing in place, or nullptr when it does not exist.
  virtual Result<nlohmann::json*> Mutate(std::string_view collection, std::string_view id) = 0;

  // The document for changing in place, created as an empty object when it does not exist.
  virtual Result<nlohmann::json*> Upsert(std::string_view collection, std::string_view id) = 0;

  // Deletes the document if it exists.
  virtual Status Delete(std::string_view collection, std::string_view id) = 0;

  // Runs `query` on the collection as committed before this batch plus every change of this
  // batch, the running handler's own included (a tick that pages through "dormant = false" and
  // marks what it finds gets the next documents on the next page). For tick handlers that select
  // documents (e.g. "inactive since T"). Errors: as ReadModelBackend::Find; kResourceExhausted
  // when the batch holds more documents than its memory limit (max_batch_bytes), as every
  // method here.
  virtual Result<std::vector<Document>> Find(std::string_view collection, const Query& query) = 0;

  // The engine's clock, microseconds since the epoch. Event handlers should use the event's
  // recorded_at_us instead, to stay deterministic.
  virtual int64_t NowMicros() = 0;

  // True once the engine wants the running handler to stop early (ProjectionEngine::Stop): the
  // batch is then abandoned uncommitted whatever the handler returns, so a long handler may
  // return at once. Lua handlers are stopped between instructions without asking. Thread-safe.
  virtual bool Interrupted() const { return false; }
};

// Called for each event that passes the projection's filter, in position order.
using EventHandler = std::function<Status(const EventView& event, ProjectionContext& context)>;

// Called every ProjectionDefinition::tick_interval_us of the engine's clock with its time.
using TickHandler = std::function<Status(int64_t now_us, ProjectionContext& context)>;

// How documents relate to streams.
enum class DocumentKey {
  // One document per stream, keyed by the stream name (single-stream projection). A fresh read
  // of a document that does not exist yet reads the stream of the same name.
  kStream,
  // The handler chooses the keys, e.g. from event data (multi-stream projection).
  kHandlerChosen,
};

// What the engine does when a handler fails on an event. Never a silent skip.
enum class ErrorPolicy {
  // Stop and mark the projection faulted before the failing event (default). Resume retries it;
  // reset rebuilds from 0.
  kStop,
  // Skip the event, record it (DeadLetterKind::kSkipped) and go on.
  kSkip,
  // Park the event in the dead-letter list (DeadLetterKind::kParked) and go on; it can be
  // listed and replayed.
  kDeadLetter,
};

// When the engine runs a projection.
enum class TriggerMode {
  // Every commit through the store wakes it at once (other processes' commits within the
  // engine's poll interval).
  kPush,
  // Only ProjectionEngine::Trigger runs it.
  kManual,
};

// "stop", "skip", "dead_letter"; "push", "manual"; "stream", "handler".
std::string_view ErrorPolicyName(ErrorPolicy policy);
std::string_view TriggerModeName(TriggerMode mode);

struct ProjectionDefinition {
  // 1-64 characters of [a-z0-9_-], starting with a letter.
  std::string name;
  // >= 1. A new version of a registered name is built beside the serving one (blue/green).
  int32_t version = 1;
  // Event types it consumes; empty: every type. Pushed down into the log read.
  std::vector<std::string> event_types;
  // Stream categories it consumes; empty: every category. Combined with event_types by AND.
  std::vector<std::string> categories;
  // The collections it writes, with their indexes. At least one. A collection belongs to one
  // projection name.
  std::vector<CollectionSpec> collections;
  DocumentKey key = DocumentKey::kHandlerChosen;
  // Required.
  EventHandler on_event;
  // Optional; with tick_interval_us > 0 it is called on the engine's clock (clock trigger).
  TickHandler on_tick;
  int64_t tick_interval_us = 0;
  TriggerMode trigger = TriggerMode::kPush;
  ErrorPolicy error_policy = ErrorPolicy::kStop;
  // Record `_meta.sources` on documents (needed for fresh reads). A document written from many
  // streams (e.g. a total per branch) grows with them; turn it off for such projections.
  // Default: true.
  bool record_sources = true;
  // Events per batch (one transaction). 0: the engine's default.
  size_t batch_size = 0;
  // Bytes of documents one batch may hold in memory (loaded or written, approximate). Past it
  // the batch commits the events before the one that crossed it and goes on in a new batch; an
  // event that crosses it alone fails with kResourceExhausted naming the limit (then the error
  // policy applies). 0: the engine's default (EngineOptions::max_batch_bytes).
  size_t max_batch_bytes = 0;
};

// The projection's "name@version".
std::string ProjectionKeyString(std::string_view name, int32_t version);

}  // namespace triad
