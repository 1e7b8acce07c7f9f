// Decoding the data of account events as projections see them: straight from the stored bytes
// (triad::EventView::data), without building a JSON tree.
//
// Projections replay the whole log when they catch up or rebuild, so decoding is on their hot
// path. These decoders use simdjson's on-demand parser, which reads only the fields asked for;
// bench/ measures it against nlohmann::json::parse (docs/performance.md, "Projections and
// queries"). EvolveAccount (account.h) keeps nlohmann: an aggregate load reads one stream.
//
// Thread-safety: the functions are thread-safe (each thread has its own parser).
#pragma once

#include "triad/result.h"

#include <cstdint>
#include <string>
#include <string_view>

namespace bank {

// The data of an AccountOpened event.
struct OpenedData {
  std::string account_id;
  std::string owner;
  std::string branch;
  // 0 when the event carries no limit.
  int64_t overdraft_limit_cents = 0;
};

// Errors: kDataLoss naming the field when `data` is not an AccountOpened object.
triad::Result<OpenedData> DecodeOpened(std::string_view data);

// The amount_cents of a MoneyDeposited or MoneyWithdrawn event.
// Errors: kDataLoss when `data` is not an object with an integer amount_cents.
triad::Result<int64_t> DecodeAmount(std::string_view data);

}  // namespace bank
