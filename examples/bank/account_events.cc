#include "bank/account_events.h"

#include "bank/json_fields.h"

#include <nlohmann/json.hpp>

#include <string>
#include <utility>

namespace bank {
namespace {

triad::NewEvent AmountEvent(std::string_view type, int64_t amount_cents) {
  triad::NewEvent event;
  event.type = std::string(type);
  event.data = "{\"amount_cents\":" + std::to_string(amount_cents) + "}";
  return event;
}

}  // namespace

triad::Result<triad::NewEvent> AccountOpenedEvent(std::string_view account_id,
                                                  std::string_view owner, std::string_view branch,
                                                  int64_t overdraft_limit_cents) {
  nlohmann::json data = {{"account_id", account_id}, {"owner", owner}, {"branch", branch}};
  // Omitted when 0, so that events of accounts without an overdraft stay as they always were.
  if (overdraft_limit_cents != 0) data["overdraft_limit_cents"] = overdraft_limit_cents;
  triad::Result<std::string> text = Dump(data);
  if (!text.ok()) return text.status();
  triad::NewEvent event;
  event.type = std::string(kAccountOpened);
  event.data = std::move(*text);
  return event;
}

triad::NewEvent MoneyDepositedEvent(int64_t amount_cents) {
  return AmountEvent(kMoneyDeposited, amount_cents);
}

triad::NewEvent MoneyWithdrawnEvent(int64_t amount_cents) {
  return AmountEvent(kMoneyWithdrawn, amount_cents);
}

triad::NewEvent AccountClosedEvent() {
  triad::NewEvent event;
  event.type = std::string(kAccountClosed);
  return event;
}

}  // namespace bank
