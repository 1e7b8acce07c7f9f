// The bank workload of triad_projection_bench: account streams with the bank example's events.
//
// Stream s is "account-<s>"; its first event is AccountOpened (owner "owner-<s % owners>",
// branch "branch-<s % 50>"), the rest deposits (2 in 3) and withdrawals. Appends carry up to 5
// events of one stream and visit the streams round-robin, so the log interleaves accounts the way
// a live bank does. Several threads append at once (group commit), only to fill the store fast.
//
// Thread-safety: call from one thread; it runs its own appenders.
#pragma once

#include "triad/event_store.h"

#include <cstdint>
#include <string>

namespace triad::bench {

// Appends `events` events over `streams` streams (events >= streams), with `owners` distinct
// owners. Dies on errors.
void BuildBankLog(EventStore& store, int64_t events, int64_t streams, int64_t owners,
                  uint64_t seed);

// "account-<s>" and "owner-<o>", as BuildBankLog names them.
std::string AccountStream(int64_t s);
std::string OwnerName(int64_t o);

}  // namespace triad::bench
