#include "bank/bank.h"

namespace bank {

Bank::Bank(triad::EventStore& store, BankOptions options)
    : accounts_(store, AccountDefinition(options.snapshot_every), options.repository) {}

std::string Bank::StreamOf(std::string_view account_id) {
  return triad::StreamName(kAccountCategory, account_id);
}

AccountResult Bank::Open(const OpenAccount& command) { return Run(command); }
AccountResult Bank::Deposit(const DepositMoney& command) { return Run(command); }
AccountResult Bank::Withdraw(const WithdrawMoney& command) { return Run(command); }
AccountResult Bank::Close(const CloseAccount& command) { return Run(command); }

triad::Result<triad::LoadedAggregate<Account>> Bank::Get(std::string_view account_id) {
  return accounts_.Load(StreamOf(account_id));
}

}  // namespace bank
