#include "projections/batch_runner.h"

#include "util/status_macros.h"

#include <algorithm>
#include <exception>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace triad::internal {

namespace {

// kAborted unless this backend object still holds the lease of `projection` (another node sharing
// the store took it over): the work must not commit, and the caller goes back to standby.
Status CheckLease(ReadModelBackend& backend, std::string_view projection) {
  if (backend.HoldsLease(projection)) return Status::OK();
  return AbortedError("the lease of projection '" + std::string(projection) +
                      "' was lost: another node runs it now");
}

// Lazily opens the batch's one write transaction, so that reads before the first Find (or the
// final commit) do not hold the backend's single writer.
class LazyTransaction {
 public:
  LazyTransaction(ReadModelBackend& backend, BatchContext& context, std::string_view projection)
      : backend_(backend), context_(context), projection_(projection) {}

  // Rolls the transaction back; Get() opens a new one.
  void Discard() {
    txn_.reset();
    context_.SetTransaction(nullptr);
  }

  Result<ReadModelTransaction*> Get() {
    if (!txn_) {
      TRIAD_ASSIGN_OR_RETURN(auto txn, backend_.BeginWrite());
      // The fence. BeginWrite is where a backend reopens a lost writer connection and re-takes
      // its leases (dropping those another node took meanwhile), so a lease still held here is
      // held by the session this transaction commits on; if that session dies before the
      // commit, the commit fails with it. A lost lease rolls the transaction back (`txn` is
      // destroyed) before anything is written.
      TRIAD_RETURN_IF_ERROR(CheckLease(backend_, projection_));
      txn_ = std::move(txn);
      context_.SetTransaction(txn_.get());
    }
    return txn_.get();
  }

 private:
  ReadModelBackend& backend_;
  BatchContext& context_;
  std::string_view projection_;
  std::unique_ptr<ReadModelTransaction> txn_;
};

// The stored record, verified to be the one the work started from.
Result<ProjectionRecord> CurrentRecord(ReadModelTransaction& txn, const ProjectionRecord& start) {
  TRIAD_ASSIGN_OR_RETURN(auto stored, txn.GetProjection(start.name, start.version));
  const std::string key = ProjectionKeyString(start.name, start.version);
  if (!stored) return AbortedError("projection " + key + " was deleted meanwhile");
  if (stored->retired) return AbortedError("projection " + key + " was retired meanwhile");
  if (stored->checkpoint != start.checkpoint || stored->last_tick_us != start.last_tick_us) {
    return AbortedError("the checkpoint of " + key + " moved from " +
                        std::to_string(start.checkpoint) + " to " +
                        std::to_string(stored->checkpoint) + " meanwhile");
  }
  // An operator action on another node sharing the store (pause, trigger up to P) changed the
  // record since the work read it: the caller reloads it and decides again.
  if (stored->paused != start.paused || stored->faulted != start.faulted ||
      stored->stop_at != start.stop_at) {
    return AbortedError("the record of " + key + " was changed meanwhile");
  }
  return std::move(*stored);
}

// Sets up `context` for `work`: its limits, its interrupt, its lazy transaction.
void Prepare(BatchContext& context, LazyTransaction& txn, const WorkEnv& env,
             const WorkTarget& work) {
  const ProjectionDefinition& def = work.definition;
  context.SetMemoryLimit(def.max_batch_bytes > 0 ? def.max_batch_bytes
                                                 : env.default_max_batch_bytes);
  context.SetInterrupt(work.interrupt);
  context.SetTransactionOpener([&txn] { return txn.Get(); });
  context.SetTransactionDiscarder([&txn] { txn.Discard(); });
}

Status Interrupted(const ProjectionDefinition& definition) {
  return CancelledError("projection " + ProjectionKeyString(definition.name, definition.version) +
                        ": the work was interrupted (the engine is stopping, or the projection "
                        "was paused or reset) and abandoned without committing");
}

Status CallTickHandler(const ProjectionDefinition& definition, int64_t now_us,
                       ProjectionContext& context) {
  try {
    return definition.on_tick(now_us, context);
  } catch (const std::exception& e) {
    return InternalError(std::string("tick handler threw: ") + e.what());
  } catch (...) {
    return InternalError("tick handler threw a non-standard exception");
  }
}

DeadLetter LetterFor(const ProjectionDefinition& definition, const EventView& event,
                     const Status& error, int64_t now_us) {
  return DeadLetter{.projection = definition.name,
                    .version = definition.version,
                    .position = event.position,
                    .stream = std::string(event.stream),
                    .stream_version = event.version,
                    .event_type = std::string(event.type),
                    .error = error.message(),
                    .kind = definition.error_policy == ErrorPolicy::kSkip ? DeadLetterKind::kSkipped
                                                                          : DeadLetterKind::kParked,
                    .recorded_at_us = now_us,
                    .attempts = 1};
}

}  // namespace

