#include "postgres/pg_retry.h"

#include <algorithm>
#include <string>

namespace triad::internal::pg {

Result<std::unique_ptr<PgConnection>> ConnectWithBackoff(const Connector& connect,
                                                         std::chrono::milliseconds budget,
                                                         Clock& clock) {
  const int64_t deadline_us = clock.NowMicros() + budget.count() * 1000;
  int64_t pause_us = 50'000;
  for (int attempt = 1;; ++attempt) {
    auto conn = connect();
    if (conn.ok() || conn.status().code() != StatusCode::kUnavailable) return conn;
    if (clock.NowMicros() + pause_us > deadline_us) {
      return conn.status().Annotate("gave up after " + std::to_string(attempt) + " attempts in " +
                                    std::to_string(budget.count()) + " ms");
    }
    clock.SleepForMicros(pause_us);
    pause_us = std::min<int64_t>(pause_us * 2, 1'000'000);
  }
}

}  // namespace triad::internal::pg
