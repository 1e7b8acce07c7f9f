// Concurrency promises on every backend: per-stream linearizable appends (promise 3) and dense,
// commit-ordered positions that no reader ever sees out of order (promise 2).
#include "testing/test_util.h"

#include "triad/event_store.h"

#include <gtest/gtest.h>

#include <atomic>
#include <barrier>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "conformance/store_factory.h"

namespace triad::testing {
namespace {

constexpr int kThreads = 16;

class ConcurrencyContractTest : public StoreTest {};

// Each round, 16 threads append to one stream expecting the same version: exactly one wins, and
// every loser is told the version the winner produced.
TEST_P(ConcurrencyContractTest, SixteenWritersOneStreamExactlyOneWinsPerVersion) {
  constexpr int kRounds = 30;
  std::barrier start(kThreads);
  std::vector<std::vector<int>> wins(kThreads);
  std::atomic<int> bad_conflicts{0};
  std::atomic<int> other_errors{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int round = 0; round < kRounds; ++round) {
        start.arrive_and_wait();
        NewEvent e;
        e.type = "Raced";
        e.data = "{\"thread\":" + std::to_string(t) + ",\"round\":" + std::to_string(round) + "}";
        auto r = store().Append("race-1", ExpectedVersion::Exact(round - 1), {&e, 1});
        if (r.ok()) {
          wins[t].push_back(round);
        } else if (r.status().code() == StatusCode::kAborted) {
          if (r.status().current_version() != round) ++bad_conflicts;
        } else {
          ++other_errors;
        }
        start.arrive_and_wait();  // the round is over for everyone before the next starts
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(bad_conflicts.load(), 0);
  EXPECT_EQ(other_errors.load(), 0);

  std::map<int, int> winners_per_round;
  for (const auto& w : wins) {
    for (int round : w) ++winners_per_round[round];
  }
  for (int round = 0; round < kRounds; ++round) {
    EXPECT_EQ(winners_per_round[round], 1) << "round " << round;
  }
  auto events = store().ReadStream("race-1", {.limit = 1000});
  ASSERT_OK(events);
  ASSERT_EQ(events->size(), static_cast<size_t>(kRounds));
  for (int v = 0; v < kRounds; ++v) {
    EXPECT_EQ((*events)[v].version, v);
    EXPECT_NE((*events)[v].data.find("\"round\":" + std::to_string(v) + "}"), std::string::npos);
  }
}

// 16 threads on distinct streams: positions dense 1..N with none duplicated, each stream's
// versions dense, and a tailing reader sees every position exactly once, in order.
TEST_P(ConcurrencyContractTest, SixteenWritersDistinctStreamsKeepPositionsDense) {
  constexpr int kAppendsPerThread = 150;
  constexpr Position kTotal = kThreads * kAppendsPerThread;
  std::atomic<bool> writers_done{false};
  std::vector<Position> tailed;
  std::atomic<int> tail_errors{0};
  std::thread tail([&] {
    Position next = 1;
    while (next <= kTotal) {
      ReadAllOptions o;
      o.from_position = next;
      o.limit = 100;
      auto page = store().ReadAll(o);
      if (!page.ok()) {
        ++tail_errors;
        return;
      }
      for (const RecordedEvent& e : *page) {
        tailed.push_back(e.position);
        next = e.position + 1;
      }
      if (page->empty()) {
        if (writers_done && next > kTotal) break;
        (void)store().WaitForPosition(next, 100'000);
      }
    }
  });

  std::vector<std::thread> threads;
  std::atomic<int> errors{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      const std::string stream = "writer-" + std::to_string(t);
      for (int i = 0; i < kAppendsPerThread; ++i) {
        NewEvent e;
        e.type = "Wrote";
        e.data = "{\"i\":" + std::to_string(i) + "}";
        auto r = store().Append(stream, ExpectedVersion::Exact(i - 1), {&e, 1});
        if (!r.ok() || r->first_version != i) ++errors;
      }
    });
  }
  for (std::thread& t : threads) t.join();
  writers_done = true;
  tail.join();
  EXPECT_EQ(errors.load(), 0);
  EXPECT_EQ(tail_errors.load(), 0);

  // The tail saw 1..N in order, each once.
  ASSERT_EQ(tailed.size(), static_cast<size_t>(kTotal));
  for (Position p = 1; p <= kTotal; ++p) ASSERT_EQ(tailed[p - 1], p);

  std::map<std::string, StreamVersion> next_version;
  std::set<std::string> ids;
  Position expected = 1;
  ReadAllOptions o;
  o.limit = 500;
  while (true) {
    o.from_position = expected;
    auto page = store().ReadAll(o);
    ASSERT_OK(page);
    if (page->empty()) break;
    for (const RecordedEvent& e : *page) {
      ASSERT_EQ(e.position, expected);
      ++expected;
      EXPECT_EQ(e.version, next_version[e.stream]++) << e.stream;
      EXPECT_TRUE(ids.insert(e.id).second);
    }
  }
  EXPECT_EQ(expected - 1, kTotal);
  auto check = store().Check();
  ASSERT_OK(check);
  EXPECT_TRUE(check->ok());
}

// Idempotent retries racing with each other: every thread sends the same ids; all succeed with
// the same positions, and the events are stored once.
TEST_P(ConcurrencyContractTest, ConcurrentRetriesOfOneAppendStoreItOnce) {
  std::barrier start(kThreads);
  std::vector<Result<AppendResult>> results(kThreads, InternalError("not run"));
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::vector<NewEvent> batch(3);
      for (int i = 0; i < 3; ++i) {
        batch[i].id = "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5" + std::to_string(i);
        batch[i].type = "Paid";
      }
      start.arrive_and_wait();
      results[t] = store().Append("payment-1", ExpectedVersion::NoStream(), batch);
    });
  }
  for (std::thread& t : threads) t.join();
  int fresh = 0;
  for (const auto& r : results) {
    ASSERT_OK(r);
    EXPECT_EQ(r->first_position, 1);
    EXPECT_EQ(r->last_position, 3);
    if (!r->already_stored) ++fresh;
  }
  EXPECT_EQ(fresh, 1);
  auto head = store().HeadPosition();
  ASSERT_OK(head);
  EXPECT_EQ(*head, 3);
}

INSTANTIATE_TEST_SUITE_P(Backends, ConcurrencyContractTest, ::testing::ValuesIn(AllBackends()),
                         BackendName);

}  // namespace
}  // namespace triad::testing
