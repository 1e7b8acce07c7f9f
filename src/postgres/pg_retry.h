// Connecting with backoff: how the PostgreSQL backends ride out a server restart.
#pragma once

#include "triad/clock.h"
#include "triad/result.h"

#include <chrono>
#include <functional>
#include <memory>

#include "postgres/pg_connection.h"

namespace triad::internal::pg {

// How long a connection attempt keeps retrying while the server is unreachable: long enough for
// a restart or a failover, short enough that a caller learns of an outage.
inline constexpr std::chrono::milliseconds kReconnectBudget{10'000};

using Connector = std::function<Result<std::unique_ptr<PgConnection>>()>;

// Calls `connect` until it succeeds or fails with an error other than kUnavailable, sleeping
// 50 ms, 100 ms, ... (at most 1 s) on `clock` between attempts, for at most `budget` in all.
// Returns the last error, annotated with the number of attempts, when the budget runs out.
Result<std::unique_ptr<PgConnection>> ConnectWithBackoff(
    const Connector& connect, std::chrono::milliseconds budget = kReconnectBudget,
    Clock& clock = *RealClock());

}  // namespace triad::internal::pg
