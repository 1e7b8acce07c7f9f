// The invariants `triad check` verifies, over any Backend.
#pragma once

#include "triad/backend.h"
#include "triad/event_store.h"

namespace triad::internal {

// Reads the whole log and every stream summary and reports each violated invariant:
// positions dense from 1 to the head, versions dense from 0 per stream, summaries equal to the
// events, data and metadata JSON objects, plus Backend::CheckStorage(). O(events) time,
// O(streams) memory.
Result<CheckReport> CheckIntegrity(Backend& backend);

}  // namespace triad::internal
