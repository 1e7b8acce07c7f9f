// Consumer groups end to end over HTTP against a real in-process server: three competing members
// (one HTTP client each), one killed while holding messages, a writer appending over HTTP. Every
// event is processed, each stream's events are first processed in version order with no skips,
// the killed member's messages are handed over after its lease, and the checkpoint reaches the
// head.
#include "triad/clock.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "../groups/group_test_util.h"
#include "support/test_server.h"

namespace triad::server {
namespace {

using nlohmann::json;
using testing::JsonOf;
using testing::TestServer;

constexpr int kStreams = 10;
constexpr int kEventsPerStream = 10;
constexpr int64_t kLeaseMs = 300;

struct Shared {
  std::mutex mu;
  triad::testing::StreamOrderRecorder order;  // guarded by mu
  // Every processing by a survivor: position -> (time, attempt). Guarded by mu.
  std::multimap<int64_t, std::pair<int64_t, int64_t>> survivor_runs;
  std::atomic<bool> stop{false};
  std::atomic<bool> victim_dead{false};
};

void RunMember(HttpClient& client, const std::string& name, Shared& shared, bool victim,
               std::vector<int64_t>* held_at_death, int64_t* death_us) {
  int64_t acked_total = 0;
  const std::string poll = json{{"member", name}, {"max", 10}, {"wait_ms", 50}}.dump();
  while (!shared.stop.load()) {
    const int64_t poll_started_us = RealClock()->NowMicros();
    auto response = client.Send("POST", "/groups/workers/poll", poll);
    ASSERT_TRUE(response.ok()) << response.status().ToString();
    ASSERT_EQ(response->status, 200) << response->body;
    const json messages = json::parse(response->body)["messages"];
    if (messages.empty()) continue;
    std::vector<int64_t> positions;
    for (const json& m : messages) positions.push_back(m["position"].get<int64_t>());
    if (victim && acked_total >= 10) {
      *held_at_death = positions;
      *death_us = poll_started_us;  // the lease runs from the poll
      shared.victim_dead.store(true);
      return;  // killed: holds the batch, never acks, never polls again
    }
    {
      std::lock_guard lock(shared.mu);
      for (const json& m : messages) {
        RecordedEvent event;
        event.stream = m["event"]["stream"].get<std::string>();
        event.version = m["event"]["version"].get<int64_t>();
        event.position = m["position"].get<int64_t>();
        shared.order.Processed(event);
        if (!victim) {
          shared.survivor_runs.emplace(event.position, std::make_pair(RealClock()->NowMicros(),
                                                                      m["attempt"].get<int64_t>()));
        }
      }
    }
    auto acked = client.Send("POST", "/groups/workers/ack",
                             json{{"member", name}, {"positions", positions}}.dump());
    ASSERT_TRUE(acked.ok()) << acked.status().ToString();
    ASSERT_EQ(acked->status, 200) << acked->body;
    acked_total += json::parse(acked->body)["acked"].get<int64_t>();
  }
}

TEST(GroupEndToEndTest, CompetingMembersOverHttp) {
  TestServer server;
  ASSERT_TRUE(server.server_started());
  const json settings = {{"categories", {"order"}}, {"max_attempts", 100},
                         {"ack_timeout_ms", 1000},  {"member_lease_ms", kLeaseMs},
                         {"retry_backoff_ms", 10},  {"max_retry_backoff_ms", 100}};
  ASSERT_EQ(server.Call("PUT", "/groups/workers", settings.dump()).status, 201);

  Shared shared;
  std::vector<int64_t> victim_held;
  int64_t death_us = 0;
  auto writer_client = server.NewClient();
  auto a_client = server.NewClient();
  auto b_client = server.NewClient();
  auto c_client = server.NewClient();
  ASSERT_TRUE(writer_client && a_client && b_client && c_client);
  std::thread writer([&] {
    for (int round = 0; round < kEventsPerStream; ++round) {
      for (int s = 0; s < kStreams; ++s) {
        const int stream = (s * 7 + round) % kStreams;  // a different order every round
        auto r = writer_client->Send("POST", "/streams/order-" + std::to_string(stream),
                                     R"({"events":[{"type":"Placed"}]})");
        ASSERT_TRUE(r.ok()) << r.status().ToString();
        ASSERT_EQ(r->status, 201) << r->body;
      }
    }
  });
  std::thread a([&] { RunMember(*a_client, "member-a", shared, false, nullptr, nullptr); });
  std::thread b([&] { RunMember(*b_client, "member-b", shared, false, nullptr, nullptr); });
  std::thread c([&] { RunMember(*c_client, "member-c", shared, true, &victim_held, &death_us); });
  writer.join();

  const int64_t head = server.Head();
  int64_t checkpoint = -1;
  const int64_t give_up = RealClock()->NowMicros() + 60'000'000;
  while (RealClock()->NowMicros() < give_up) {
    auto info = server.Call("GET", "/groups/workers");
    ASSERT_EQ(info.status, 200) << info.body;
    checkpoint = JsonOf(info)["checkpoint"].get<int64_t>();
    if (checkpoint == head && shared.victim_dead.load()) break;
    // A bounded pause that needs no sleep: nothing is appended any more.
    (void)server.server().store()->WaitForPosition(head + 1, 20'000);
  }
  shared.stop.store(true);
  a.join();
  b.join();
  c.join();

  EXPECT_EQ(head, kStreams * kEventsPerStream);
  EXPECT_EQ(checkpoint, head);
  const json info = JsonOf(server.Call("GET", "/groups/workers"));
  EXPECT_EQ(info["parked"], 0);
  EXPECT_EQ(info["in_flight"], 0);
  for (const json& m : info["members"]) EXPECT_NE(m["name"], "member-c");

  std::map<std::string, int64_t> expected;
  for (int s = 0; s < kStreams; ++s) expected["order-" + std::to_string(s)] = kEventsPerStream;
  std::lock_guard lock(shared.mu);
  EXPECT_TRUE(shared.order.InVersionOrder(expected));
  ASSERT_FALSE(victim_held.empty());
  for (int64_t p : victim_held) {
    int handed_over = 0;
    auto [begin, end] = shared.survivor_runs.equal_range(p);
    for (auto it = begin; it != end; ++it) {
      const auto [at_us, attempt] = it->second;
      if (at_us < death_us) continue;  // processed before the victim got it
      EXPECT_GE(at_us, death_us + kLeaseMs * 1000) << "position " << p << " handed over too early";
      EXPECT_GE(attempt, 2) << "position " << p;
      handed_over++;
    }
    EXPECT_GE(handed_over, 1) << "position " << p << " was never handed over";
  }
}

}  // namespace
}  // namespace triad::server
