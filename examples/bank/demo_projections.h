// The read side of bank_demo: a projection engine beside the store, and a step that queries the
// projections' documents (by owner and branch through indexes, read-your-own-write, a fresh read
// while the projection is paused, and the projections' statuses).
//
// Thread-safety: called from the demo's main thread only (the engine runs its own workers).
#pragma once

#include "bank/bank.h"
#include "bank/demo_report.h"

#include "triad/event_store.h"
#include "triad/projection_engine.h"
#include "triad/result.h"

#include <memory>
#include <string>
#include <string_view>

namespace bank::demo {

// Opens the engine on the read model next to `store_uri` (triad::DefaultReadModelUri: for
// "sqlite:bank-demo.db", "sqlite:bank-demo.db.readmodel"), registers the bank's projections and
// starts their workers, so that they catch up while the demo runs its commands.
// Errors: those of ProjectionEngine::Open, Register and Start.
triad::Result<std::unique_ptr<triad::ProjectionEngine>> StartProjections(
    triad::EventStore& store, std::string_view store_uri);

// The accounts of this run the read-side step uses: Ada's (closed by then) and a fresh one it
// opens with an overdraft limit.
struct ReadSideIds {
  std::string ada;
  std::string overdraft;
};

// Runs the read-side step. Unexpected outcomes go to report.Unexpected().
void ShowReadSide(Bank& bank, Report& report, triad::EventStore& store,
                  triad::ProjectionEngine& engine, const ReadSideIds& ids);

}  // namespace bank::demo
