// Bank: the account commands of account_commands.h run against an EventStore.
//
// A thin facade over triad::AggregateRepository<Account>: it names the stream of an account id
// ("account-<id>") and runs the command's Decide() through Execute(), which loads the account,
// decides, appends with an expected-version check and retries on a conflict. Tests, the demo and
// (later) the server use it.
//
//   bank::Bank bank(*store);
//   auto opened = bank.Open({.account_id = "7", .owner = "Ada", .branch = "london",
//                            .initial_deposit_cents = 10000});
//   auto refused = bank.Withdraw({.account_id = "7", .amount_cents = 50000});
//   // refused.status().code() == triad::StatusCode::kFailedPrecondition: insufficient funds
//
// Thread-safety: safe to use from any number of threads (see AggregateRepository). `store` is
// not owned and must outlive the Bank.
#pragma once

#include "bank/account.h"
#include "bank/account_commands.h"

#include "triad/aggregate.h"
#include "triad/event_store.h"

#include <cstdint>
#include <string>
#include <string_view>

namespace bank {

struct BankOptions {
  // Save an account snapshot every this many events; 0: never. Default: 100.
  int64_t snapshot_every = 100;
  // Conflict retries and read paging. Default: RepositoryOptions{} (5 attempts).
  triad::RepositoryOptions repository;
};

using AccountResult = triad::Result<triad::CommandResult<Account>>;

class Bank {
 public:
  explicit Bank(triad::EventStore& store, BankOptions options = {});

  Bank(const Bank&) = delete;
  Bank& operator=(const Bank&) = delete;

  // "account-<account_id>".
  static std::string StreamOf(std::string_view account_id);

  // Each runs the command through AggregateRepository::Execute(). Errors: the command's refusal
  // (account_commands.h lists the codes), kAborted when conflicts outlast the retries, and the
  // store's errors (kInvalidArgument for an id that makes a bad stream name).
  AccountResult Open(const OpenAccount& command);
  AccountResult Deposit(const DepositMoney& command);
  AccountResult Withdraw(const WithdrawMoney& command);
  AccountResult Close(const CloseAccount& command);

  // The account's current state; status kNone at version -1 when it was never opened.
  // Errors: those of AggregateRepository::Load().
  triad::Result<triad::LoadedAggregate<Account>> Get(std::string_view account_id);

  // The underlying repository, for its stats() and for commands of your own.
  triad::AggregateRepository<Account>& accounts() { return accounts_; }

 private:
  template <typename Command>
  AccountResult Run(const Command& command) {
    return accounts_.Execute(StreamOf(command.account_id), [&command](const Account& account) {
      return command.Decide(account);
    });
  }

  triad::AggregateRepository<Account> accounts_;
};

}  // namespace bank
