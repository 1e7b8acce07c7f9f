#include "bank/branch_totals_projection.h"

#include "bank/account.h"
#include "bank/account_event_data.h"
#include "bank/account_events.h"
#include "bank/json_fields.h"

#include <nlohmann/json.hpp>

#include <string>
#include <utility>

namespace bank {
namespace {

// Adds `delta` to the integer field `key` of `doc` (missing counts as 0).
triad::Status Add(nlohmann::json& doc, std::string_view key, int64_t delta) {
  int64_t value = 0;
  if (doc.contains(key)) {
    triad::Result<int64_t> current = IntField(doc, key);
    if (!current.ok()) return current.status();
    value = *current;
  }
  doc[std::string(key)] = value + delta;
  return triad::Status::OK();
}

triad::Status OnOpened(const triad::EventView& event, triad::ProjectionContext& ctx) {
  triad::Result<OpenedData> opened = DecodeOpened(event.data);
  if (!opened.ok()) return opened.status();
  triad::Result<nlohmann::json*> member = ctx.Upsert(kBranchAccountsCollection, event.stream);
  if (!member.ok()) return member.status();
  **member = {{"branch", opened->branch}, {"open", true}};
  triad::Result<nlohmann::json*> totals = ctx.Upsert(kBranchTotalsCollection, opened->branch);
  if (!totals.ok()) return totals.status();
  nlohmann::json& t = **totals;
  t["branch"] = opened->branch;
  for (std::string_view counter : {"accounts", "open_accounts"}) {
    if (triad::Status s = Add(t, counter, 1); !s.ok()) return s;
  }
  return Add(t, "balance_cents", 0);
}

// The branch of the account whose stream `event` belongs to, from the lookup collection.
triad::Result<std::string> BranchOf(const triad::EventView& event, triad::ProjectionContext& ctx) {
  triad::Result<const nlohmann::json*> member = ctx.Get(kBranchAccountsCollection, event.stream);
  if (!member.ok()) return member.status();
  if (*member == nullptr) {
    return triad::DataLossError(std::string(event.type) + " at position " +
                                std::to_string(event.position) + " for " +
                                std::string(event.stream) + ", which has no AccountOpened");
  }
  return StringField(**member, "branch");
}

triad::Status OnEvent(const triad::EventView& event, triad::ProjectionContext& ctx) {
  if (event.type == kAccountOpened) return OnOpened(event, ctx);
  // Copied: pointers from the context are not promised to survive the next lookup.
  triad::Result<std::string> branch = BranchOf(event, ctx);
  if (!branch.ok()) return branch.status();
  int64_t delta = 0;
  if (event.type == kMoneyDeposited || event.type == kMoneyWithdrawn) {
    triad::Result<int64_t> amount = DecodeAmount(event.data);
    if (!amount.ok()) return amount.status();
    delta = event.type == kMoneyDeposited ? *amount : -*amount;
  } else if (event.type == kAccountClosed) {
    triad::Result<nlohmann::json*> member = ctx.Mutate(kBranchAccountsCollection, event.stream);
    if (!member.ok()) return member.status();
    (**member)["open"] = false;
  } else {
    return triad::Status::OK();
  }
  triad::Result<nlohmann::json*> totals = ctx.Mutate(kBranchTotalsCollection, *branch);
  if (!totals.ok()) return totals.status();
  if (*totals == nullptr) {
    return triad::DataLossError("branch_totals has no document for branch '" + *branch + "'");
  }
  if (event.type == kAccountClosed) return Add(**totals, "open_accounts", -1);
  return Add(**totals, "balance_cents", delta);
}

}  // namespace

triad::ProjectionDefinition BranchTotalsProjection() {
  triad::ProjectionDefinition p;
  p.name = "branch_totals";
  p.version = 1;
  p.categories = {std::string(kAccountCategory)};
  p.event_types = {std::string(kAccountOpened), std::string(kMoneyDeposited),
                   std::string(kMoneyWithdrawn), std::string(kAccountClosed)};
  p.collections = {
      {std::string(kBranchTotalsCollection), {}},
      {std::string(kBranchAccountsCollection), {{"branch", triad::IndexType::kString}}}};
  p.key = triad::DocumentKey::kHandlerChosen;
  // A branch document is written from every account stream of the branch, so its `_meta.sources`
  // would list every account that ever lived there and grow with the bank. Sources serve fresh
  // reads of one-stream documents, which a total is not.
  p.record_sources = false;
  p.on_event = OnEvent;
  return p;
}

}  // namespace bank
