// Three competing members with the real clock and short leases; one is killed while holding
// messages. Every event is processed at least once, each stream's events are first processed in
// version order with no skips, the killed member's messages are handed over once its lease
// expires, and the checkpoint reaches the head.
//   sqlite:   one SQLite store, one ConsumerGroups shared by the members.
//   postgres: (when TRIAD_TEST_POSTGRES is set) three nodes on one PostgreSQL schema, each with
//             its own EventStore and ConsumerGroups; each member polls and acks through its own
//             node, so the group's state moves between nodes on every operation.
#include "testing/pg_test_env.h"
#include "testing/temp_dir.h"
#include "testing/test_util.h"

#include "triad/clock.h"
#include "triad/consumer_groups.h"
#include "triad/event_store.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <unistd.h>
#include <vector>

#include "group_test_util.h"

namespace triad::testing {
namespace {

constexpr int kStreams = 20;
constexpr int kEventsPerStream = 20;
constexpr int64_t kLeaseUs = 300'000;

struct Shared {
  std::mutex mu;
  StreamOrderRecorder order;  // guarded by mu
  // Every processing by a survivor: position -> (time, attempt). Guarded by mu.
  std::multimap<Position, std::pair<int64_t, int32_t>> survivor_runs;
  std::atomic<bool> stop{false};
  std::atomic<bool> victim_dead{false};
};

// A member: polls, processes each batch in order (recording it), acks the batch. The member
// named `victim` stops for good, without acking, once it holds a batch after `20 acks.
void RunMember(ConsumerGroups& groups, const std::string& name, Shared& shared, bool victim,
               std::vector<Position>* held_at_death, int64_t* death_us) {
  int64_t acked_total = 0;
  while (!shared.stop.load()) {
    // The lease runs from the poll, so measure before it: the victim is gone at +lease at the
    // earliest.
    const int64_t poll_started_us = RealClock()->NowMicros();
    auto batch = groups.Poll("workers", name, {.max_messages = 10, .wait_us = 50'000});
    ASSERT_OK(batch);
    if (batch->empty()) continue;
    if (victim && acked_total >= 20) {
      *held_at_death = PositionsOf(*batch);
      *death_us = poll_started_us;
      shared.victim_dead.store(true);
      return;  // killed mid-stream: holds the batch, never acks, never polls again
    }
    std::vector<Position> positions;
    {
      std::lock_guard lock(shared.mu);
      for (const GroupMessage& m : *batch) {
        shared.order.Processed(m.event);
        if (!victim) {
          shared.survivor_runs.emplace(m.event.position,
                                       std::make_pair(RealClock()->NowMicros(), m.attempt));
        }
        positions.push_back(m.event.position);
      }
    }
    auto acked = groups.Ack("workers", name, positions);
    ASSERT_OK(acked);
    acked_total += *acked;
  }
}

class CompetingMembersTest : public ::testing::TestWithParam<std::string> {};

TEST_P(CompetingMembersTest, KilledMemberIsReplacedWithoutLossOrReordering) {
  const bool postgres = GetParam() == "postgres";
  const triad::testing::TempDir temp_dir("triad-competing");
  const std::filesystem::path& dir = temp_dir.path();
  const std::string uri =
      postgres ? FreshPostgresUri("competing") : "sqlite:" + (dir / "store.db").string();
  {
    // One node (sqlite), or one node per member (postgres); node 0 also appends and watches.
    std::vector<std::unique_ptr<EventStore>> stores;
    std::vector<std::unique_ptr<ConsumerGroups>> nodes;
    for (int i = 0; i < (postgres ? 3 : 1); ++i) {
      auto store = EventStore::Open(Options{}, uri);
      ASSERT_OK(store);
      auto groups = ConsumerGroups::Open(store->get(), {.uri = DefaultConsumerGroupsUri(uri)});
      ASSERT_OK(groups);
      stores.push_back(std::move(*store));
      nodes.push_back(std::move(*groups));
    }
    auto node = [&](size_t i) -> ConsumerGroups& { return *nodes[i % nodes.size()]; };
    auto* store = &stores[0];
    auto* groups = &nodes[0];
    ASSERT_OK((*groups)->Create("workers", {.categories = {"order"},
                                            .max_attempts = 100,
                                            .ack_timeout_us = 1'000'000,
                                            .member_lease_us = kLeaseUs,
                                            .retry_backoff_us = 10'000,
                                            .max_retry_backoff_us = 100'000}));

    Shared shared;
    std::vector<Position> victim_held;
    int64_t death_us = 0;
    std::thread writer([&] {
      std::mt19937 rng(42);
      std::vector<int> streams(kStreams);
      for (int s = 0; s < kStreams; ++s) streams[static_cast<size_t>(s)] = s;
      for (int round = 0; round < kEventsPerStream; ++round) {
        std::shuffle(streams.begin(), streams.end(), rng);
        for (int s : streams) {
          AppendOne(**store, "order-" + std::to_string(s), "Placed");
          // Noise outside the group's filter: the checkpoint must pass it too.
          if (s == 0) AppendOne(**store, "audit-1", "Noted");
        }
      }
    });
    std::thread a([&] { RunMember(node(0), "member-a", shared, false, nullptr, nullptr); });
    std::thread b([&] { RunMember(node(1), "member-b", shared, false, nullptr, nullptr); });
    std::thread c([&] { RunMember(node(2), "member-c", shared, true, &victim_held, &death_us); });
    writer.join();

    // Wait (real time, bounded) for the survivors to finish: the checkpoint reaches the head.
    auto head = (*store)->HeadPosition();
    ASSERT_OK(head);
    Position checkpoint = 0;
    const int64_t give_up = RealClock()->NowMicros() + 60'000'000;
    while (RealClock()->NowMicros() < give_up) {
      auto info = (*groups)->Get("workers");
      ASSERT_OK(info);
      checkpoint = info->checkpoint;
      if (checkpoint == *head && shared.victim_dead.load()) break;
      (void)(*store)->WaitForPosition(*head + 1, 20'000);  // a bounded pause that needs no sleep
    }
    shared.stop.store(true);
    a.join();
    b.join();
    c.join();

    EXPECT_EQ(checkpoint, *head);
    EXPECT_EQ(*head, kStreams * kEventsPerStream + kEventsPerStream);
    auto info = (*groups)->Get("workers");
    ASSERT_OK(info);
    EXPECT_EQ(info->parked, 0);
    EXPECT_EQ(info->in_flight, 0);
    for (const GroupMemberInfo& m : info->members) EXPECT_NE(m.name, "member-c");

    std::map<std::string, int64_t> expected;
    for (int s = 0; s < kStreams; ++s) expected["order-" + std::to_string(s)] = kEventsPerStream;
    std::lock_guard lock(shared.mu);
    EXPECT_TRUE(shared.order.InVersionOrder(expected));
    // The victim died holding messages, which the survivors got only after its lease expired,
    // as redeliveries.
    ASSERT_FALSE(victim_held.empty());
    for (Position p : victim_held) {
      int handed_over = 0;
      auto [begin, end] = shared.survivor_runs.equal_range(p);
      for (auto it = begin; it != end; ++it) {
        const auto [at_us, attempt] = it->second;
        if (at_us < death_us) continue;  // processed before the victim got it
        EXPECT_GE(at_us, death_us + kLeaseUs) << "position " << p << " handed over too early";
        EXPECT_GE(attempt, 2) << "position " << p;
        handed_over++;
      }
      EXPECT_GE(handed_over, 1) << "position " << p << " was never handed over";
    }
  }
  if (postgres) DropPostgresSchema(uri);
}

std::vector<std::string> Backends() {
  std::vector<std::string> out = {"sqlite"};
  if (PostgresTestUrl()) out.push_back("postgres");
  return out;
}

INSTANTIATE_TEST_SUITE_P(Storage, CompetingMembersTest, ::testing::ValuesIn(Backends()),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace triad::testing
