#include "bank/account_snapshot.h"

#include "bank/json_fields.h"

#include <nlohmann/json.hpp>

#include <string>
#include <utility>

namespace bank {

triad::Result<std::string> SerializeAccount(const Account& account) {
  const nlohmann::json json = {{"status", AccountStatusName(account.status)},
                               {"account_id", account.account_id},
                               {"owner", account.owner},
                               {"branch", account.branch},
                               {"balance_cents", account.balance_cents},
                               {"opened_at_us", account.opened_at_us},
                               {"overdraft_limit_cents", account.overdraft_limit_cents}};
  return Dump(json);
}

triad::Result<Account> DeserializeAccount(std::string_view text) {
  triad::Result<nlohmann::json> json = ParseObject(text, "account snapshot");
  if (!json.ok()) return json.status();
  triad::Result<std::string> status = StringField(*json, "status");
  triad::Result<std::string> id = StringField(*json, "account_id");
  triad::Result<std::string> owner = StringField(*json, "owner");
  triad::Result<std::string> branch = StringField(*json, "branch");
  triad::Result<int64_t> balance = IntField(*json, "balance_cents");
  triad::Result<int64_t> opened_at = IntField(*json, "opened_at_us");
  triad::Result<int64_t> limit = IntField(*json, "overdraft_limit_cents");
  for (const triad::Status& s : {status.status(), id.status(), owner.status(), branch.status(),
                                 balance.status(), opened_at.status(), limit.status()}) {
    if (!s.ok()) return s.Annotate("account snapshot");
  }
  Account account;
  if (*status == "open") {
    account.status = AccountStatus::kOpen;
  } else if (*status == "closed") {
    account.status = AccountStatus::kClosed;
  } else if (*status != "none") {
    return triad::DataLossError("account snapshot: unknown status '" + *status + "'");
  }
  account.account_id = std::move(*id);
  account.owner = std::move(*owner);
  account.branch = std::move(*branch);
  account.balance_cents = *balance;
  account.opened_at_us = *opened_at;
  account.overdraft_limit_cents = *limit;
  return account;
}

}  // namespace bank
