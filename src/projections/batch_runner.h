// One unit of projection work, each in one read-model transaction: a batch of events, a tick,
// or the replay of one dead letter. The engine decides when to run them; these functions do
// the work and keep promise 5 (documents and checkpoint commit together).
//
// Every function verifies, inside its transaction, that the stored record still has the value
// the work started from, and fails with kAborted otherwise (another engine moved it): the
// caller reloads the record and tries again.
//
// Leases (ReadModelBackend::TryAcquireLease): every function also fails with kAborted, before
// committing anything, when the backend no longer holds the lease of the projection's name,
// checked right after BeginWrite() (where a lost connection is reopened and its leases
// re-taken) and again before the commit. The caller takes the lease before calling.
//
// Thread-safety: the caller runs at most one of these at a time per projection version.
#pragma once

#include "triad/clock.h"
#include "triad/event_store.h"
#include "triad/projection.h"
#include "triad/read_model_backend.h"

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "projections/batch_context.h"

namespace triad::internal {

// What a projection's work runs against.
struct WorkEnv {
  EventStore& store;
  ReadModelBackend& backend;
  Clock& clock;
  size_t default_batch_size;
  // Bytes of documents a batch may hold unless the projection sets max_batch_bytes; 0: no limit.
  size_t default_max_batch_bytes = 0;
};

// The projection's code and storage.
struct WorkTarget {
  const ProjectionDefinition& definition;
  const StorageNames& storage;
  // Above 0 when the engine wants the work stopped (ProjectionContext::Interrupted); nullptr:
  // never.
  const std::atomic<int>* interrupt = nullptr;
};

struct BatchOutcome {
  // The record as committed.
  ProjectionRecord record;
  // Events given to the handler (failed ones included).
  int64_t events = 0;
  // The handler's error when the batch stopped on it (ErrorPolicy::kStop); the record is then
  // faulted.
  Status fault;
};

// Runs the events after `record.checkpoint`, up to `target` and at most one batch of them (fewer
// when the batch's documents reach the memory limit: the events before the one that crossed it
// are committed). Errors: kAborted (the stored record moved), kCancelled (work.interrupt went
// above 0: the batch was abandoned), storage errors; nothing was committed on any error.
Result<BatchOutcome> RunBatch(const WorkEnv& env, const WorkTarget& work,
                              const ProjectionRecord& record, Position target);

// Calls the tick handler with `now_us` and records the tick. Returns the committed record.
// Errors: kAborted (the stored record moved), kCancelled (interrupted), storage errors.
Result<ProjectionRecord> RunTick(const WorkEnv& env, const WorkTarget& work,
                                 const ProjectionRecord& record, int64_t now_us);

// Runs the handler again on `letter`'s event; on success removes the letter, else stores it
// again with the new error and attempts + 1. Returns whether it succeeded.
// Errors: kNotFound (the event is gone), kCancelled (interrupted), storage errors.
Result<bool> ReplayDeadLetter(const WorkEnv& env, const WorkTarget& work, DeadLetter letter);

// Calls `work.definition.on_event`, turning an exception into an error.
Status CallEventHandler(const ProjectionDefinition& definition, const EventView& event,
                        ProjectionContext& context);

}  // namespace triad::internal
