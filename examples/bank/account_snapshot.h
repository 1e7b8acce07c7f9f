// The snapshot codec of the account aggregate: Account <-> JSON text.
//
//   {"status":"open","account_id":"101","owner":"Ada","branch":"london",
//    "balance_cents":12500,"opened_at_us":1767225600000000,"overdraft_limit_cents":0}
//
// Raise kAccountSnapshotSchema whenever this format or the meaning of EvolveAccount changes:
// snapshots of any other schema are then ignored and the state is replayed from the events.
//
// Thread-safety: pure functions.
#pragma once

#include "bank/account.h"

#include "triad/result.h"

#include <cstdint>
#include <string>
#include <string_view>

namespace bank {

// Schema 2 added overdraft_limit_cents.
inline constexpr int32_t kAccountSnapshotSchema = 2;

// Errors: kInvalidArgument when a text field is not valid UTF-8.
triad::Result<std::string> SerializeAccount(const Account& account);

// Errors: kDataLoss when `text` is not a snapshot of this schema.
triad::Result<Account> DeserializeAccount(std::string_view text);

}  // namespace bank
