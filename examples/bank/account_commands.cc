#include "bank/account_commands.h"

#include "bank/account_events.h"
#include "bank/money.h"

#include <string>
#include <utility>

namespace bank {
namespace {

constexpr size_t kMaxNameBytes = 200;

std::string Name(const std::string& account_id) { return "account " + account_id; }

// Amounts are checked before the state: a malformed command is refused the same way whatever
// the account holds.
triad::Status CheckAmount(int64_t amount_cents) {
  if (amount_cents <= 0 || amount_cents > kMaxAmountCents) {
    return triad::InvalidArgumentError("amount " + FormatCents(amount_cents) +
                                       " must be between 0.01 and " + FormatCents(kMaxAmountCents));
  }
  return triad::Status::OK();
}

triad::Status CheckOpen(const Account& account, const std::string& account_id) {
  switch (account.status) {
    case AccountStatus::kOpen:
      return triad::Status::OK();
    case AccountStatus::kNone:
      return triad::NotFoundError(Name(account_id) + " does not exist");
    case AccountStatus::kClosed:
      return triad::FailedPreconditionError(Name(account_id) + " is closed");
  }
  return triad::InternalError("unknown account status");
}

triad::Status CheckText(const std::string& text, std::string_view field) {
  if (text.empty()) return triad::InvalidArgumentError(std::string(field) + " is empty");
  if (text.size() > kMaxNameBytes) {
    return triad::InvalidArgumentError(std::string(field) + " is longer than " +
                                       std::to_string(kMaxNameBytes) + " bytes");
  }
  return triad::Status::OK();
}

}  // namespace

Decision OpenAccount::Decide(const Account& account) const {
  if (triad::Status s = CheckText(owner, "owner"); !s.ok()) return s;
  if (triad::Status s = CheckText(branch, "branch"); !s.ok()) return s;
  if (initial_deposit_cents != 0) {
    if (triad::Status s = CheckAmount(initial_deposit_cents); !s.ok()) {
      return s.Annotate("initial deposit");
    }
  }
  if (overdraft_limit_cents < 0 || overdraft_limit_cents > kMaxAmountCents) {
    return triad::InvalidArgumentError("overdraft limit " + FormatCents(overdraft_limit_cents) +
                                       " must be between 0.00 and " + FormatCents(kMaxAmountCents));
  }
  if (account.status != AccountStatus::kNone) {
    return triad::AlreadyExistsError(Name(account_id) + " already exists (owner " + account.owner +
                                     ")");
  }
  triad::Result<triad::NewEvent> opened =
      AccountOpenedEvent(account_id, owner, branch, overdraft_limit_cents);
  if (!opened.ok()) return opened.status();
  std::vector<triad::NewEvent> events{std::move(*opened)};
  if (initial_deposit_cents > 0) events.push_back(MoneyDepositedEvent(initial_deposit_cents));
  return events;
}

Decision DepositMoney::Decide(const Account& account) const {
  if (triad::Status s = CheckAmount(amount_cents); !s.ok()) return s;
  if (triad::Status s = CheckOpen(account, account_id); !s.ok()) return s;
  if (account.balance_cents > kMaxBalanceCents - amount_cents) {
    return triad::FailedPreconditionError("depositing " + FormatCents(amount_cents) + " into " +
                                          Name(account_id) + " would exceed the maximum balance " +
                                          FormatCents(kMaxBalanceCents));
  }
  return std::vector<triad::NewEvent>{MoneyDepositedEvent(amount_cents)};
}

Decision WithdrawMoney::Decide(const Account& account) const {
  if (triad::Status s = CheckAmount(amount_cents); !s.ok()) return s;
  if (triad::Status s = CheckOpen(account, account_id); !s.ok()) return s;
  // Both sides are at most kMaxBalanceCents / kMaxAmountCents in size: no overflow.
  if (amount_cents > account.balance_cents + account.overdraft_limit_cents) {
    std::string message =
        "insufficient funds: " + Name(account_id) + " holds " + FormatCents(account.balance_cents);
    if (account.overdraft_limit_cents > 0) {
      message += " with an overdraft limit of " + FormatCents(account.overdraft_limit_cents);
    }
    return triad::FailedPreconditionError(message + ", cannot withdraw " +
                                          FormatCents(amount_cents));
  }
  return std::vector<triad::NewEvent>{MoneyWithdrawnEvent(amount_cents)};
}

Decision CloseAccount::Decide(const Account& account) const {
  if (triad::Status s = CheckOpen(account, account_id); !s.ok()) return s;
  if (account.balance_cents != 0) {
    return triad::FailedPreconditionError(Name(account_id) + " still holds " +
                                          FormatCents(account.balance_cents) +
                                          "; withdraw it before closing");
  }
  return std::vector<triad::NewEvent>{AccountClosedEvent()};
}

}  // namespace bank
