// The `branch_totals` projection: one document per branch with its account counts and the sum
// of its balances. A multi-stream projection: every account stream of a branch updates the same
// document, whose id (the branch) the handler takes from the event data.
//
//   collection "branch_totals", id = the branch ("london"):
//   {"branch": "london", "accounts": 12, "open_accounts": 11, "balance_cents": 1234500}
//
//   collection "branch_accounts", id = the account stream ("account-101"):
//   {"branch": "london", "open": true}
//
// Deposits and withdrawals do not name the branch (they record money moving, not where the
// account lives), so the projection keeps its own account -> branch lookup in branch_accounts.
// A projection may read only the collections it writes: the accounts projection's documents
// could be at another position, and reading them would make this one depend on that one's
// progress.
//
// Thread-safety: the definition is a value; its handler is called by the engine.
#pragma once

#include "triad/projection.h"

#include <string_view>

namespace bank {

inline constexpr std::string_view kBranchTotalsCollection = "branch_totals";
inline constexpr std::string_view kBranchAccountsCollection = "branch_accounts";

// The definition: name "branch_totals", version 1, the account category and event types,
// DocumentKey::kHandlerChosen, record_sources = false (see the .cc for why).
triad::ProjectionDefinition BranchTotalsProjection();

}  // namespace bank
