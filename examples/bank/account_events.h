// The events of a bank account, and the JSON they carry.
//
//   AccountOpened   {"account_id": "101", "owner": "Ada Lovelace", "branch": "london",
//                    "overdraft_limit_cents": 5000}      (the limit only when not 0)
//   MoneyDeposited  {"amount_cents": 2500}
//   MoneyWithdrawn  {"amount_cents": 1000}
//   AccountClosed   {}
//
// Amounts are integer cents. Events are facts: they record what happened, never a derived value
// such as the balance, which evolve computes (account.h).
//
// Thread-safety: free functions on values.
#pragma once

#include "triad/event.h"
#include "triad/result.h"

#include <cstdint>
#include <string_view>

namespace bank {

inline constexpr std::string_view kAccountOpened = "AccountOpened";
inline constexpr std::string_view kMoneyDeposited = "MoneyDeposited";
inline constexpr std::string_view kMoneyWithdrawn = "MoneyWithdrawn";
inline constexpr std::string_view kAccountClosed = "AccountClosed";

// Errors: kInvalidArgument when a text is not valid UTF-8.
triad::Result<triad::NewEvent> AccountOpenedEvent(std::string_view account_id,
                                                  std::string_view owner, std::string_view branch,
                                                  int64_t overdraft_limit_cents = 0);
triad::NewEvent MoneyDepositedEvent(int64_t amount_cents);
triad::NewEvent MoneyWithdrawnEvent(int64_t amount_cents);
triad::NewEvent AccountClosedEvent();

}  // namespace bank
