#include "bank/dormant_accounts_projection.h"

#include "bank/account.h"
#include "bank/account_event_data.h"
#include "bank/account_events.h"

#include <nlohmann/json.hpp>

#include <set>
#include <string>
#include <utility>

namespace bank {
namespace {

// Documents marked per query of a tick; a tick loops until a query returns fewer.
constexpr size_t kTickPage = 1000;

triad::Status OnEvent(const triad::EventView& event, triad::ProjectionContext& ctx) {
  if (event.type == kAccountClosed) return ctx.Delete(kDormantCollection, event.stream);
  if (event.type == kAccountOpened) {
    triad::Result<OpenedData> opened = DecodeOpened(event.data);
    if (!opened.ok()) return opened.status();
    triad::Result<nlohmann::json*> doc = ctx.Upsert(kDormantCollection, event.stream);
    if (!doc.ok()) return doc.status();
    **doc = {{"account_id", std::move(opened->account_id)},
             {"owner", std::move(opened->owner)},
             {"branch", std::move(opened->branch)},
             {"last_activity_at_us", event.recorded_at_us},
             {"dormant", false}};
    return triad::Status::OK();
  }
  if (event.type != kMoneyDeposited && event.type != kMoneyWithdrawn) return triad::Status::OK();
  triad::Result<nlohmann::json*> doc = ctx.Mutate(kDormantCollection, event.stream);
  if (!doc.ok()) return doc.status();
  if (*doc == nullptr) {
    return triad::DataLossError(std::string(event.type) + " at position " +
                                std::to_string(event.position) + " for " +
                                std::string(event.stream) + ", which is not an open account");
  }
  nlohmann::json& d = **doc;
  d["last_activity_at_us"] = event.recorded_at_us;
  d["dormant"] = false;
  d.erase("dormant_since_us");
  return triad::Status::OK();
}

}  // namespace

triad::Result<int64_t> MarkDormantAccounts(int64_t now_us, int64_t dormant_after_us,
                                           triad::ProjectionContext& ctx) {
  // Both filters are served by indexes; "dormant = false" keeps a tick from rereading the
  // accounts marked by earlier ticks, so a tick costs the newly dormant accounts, not all of them.
  triad::Query query;
  query.filters = {{.field = "dormant", .op = triad::FilterOp::kEq, .values = {false}},
                   {.field = "last_activity_at_us",
                    .op = triad::FilterOp::kLt,
                    .values = {static_cast<double>(now_us - dormant_after_us)}}};
  query.limit = kTickPage;
  std::set<std::string> marked;
  while (true) {
    // The context's Find sees this tick's own writes, so the documents just marked no longer
    // match and the next query returns the next ones.
    triad::Result<std::vector<triad::Document>> page = ctx.Find(kDormantCollection, query);
    if (!page.ok()) return page.status();
    for (const triad::Document& found : *page) {
      if (!marked.insert(found.id).second) {
        return triad::InternalError("dormant tick: " + found.id +
                                    " matched again after being marked dormant");
      }
      triad::Result<nlohmann::json*> doc = ctx.Mutate(kDormantCollection, found.id);
      if (!doc.ok()) return doc.status();
      if (*doc == nullptr) continue;
      (**doc)["dormant"] = true;
      (**doc)["dormant_since_us"] = now_us;
    }
    if (page->size() < kTickPage) break;
  }
  return static_cast<int64_t>(marked.size());
}

triad::ProjectionDefinition DormantAccountsProjection(const DormantOptions& options) {
  triad::ProjectionDefinition p;
  p.name = "dormant_accounts";
  p.version = 1;
  p.categories = {std::string(kAccountCategory)};
  p.event_types = {std::string(kAccountOpened), std::string(kMoneyDeposited),
                   std::string(kMoneyWithdrawn), std::string(kAccountClosed)};
  p.collections = {
      {std::string(kDormantCollection),
       {{"dormant", triad::IndexType::kBool}, {"last_activity_at_us", triad::IndexType::kNumber}}}};
  p.key = triad::DocumentKey::kStream;
  p.on_event = OnEvent;
  p.tick_interval_us = options.tick_interval_us;
  p.on_tick = [after = options.dormant_after_us](int64_t now_us, triad::ProjectionContext& ctx) {
    return MarkDormantAccounts(now_us, after, ctx).status();
  };
  return p;
}

}  // namespace bank
