// The commands of a bank account: the decide half of the aggregate.
//
// Each command is a value; Decide(state) either refuses it with an error Status or returns the
// events that record it. Deciding is pure (no I/O, no clock), so AggregateRepository::Execute()
// can run it again after a version conflict, on the newer state.
//
// Refusals, by code:
//   kInvalidArgument     the command itself is malformed (empty owner, amount <= 0 or too big);
//                        retrying it unchanged cannot succeed;
//   kNotFound            the account was never opened;
//   kAlreadyExists       opening an account that already exists;
//   kFailedPrecondition  the account's state forbids it: a withdrawal beyond the overdraft
//                        limit, a closed account,
//                        closing with a non-zero balance, a balance over the maximum.
//
// Thread-safety: plain values and pure functions.
#pragma once

#include "bank/account.h"

#include "triad/event.h"
#include "triad/result.h"

#include <cstdint>
#include <string>
#include <vector>

namespace bank {

using Decision = triad::Result<std::vector<triad::NewEvent>>;

// Opens an account: AccountOpened, then MoneyDeposited when initial_deposit_cents > 0, in one
// atomic append.
struct OpenAccount {
  std::string account_id;
  std::string owner;
  std::string branch;
  // Optional; 0 for none. Must be >= 0.
  int64_t initial_deposit_cents = 0;
  // How far below zero withdrawals may take the balance (the account is then "overdrawn" in the
  // accounts projection). 0 for none, the default; at most kMaxAmountCents.
  int64_t overdraft_limit_cents = 0;

  Decision Decide(const Account& account) const;
};

// Adds money to an open account: MoneyDeposited.
struct DepositMoney {
  std::string account_id;
  int64_t amount_cents = 0;

  Decision Decide(const Account& account) const;
};

// Takes money from an open account: MoneyWithdrawn. Refuses to take the balance below
// -overdraft_limit_cents (below 0 for an account opened without an overdraft).
struct WithdrawMoney {
  std::string account_id;
  int64_t amount_cents = 0;

  Decision Decide(const Account& account) const;
};

// Closes an open account: AccountClosed. Refuses while the balance is not zero, because closing
// must not make money disappear; withdraw the rest first.
struct CloseAccount {
  std::string account_id;

  Decision Decide(const Account& account) const;
};

}  // namespace bank