Status CallEventHandler(const ProjectionDefinition& definition, const EventView& event,
                        ProjectionContext& context) {
  try {
    return definition.on_event(event, context);
  } catch (const std::exception& e) {
    return InternalError(std::string("handler threw: ") + e.what());
  } catch (...) {
    return InternalError("handler threw a non-standard exception");
  }
}

Result<BatchOutcome> RunBatch(const WorkEnv& env, const WorkTarget& work,
                              const ProjectionRecord& record, Position target) {
  const ProjectionDefinition& def = work.definition;
  const Position start = record.checkpoint;
  BatchOutcome outcome;
  outcome.record = record;
  if (target <= start) return outcome;
  const size_t batch = def.batch_size > 0 ? def.batch_size : env.default_batch_size;
  // Positions are dense, so (start, target] holds at most target - start events.
  const size_t limit = std::min(batch, static_cast<size_t>(target - start));

  BatchContext context(def, work.storage, env.backend, env.clock);
  LazyTransaction txn(env.backend, context, def.name);
  Prepare(context, txn, env, work);

  std::vector<DeadLetter> letters;
  Status storage_failure;
  Position fault_position = 0;
  Position last = start;
  size_t visited = 0;
  bool passed_target = false;
  bool interrupted = false;
  // The batch's documents crossed the memory limit in an event after the first: the events
  // before it commit now, and it starts the next batch.
  bool full = false;
  ReadAllOptions read{.from_position = start + 1,
                      .limit = limit,
                      .types = def.event_types,
                      .categories = def.categories};
  // The handler runs inside the visitor: the view is valid only during the call.
  auto scanned = env.store.ScanAll(read, [&](const EventView& event) {
    if (event.position > target) {
      passed_target = true;
      return false;
    }
    context.BeginCall(&event);
    Status status = CallEventHandler(def, event, context);
    if (context.Interrupted()) {
      context.AbortCall();
      interrupted = true;
      return false;
    }
    if (Status limit = context.EndCall(); !limit.ok()) {
      if (outcome.events > 0) {
        context.AbortCall();
        full = true;
        return false;
      }
      // Alone over the limit: the event fails whatever the handler made of the error.
      if (status.ok() || status.code() == StatusCode::kInvalidArgument) status = limit;
    }
    if (status.ok()) {
      context.CommitCall();
    } else {
      context.AbortCall();
      if (!context.storage_error().ok()) {
        storage_failure = context.storage_error();
        return false;
      }
      if (def.error_policy == ErrorPolicy::kStop) {
        outcome.fault = status;
        fault_position = event.position;
        ++outcome.events;
        return false;
      }
      letters.push_back(LetterFor(def, event, status, env.clock.NowMicros()));
    }
    ++outcome.events;
    ++visited;
    last = event.position;
    return true;
  });
  if (!scanned.ok()) return scanned.status();
  if (interrupted) return Interrupted(def);
  TRIAD_RETURN_IF_ERROR(storage_failure);

  Position checkpoint;
  if (!outcome.fault.ok()) {
    checkpoint = fault_position - 1;
  } else if (!full && (passed_target || visited < limit)) {
    // The scan reached the end of the filtered log below target: filtered-out events up to
    // target are done too (promise 2: nothing below target can appear later). A batch that
    // stopped early at the memory limit (`full`) ends at its last event instead.
    checkpoint = target;
  } else {
    checkpoint = last;
  }

  TRIAD_ASSIGN_OR_RETURN(ReadModelTransaction * t, txn.Get());
  TRIAD_ASSIGN_OR_RETURN(ProjectionRecord stored, CurrentRecord(*t, record));
  TRIAD_RETURN_IF_ERROR(context.Flush(*t));
  for (const DeadLetter& letter : letters) TRIAD_RETURN_IF_ERROR(t->PutDeadLetter(letter));
  stored.checkpoint = checkpoint;
  if (!letters.empty()) {
    stored.last_error = letters.back().error;
    stored.last_error_position = letters.back().position;
  }
  if (!outcome.fault.ok()) {
    stored.faulted = true;
    stored.last_error = outcome.fault.message();
    stored.last_error_position = fault_position;
  }
  if (stored.stop_at > 0 && checkpoint >= stored.stop_at) {
    stored.paused = true;
    stored.stop_at = 0;
  }
  TRIAD_RETURN_IF_ERROR(t->PutProjection(stored));
  // Checked again just before the commit: cheap (no round trip), and it keeps the rule local
  // ("no commit without the lease") even if a backend could drop a lease mid-transaction.
  TRIAD_RETURN_IF_ERROR(CheckLease(env.backend, def.name));
  TRIAD_RETURN_IF_ERROR(t->Commit());
  outcome.record = std::move(stored);
  return outcome;
}

