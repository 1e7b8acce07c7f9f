#include "projection_workload.h"

#include "bank/account_events.h"

#include <random>
#include <thread>
#include <vector>

#include "bench_util.h"

namespace triad::bench {
namespace {

constexpr int64_t kEventsPerAppend = 5;
constexpr int kAppenders = 4;

}  // namespace

std::string AccountStream(int64_t s) { return "account-" + std::to_string(s); }
std::string OwnerName(int64_t o) { return "owner-" + std::to_string(o); }

void BuildBankLog(EventStore& store, int64_t events, int64_t streams, int64_t owners,
                  uint64_t seed) {
  if (events < streams) Die("BuildBankLog: fewer events than streams");
  // Stream s receives per_stream[s] events in total: an even share, the remainder to the first.
  const int64_t base = events / streams;
  const int64_t extra = events % streams;
  const int64_t rounds = (base + (extra > 0 ? 1 : 0) + kEventsPerAppend - 1) / kEventsPerAppend;
  std::vector<std::thread> appenders;
  for (int t = 0; t < kAppenders; ++t) {
    appenders.emplace_back([&, t] {
      std::mt19937_64 rng(seed * 31 + static_cast<uint64_t>(t));
      std::vector<NewEvent> batch;
      for (int64_t round = 0; round < rounds; ++round) {
        for (int64_t s = t; s < streams; s += kAppenders) {
          const int64_t total = base + (s < extra ? 1 : 0);
          const int64_t first = round * kEventsPerAppend;
          batch.clear();
          for (int64_t v = first; v < total && v < first + kEventsPerAppend; ++v) {
            if (v == 0) {
              batch.push_back(
                  CheckOk(bank::AccountOpenedEvent(std::to_string(s), OwnerName(s % owners),
                                                   "branch-" + std::to_string(s % 50),
                                                   (s % 4 == 0) ? 10000 : 0),
                          "AccountOpenedEvent"));
            } else {
              const int64_t amount = 100 + static_cast<int64_t>(rng() % 50000);
              batch.push_back(rng() % 3 == 0 ? bank::MoneyWithdrawnEvent(amount)
                                             : bank::MoneyDepositedEvent(amount));
            }
          }
          if (batch.empty()) continue;
          CheckOk(store.Append(AccountStream(s), ExpectedVersion::Any(), batch), "append");
        }
      }
    });
  }
  for (std::thread& a : appenders) a.join();
}

}  // namespace triad::bench
