// The bank account aggregate: its state, and how events change it (evolve).
//
// An account lives in the stream "account-<id>". Its state is folded from the stream's events by
// EvolveAccount(); the commands that produce those events are in account_commands.h, and
// AccountDefinition() ties both to triad::AggregateRepository.
//
// Thread-safety: Account is a plain value; the functions are pure.
#pragma once

#include "triad/aggregate.h"
#include "triad/event.h"
#include "triad/result.h"

#include <cstdint>
#include <string>
#include <string_view>

namespace bank {

// The stream category of accounts: streams are "account-<id>".
inline constexpr std::string_view kAccountCategory = "account";

enum class AccountStatus {
  kNone,    // never opened: the stream does not exist
  kOpen,    // accepts deposits, and withdrawals down to -overdraft_limit_cents
  kClosed,  // final: accepts nothing
};

// "none", "open" or "closed".
std::string_view AccountStatusName(AccountStatus status);

// The state of one account, as evolve builds it.
struct Account {
  AccountStatus status = AccountStatus::kNone;
  std::string account_id;
  std::string owner;
  std::string branch;
  int64_t balance_cents = 0;
  // When the account was opened: recorded_at of its AccountOpened event.
  int64_t opened_at_us = 0;
  // How far below zero withdrawals may take the balance; fixed when the account is opened.
  int64_t overdraft_limit_cents = 0;

  friend bool operator==(const Account&, const Account&) = default;
};

// Folds one event into `account`. Unknown event types are skipped, so that this code can read
// streams written by newer versions of it.
// Errors: kDataLoss when a known event's data is not the JSON its type promises.
triad::Result<Account> EvolveAccount(Account account, const triad::RecordedEvent& event);

// The aggregate definition of accounts: category "account", EvolveAccount, the JSON snapshot
// codec of account_snapshot.h, and a snapshot every `snapshot_every` events (0: none).
triad::AggregateDefinition<Account> AccountDefinition(int64_t snapshot_every);

}  // namespace bank