Result<ProjectionRecord> RunTick(const WorkEnv& env, const WorkTarget& work,
                                 const ProjectionRecord& record, int64_t now_us) {
  const ProjectionDefinition& def = work.definition;
  BatchContext context(def, work.storage, env.backend, env.clock);
  LazyTransaction txn(env.backend, context, def.name);
  Prepare(context, txn, env, work);
  context.BeginCall(nullptr);
  Status status = CallTickHandler(def, now_us, context);
  if (context.Interrupted()) {
    context.AbortCall();
    return Interrupted(def);
  }
  if (Status limit = context.EndCall(); !limit.ok()) {
    if (status.ok() || status.code() == StatusCode::kInvalidArgument) status = limit;
  }
  if (!status.ok()) {
    context.AbortCall();
    if (!context.storage_error().ok()) return context.storage_error();
  } else {
    context.CommitCall();
  }
  TRIAD_ASSIGN_OR_RETURN(ReadModelTransaction * t, txn.Get());
  TRIAD_ASSIGN_OR_RETURN(ProjectionRecord stored, CurrentRecord(*t, record));
  TRIAD_RETURN_IF_ERROR(context.Flush(*t));
  if (status.ok() || def.error_policy != ErrorPolicy::kStop) {
    // Ticks stay on the grid of the first one; missed ticks are not run one by one.
    const int64_t interval = def.tick_interval_us;
    const int64_t base = stored.last_tick_us;
    stored.last_tick_us = base + ((now_us - base) / interval) * interval;
  }
  if (!status.ok()) {
    stored.last_error = status.message();
    stored.last_error_position = 0;
    if (def.error_policy == ErrorPolicy::kStop) stored.faulted = true;
  }
  TRIAD_RETURN_IF_ERROR(t->PutProjection(stored));
  // Checked again just before the commit: cheap (no round trip), and it keeps the rule local
  // ("no commit without the lease") even if a backend could drop a lease mid-transaction.
  TRIAD_RETURN_IF_ERROR(CheckLease(env.backend, def.name));
  TRIAD_RETURN_IF_ERROR(t->Commit());
  return stored;
}

Result<bool> ReplayDeadLetter(const WorkEnv& env, const WorkTarget& work, DeadLetter letter) {
  const ProjectionDefinition& def = work.definition;
  ReadAllOptions read{.from_position = letter.position, .limit = 1};
  TRIAD_ASSIGN_OR_RETURN(auto events, env.store.ReadAll(read));
  if (events.empty() || events.front().position != letter.position) {
    return NotFoundError("event at position " + std::to_string(letter.position) +
                         " of dead letter is not in the log");
  }
  const EventView event = ViewOf(events.front());
  BatchContext context(def, work.storage, env.backend, env.clock);
  LazyTransaction txn(env.backend, context, def.name);
  Prepare(context, txn, env, work);
  // Loads go through the transaction, so the replay sees the documents it then writes.
  TRIAD_ASSIGN_OR_RETURN(ReadModelTransaction * t, txn.Get());
  context.BeginCall(&event);
  Status status = CallEventHandler(def, event, context);
  if (context.Interrupted()) {
    context.AbortCall();
    return Interrupted(def);
  }
  if (Status limit = context.EndCall(); !limit.ok()) {
    if (status.ok() || status.code() == StatusCode::kInvalidArgument) status = limit;
  }
  if (!status.ok()) {
    context.AbortCall();
    if (!context.storage_error().ok()) return context.storage_error();
    // The call's writes may have reached the transaction (Find): AbortCall dropped it then.
    TRIAD_ASSIGN_OR_RETURN(t, txn.Get());
    letter.error = status.message();
    letter.attempts += 1;
    TRIAD_RETURN_IF_ERROR(t->PutDeadLetter(letter));
    TRIAD_RETURN_IF_ERROR(CheckLease(env.backend, def.name));
    TRIAD_RETURN_IF_ERROR(t->Commit());
    return false;
  }
  context.CommitCall();
  TRIAD_RETURN_IF_ERROR(context.Flush(*t));
  TRIAD_RETURN_IF_ERROR(t->DeleteDeadLetter(letter.projection, letter.version, letter.position));
  TRIAD_RETURN_IF_ERROR(CheckLease(env.backend, def.name));
  TRIAD_RETURN_IF_ERROR(t->Commit());
  return true;
}

}  // namespace triad::internal
