// The C++ projection the read-model tests build documents with: collection "accounts", one
// document per stream {"owner", "balance"}, indexes on both.
#pragma once

#include "triad/projection.h"

#include <nlohmann/json.hpp>

namespace triad::testing {

inline ProjectionDefinition AccountsProjection() {
  ProjectionDefinition accounts{.name = "accounts", .event_types = {"AccountOpened", "Deposited"}};
  accounts.collections = {
      {"accounts", {{"owner", IndexType::kString}, {"balance", IndexType::kNumber}}}};
  accounts.key = DocumentKey::kStream;
  accounts.on_event = [](const EventView& e, ProjectionContext& ctx) -> Status {
    auto doc = ctx.Upsert("accounts", e.stream);
    if (!doc.ok()) return doc.status();
    const nlohmann::json data = nlohmann::json::parse(e.data);
    if (e.type == "AccountOpened") {
      (**doc)["owner"] = data.at("owner");
      (**doc)["balance"] = 0;
    } else {
      (**doc)["balance"] = (**doc).value("balance", 0) + data.at("amount").get<int>();
    }
    return Status();
  };
  return accounts;
}

}  // namespace triad::testing
