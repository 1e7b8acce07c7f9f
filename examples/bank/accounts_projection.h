// The `accounts` projection: one document per account, kept up to date from its stream, so that
// accounts can be read by id and queried by owner, branch, status or balance without loading a
// single aggregate.
//
//   collection "accounts", id = the stream ("account-101"):
//   {"account_id": "101", "owner": "Ada Lovelace", "branch": "london",
//    "balance_cents": 7000, "overdraft_limit_cents": 0, "status": "open",
//    "opened_at_us": 1767225600000000, "last_activity_at_us": 1767225600500000}
//
// status is "open", "overdrawn" (open with a negative balance) or "closed". Times are the
// recorded_at of events, never the clock, so that a rebuild produces the same documents.
// Indexes: owner, branch, status (string), balance_cents (number).
//
// Thread-safety: the definition is a value; its handler is called by the engine.
#pragma once

#include "triad/event.h"
#include "triad/projection.h"
#include "triad/status.h"

#include <nlohmann/json.hpp>

#include <string_view>

namespace bank {

inline constexpr std::string_view kAccountsCollection = "accounts";

// "open", "overdrawn" or "closed" in the accounts projection's documents.
inline constexpr std::string_view kStatusOpen = "open";
inline constexpr std::string_view kStatusOverdrawn = "overdrawn";
inline constexpr std::string_view kStatusClosed = "closed";

// True iff `type` is one of the four account event types.
bool IsAccountEvent(std::string_view type);

// Folds one account event into `account`, its document (an empty object before its
// AccountOpened); other event types leave it unchanged. Pure: the projection's handler and the
// benchmarks run the same code.
// Errors: kDataLoss when the event data is not what its type promises, or when an event other
// than AccountOpened arrives for an account with no document.
triad::Status ApplyAccountEvent(const triad::EventView& event, nlohmann::json& account);

// The definition: name "accounts", version 1, the account category and event types only,
// DocumentKey::kStream, ErrorPolicy::kStop (a bad event faults it instead of being skipped:
// a wrong balance is worse than a stale one).
triad::ProjectionDefinition AccountsProjection();

}  // namespace bank
