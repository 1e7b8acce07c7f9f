// The `dormant_accounts` projection: which open accounts have had no activity for a while.
// A clock-triggered projection: events record activity, and a tick every hour marks the
// accounts whose last activity is older than the dormancy period.
//
//   collection "dormant_accounts", id = the account stream ("account-101"):
//   {"account_id": "101", "owner": "Ada Lovelace", "branch": "london",
//    "last_activity_at_us": 1767225600500000, "dormant": true,
//    "dormant_since_us": 1775001600000000}      (dormant_since_us only while dormant)
//
// Opening, depositing and withdrawing are activity: they set last_activity_at_us to the event's
// recorded_at and clear the mark. A closed account cannot become dormant: its document is
// deleted. Indexes: dormant (bool), last_activity_at_us (number).
//
// Events set times from recorded_at, so replaying them is deterministic; only the tick reads the
// clock (ProjectionContext::NowMicros, the engine's clock, simulated in tests).
//
// Thread-safety: the definition is a value; its handlers are called by the engine.
#pragma once

#include "triad/projection.h"
#include "triad/status.h"

#include <cstdint>
#include <string_view>

namespace bank {

inline constexpr std::string_view kDormantCollection = "dormant_accounts";

struct DormantOptions {
  // An account with no activity for this long is dormant. Default: 90 days.
  int64_t dormant_after_us = int64_t{90} * 24 * 3600 * 1'000'000;
  // How often the tick looks for newly dormant accounts. Default: 1 hour.
  int64_t tick_interval_us = int64_t{3600} * 1'000'000;
};

// Marks every open account of the collection inactive since before now_us - dormant_after_us.
// Returns how many it marked. Errors: those of ProjectionContext.
triad::Result<int64_t> MarkDormantAccounts(int64_t now_us, int64_t dormant_after_us,
                                           triad::ProjectionContext& ctx);

// The definition: name "dormant_accounts", version 1, the account category and event types,
// DocumentKey::kStream, a tick every options.tick_interval_us.
triad::ProjectionDefinition DormantAccountsProjection(const DormantOptions& options = {});

}  // namespace bank
