#include "bank/accounts_projection.h"

#include "bank/account.h"
#include "bank/account_event_data.h"
#include "bank/account_events.h"

#include <string>
#include <utility>

namespace bank {
namespace {

triad::Status ApplyOpened(const triad::EventView& event, nlohmann::json& account) {
  triad::Result<OpenedData> opened = DecodeOpened(event.data);
  if (!opened.ok()) return opened.status();
  account = nlohmann::json::object();
  account["account_id"] = std::move(opened->account_id);
  account["owner"] = std::move(opened->owner);
  account["branch"] = std::move(opened->branch);
  account["balance_cents"] = 0;
  account["overdraft_limit_cents"] = opened->overdraft_limit_cents;
  account["status"] = kStatusOpen;
  account["opened_at_us"] = event.recorded_at_us;
  account["last_activity_at_us"] = event.recorded_at_us;
  return triad::Status::OK();
}

// Runs for most events of a catch-up, so it changes members in place through iterators rather
// than by key (each nlohmann operator[] is a map lookup, and each string assigned a heap copy).
triad::Status ApplyAmount(const triad::EventView& event, nlohmann::json& account, bool deposited) {
  triad::Result<int64_t> amount = DecodeAmount(event.data);
  if (!amount.ok()) return amount.status();
  const auto balance = account.find("balance_cents");
  const auto status = account.find("status");
  const auto activity = account.find("last_activity_at_us");
  if (balance == account.end() || !balance->is_number_integer() || status == account.end() ||
      !status->is_string() || activity == account.end()) {
    return triad::DataLossError(std::string(event.stream) +
                                " document lacks balance_cents, status or last_activity_at_us");
  }
  const int64_t now = balance->get<int64_t>() + (deposited ? *amount : -*amount);
  *balance = now;
  // A closed account stays closed; the aggregate refuses money movements on it anyway.
  const std::string& current = status->get_ref<const std::string&>();
  if (current != kStatusClosed) {
    const std::string_view want = now < 0 ? kStatusOverdrawn : kStatusOpen;
    if (current != want) *status = want;
  }
  *activity = event.recorded_at_us;
  return triad::Status::OK();
}

}  // namespace

bool IsAccountEvent(std::string_view type) {
  return type == kAccountOpened || type == kMoneyDeposited || type == kMoneyWithdrawn ||
         type == kAccountClosed;
}

triad::Status ApplyAccountEvent(const triad::EventView& event, nlohmann::json& account) {
  if (!IsAccountEvent(event.type)) return triad::Status::OK();  // a newer event type
  if (event.type == kAccountOpened) return ApplyOpened(event, account);
  // Events are facts, so an event for an account that was never opened means the log or the
  // filter is wrong: stop rather than invent an account.
  if (!account.is_object() || account.empty()) {
    return triad::DataLossError(std::string(event.type) + " at position " +
                                std::to_string(event.position) + " for " +
                                std::string(event.stream) + ", which has no AccountOpened");
  }
  if (event.type == kMoneyDeposited) return ApplyAmount(event, account, true);
  if (event.type == kMoneyWithdrawn) return ApplyAmount(event, account, false);
  if (event.type == kAccountClosed) {
    account["status"] = kStatusClosed;
    account["last_activity_at_us"] = event.recorded_at_us;
  }
  return triad::Status::OK();
}

triad::ProjectionDefinition AccountsProjection() {
  triad::ProjectionDefinition p;
  p.name = "accounts";
  p.version = 1;
  p.categories = {std::string(kAccountCategory)};
  p.event_types = {std::string(kAccountOpened), std::string(kMoneyDeposited),
                   std::string(kMoneyWithdrawn), std::string(kAccountClosed)};
  p.collections = {{std::string(kAccountsCollection),
                    {{"owner", triad::IndexType::kString},
                     {"branch", triad::IndexType::kString},
                     {"status", triad::IndexType::kString},
                     {"balance_cents", triad::IndexType::kNumber}}}};
  p.key = triad::DocumentKey::kStream;
  p.on_event = [](const triad::EventView& event, triad::ProjectionContext& ctx) {
    // The filter already keeps other types out; the check keeps the handler right without it
    // (an Upsert would create and write a document).
    if (!IsAccountEvent(event.type)) return triad::Status::OK();
    triad::Result<nlohmann::json*> account = ctx.Upsert(kAccountsCollection, event.stream);
    if (!account.ok()) return account.status();
    return ApplyAccountEvent(event, **account);
  };
  return p;
}

}  // namespace bank
