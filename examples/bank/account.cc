#include "bank/account.h"

#include "bank/account_events.h"
#include "bank/account_snapshot.h"
#include "bank/json_fields.h"

#include <nlohmann/json.hpp>

#include <string>
#include <utility>

namespace bank {
namespace {

triad::Status ApplyOpened(Account& account, const nlohmann::json& data, int64_t recorded_at_us) {
  triad::Result<std::string> id = StringField(data, "account_id");
  if (!id.ok()) return id.status();
  triad::Result<std::string> owner = StringField(data, "owner");
  if (!owner.ok()) return owner.status();
  triad::Result<std::string> branch = StringField(data, "branch");
  if (!branch.ok()) return branch.status();
  account.status = AccountStatus::kOpen;
  account.account_id = std::move(*id);
  account.owner = std::move(*owner);
  account.branch = std::move(*branch);
  account.opened_at_us = recorded_at_us;
  // Optional: accounts opened before overdrafts existed carry no limit, which means 0.
  account.overdraft_limit_cents = 0;
  if (data.contains("overdraft_limit_cents")) {
    triad::Result<int64_t> limit = IntField(data, "overdraft_limit_cents");
    if (!limit.ok()) return limit.status();
    account.overdraft_limit_cents = *limit;
  }
  return triad::Status::OK();
}

}  // namespace

std::string_view AccountStatusName(AccountStatus status) {
  switch (status) {
    case AccountStatus::kNone:
      return "none";
    case AccountStatus::kOpen:
      return "open";
    case AccountStatus::kClosed:
      return "closed";
  }
  return "unknown";
}

triad::Result<Account> EvolveAccount(Account account, const triad::RecordedEvent& event) {
  const bool opened = event.type == kAccountOpened;
  const bool deposited = event.type == kMoneyDeposited;
  const bool withdrawn = event.type == kMoneyWithdrawn;
  if (event.type == kAccountClosed) {
    account.status = AccountStatus::kClosed;
    return account;
  }
  if (!opened && !deposited && !withdrawn) return account;  // a newer event type: skip it

  triad::Result<nlohmann::json> data = ParseObject(event.data, event.type + " data");
  if (!data.ok()) return data.status();
  if (opened) {
    if (triad::Status s = ApplyOpened(account, *data, event.recorded_at_us); !s.ok()) {
      return s.Annotate(event.type);
    }
    return account;
  }
  triad::Result<int64_t> amount = IntField(*data, "amount_cents");
  if (!amount.ok()) return amount.status().Annotate(event.type);
  // No business rules here: the event already happened. Rules live in the commands.
  account.balance_cents += deposited ? *amount : -*amount;
  return account;
}

triad::AggregateDefinition<Account> AccountDefinition(int64_t snapshot_every) {
  triad::AggregateDefinition<Account> definition;
  definition.category = std::string(kAccountCategory);
  definition.evolve = EvolveAccount;
  definition.serialize = SerializeAccount;
  definition.deserialize = DeserializeAccount;
  definition.schema_version = kAccountSnapshotSchema;
  definition.snapshot_every = snapshot_every;
  return definition;
}

}  // namespace bank
