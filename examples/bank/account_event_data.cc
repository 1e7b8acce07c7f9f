#include "bank/account_event_data.h"

#include <simdjson.h>

#include <string>

namespace bank {
namespace {

simdjson::ondemand::parser& ThreadParser() {
  thread_local simdjson::ondemand::parser parser;
  return parser;
}

// simdjson reads up to SIMDJSON_PADDING bytes past the end of its input, and stored event data
// has no such slack, so the text is copied into a reusable padded buffer first (a memcpy of a
// few dozen bytes, far cheaper than a parse into a tree).
simdjson::padded_string_view Padded(std::string_view text) {
  thread_local std::string buffer;
  buffer.assign(text);
  buffer.resize(text.size() + simdjson::SIMDJSON_PADDING);
  return simdjson::padded_string_view(buffer.data(), text.size(), buffer.size());
}

triad::Status Missing(std::string_view event, std::string_view field, std::string_view want) {
  return triad::DataLossError(std::string(event) + " data: field '" + std::string(field) +
                              "' is missing or not " + std::string(want));
}

// Reads string field `key` into `out`. simdjson's on-demand objects are read in document order
// most cheaply, but find_field_unordered keeps this correct for any member order.
bool StringField(simdjson::ondemand::object& object, std::string_view key, std::string& out) {
  std::string_view value;
  if (object.find_field_unordered(key).get_string().get(value) != simdjson::SUCCESS) return false;
  out.assign(value);
  return true;
}

}  // namespace

triad::Result<OpenedData> DecodeOpened(std::string_view data) {
  constexpr std::string_view kEvent = "AccountOpened";
  simdjson::ondemand::document doc;
  simdjson::ondemand::object object;
  if (ThreadParser().iterate(Padded(data)).get(doc) != simdjson::SUCCESS ||
      doc.get_object().get(object) != simdjson::SUCCESS) {
    return triad::DataLossError("AccountOpened data is not a JSON object");
  }
  OpenedData opened;
  if (!StringField(object, "account_id", opened.account_id)) {
    return Missing(kEvent, "account_id", "a string");
  }
  if (!StringField(object, "owner", opened.owner)) return Missing(kEvent, "owner", "a string");
  if (!StringField(object, "branch", opened.branch)) return Missing(kEvent, "branch", "a string");
  simdjson::ondemand::value limit;
  const simdjson::error_code found =
      object.find_field_unordered("overdraft_limit_cents").get(limit);
  if (found == simdjson::SUCCESS) {
    if (limit.get_int64().get(opened.overdraft_limit_cents) != simdjson::SUCCESS) {
      return Missing(kEvent, "overdraft_limit_cents", "an integer");
    }
  } else if (found != simdjson::NO_SUCH_FIELD) {
    return triad::DataLossError("AccountOpened data is not valid JSON");
  }
  return opened;
}

triad::Result<int64_t> DecodeAmount(std::string_view data) {
  simdjson::ondemand::document doc;
  simdjson::ondemand::object object;
  int64_t amount = 0;
  if (ThreadParser().iterate(Padded(data)).get(doc) != simdjson::SUCCESS ||
      doc.get_object().get(object) != simdjson::SUCCESS) {
    return triad::DataLossError("amount event data is not a JSON object");
  }
  if (object.find_field_unordered("amount_cents").get_int64().get(amount) != simdjson::SUCCESS) {
    return Missing("amount event", "amount_cents", "an integer");
  }
  return amount;
}

}  // namespace bank
