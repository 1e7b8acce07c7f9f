// GET /subscribe end to end (in-process server): catch-up then live, filters, heartbeats,
// resume with Last-Event-ID under a concurrent writer without gaps or duplicates, a stalled
// client that must not hold anyone back, the subscriber limit and the shutdown notice.
#include "testing/test_util.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "server/http_client.h"
#include "support/raw_connection.h"
#include "support/test_server.h"

namespace triad::server {
namespace {

using testing::JsonOf;
using testing::TestServer;

constexpr int64_t kTimeoutMs = 10'000;

void AppendOrFail(HttpClient& client, const std::string& stream, const std::string& events) {
  auto response = client.Send("POST", "/streams/" + stream, R"({"events":[)" + events + "]}");
  ASSERT_OK(response);
  ASSERT_EQ(response->status, 201) << response->body;
}

// The next non-heartbeat event.
Result<SseEvent> NextEvent(SseStream& stream, int64_t timeout_ms = kTimeoutMs) {
  while (true) {
    auto event = stream.Next(timeout_ms);
    if (!event.ok() || !event->heartbeat) return event;
  }
}

int64_t PositionOf(const SseEvent& event) { return std::stoll(event.id); }

TEST(SseTest, CatchesUpThenFollowsLiveWithPositionsAsIds) {
  TestServer server;
  ASSERT_TRUE(server.server_started());
  AppendOrFail(server.client(), "acc-1", R"({"type":"A"},{"type":"B"},{"type":"C"})");
  auto stream = SseStream::Open(server.url(), "/subscribe?from_position=2");
  ASSERT_OK(stream);
  for (int64_t expected : {2, 3}) {
    auto event = NextEvent(**stream);
    ASSERT_OK(event);
    EXPECT_EQ(event->event, "event");
    EXPECT_EQ(PositionOf(*event), expected);
    auto envelope = nlohmann::json::parse(event->data);
    EXPECT_EQ(envelope["position"], expected);
    EXPECT_EQ(envelope["stream"], "acc-1");
  }
  AppendOrFail(server.client(), "acc-2", R"({"type":"D","data":{"k":1}})");
  auto live = NextEvent(**stream);
  ASSERT_OK(live);
  EXPECT_EQ(live->id, "4");
  EXPECT_EQ(nlohmann::json::parse(live->data)["data"], nlohmann::json({{"k", 1}}));
}

TEST(SseTest, DefaultStartsAtTheHeadAndFiltersApply) {
  TestServer server;
  ASSERT_TRUE(server.server_started());
  AppendOrFail(server.client(), "acc-1", R"({"type":"Old"})");
  auto stream = SseStream::Open(server.url(), "/subscribe?type=Keep&category=acc");
  ASSERT_OK(stream);
  // Only new events: an idle wait first proves nothing old is sent.
  EXPECT_ERROR_CODE((*stream)->Next(200), kDeadlineExceeded);
  AppendOrFail(server.client(), "acc-1", R"({"type":"Skip"},{"type":"Keep"})");
  AppendOrFail(server.client(), "user-1", R"({"type":"Keep"})");
  AppendOrFail(server.client(), "acc-2", R"({"type":"Keep"})");
  auto first = NextEvent(**stream);
  ASSERT_OK(first);
  EXPECT_EQ(first->id, "3");
  auto second = NextEvent(**stream);
  ASSERT_OK(second);
  EXPECT_EQ(second->id, "5");
}

TEST(SseTest, SendsHeartbeatsWhenIdle) {
  TestServer server([](ServerConfig& config) { config.sse.heartbeat_ms = 50; });
  ASSERT_TRUE(server.server_started());
  auto stream = SseStream::Open(server.url(), "/subscribe");
  ASSERT_OK(stream);
  auto heartbeat = (*stream)->Next(kTimeoutMs);
  ASSERT_OK(heartbeat);
  EXPECT_TRUE(heartbeat->heartbeat);
}

TEST(SseTest, ResumesAfterForcedDisconnectWithoutGapsOrDuplicates) {
  TestServer server([](ServerConfig& config) { config.sse.batch_events = 7; });
  ASSERT_TRUE(server.server_started());
  constexpr int kEvents = 400;
  std::atomic<bool> writer_failed{false};
  std::thread writer([&] {
    auto client = server.NewClient();
    for (int i = 0; i < kEvents; ++i) {
      auto response =
          client->Send("POST", "/streams/s-" + std::to_string(i % 5),
                       R"({"events":[{"type":"T","data":{"i":)" + std::to_string(i) + "}}]}");
      if (!response.ok() || response->status != 201) writer_failed = true;
    }
  });
  std::vector<int64_t> seen;
  std::optional<std::string> last_id;
  int reconnects = 0;
  while (static_cast<int>(seen.size()) < kEvents) {
    auto stream = SseStream::Open(server.url(), "/subscribe?from_position=1", last_id);
    ASSERT_OK(stream);
    ++reconnects;
    // Read a few events, then drop the connection mid-stream.
    for (int i = 0; i < 37 && static_cast<int>(seen.size()) < kEvents; ++i) {
      auto event = NextEvent(**stream);
      ASSERT_OK(event);
      seen.push_back(PositionOf(*event));
      last_id = event->id;
    }
    (*stream)->Close();
  }
  writer.join();
  EXPECT_FALSE(writer_failed.load());
  EXPECT_GT(reconnects, 5);
  ASSERT_EQ(seen.size(), static_cast<size_t>(kEvents));
  for (int i = 0; i < kEvents; ++i) ASSERT_EQ(seen[i], i + 1) << "at index " << i;
}

int64_t SubscriberGauge(TestServer& server) {
  auto metrics = server.Call("GET", "/metrics");
  const std::string key = "\ntriad_sse_subscribers ";
  const size_t at = metrics.body.find(key);
  if (at == std::string::npos) return -1;
  return std::stoll(metrics.body.substr(at + key.size()));
}

TEST(SseTest, StalledClientHoldsNoOneBackAndIsDisconnected) {
  TestServer server([](ServerConfig& config) {
    config.sse.write_timeout_ms = 200;
    config.sse.max_lag_events = 500;
    config.sse.batch_events = 100;
  });
  ASSERT_TRUE(server.server_started());
  auto stalled = SseStream::Open(server.url(), "/subscribe?from_position=1");
  ASSERT_OK(stalled);
  auto fast = SseStream::Open(server.url(), "/subscribe?from_position=1");
  ASSERT_OK(fast);
  // ~10 MB of events: more than the stalled socket's buffers can hold.
  constexpr int kAppends = 200;
  constexpr int kPerAppend = 50;
  const std::string padding(1000, 'x');
  std::string batch;
  for (int i = 0; i < kPerAppend; ++i) {
    if (i > 0) batch += ',';
    batch += R"({"type":"Big","data":{"pad":")" + padding + R"("}})";
  }
  std::thread writer([&] {
    auto client = server.NewClient();
    for (int i = 0; i < kAppends; ++i) AppendOrFail(*client, "big-1", batch);
  });
  for (int64_t expected = 1; expected <= kAppends * kPerAppend; ++expected) {
    auto event = NextEvent(**fast);
    ASSERT_OK(event);
    ASSERT_EQ(PositionOf(*event), expected);
  }
  writer.join();
  EXPECT_EQ(server.Head(), kAppends * kPerAppend);
  // The stalled subscriber is cut off while the fast one stays.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (SubscriberGauge(server) != 1 && std::chrono::steady_clock::now() < deadline) {
    auto heartbeat = (*fast)->Next(50);  // waits without a bare sleep
    (void)heartbeat;
  }
  EXPECT_EQ(SubscriberGauge(server), 1);
  // What the stalled client got is a gap-free prefix, then the end of the stream.
  int64_t next = 1;
  while (true) {
    auto event = (*stalled)->Next(kTimeoutMs);
    if (!event.ok()) {
      EXPECT_ERROR_CODE(event, kUnavailable);
      break;
    }
    if (event->heartbeat) continue;
    if (event->event == "disconnect") {
      EXPECT_EQ(nlohmann::json::parse(event->data)["reason"], "lagging");
      continue;
    }
    ASSERT_EQ(PositionOf(*event), next);
    ++next;
  }
  EXPECT_LT(next - 1, kAppends * kPerAppend);
}

TEST(SseTest, SubscriberLimitAndBadLastEventId) {
  TestServer server([](ServerConfig& config) { config.limits.max_sse_clients = 1; });
  ASSERT_TRUE(server.server_started());
  auto first = SseStream::Open(server.url(), "/subscribe");
  ASSERT_OK(first);
  auto second = SseStream::Open(server.url(), "/subscribe");
  EXPECT_ERROR_CODE(second, kResourceExhausted);
  // Parameters are checked before the limit.
  auto bad = SseStream::Open(server.url(), "/subscribe", "not-a-number");
  EXPECT_ERROR_CODE(bad, kInvalidArgument);
  EXPECT_NE(bad.status().message().find("Last-Event-ID"), std::string::npos);
}

int64_t GaugeOf(TestServer& server, const std::string& name) {
  auto metrics = server.Call("GET", "/metrics");
  const std::string key = "\n" + name + " ";
  const size_t at = metrics.body.find(key);
  if (at == std::string::npos) return -1;
  return std::stoll(metrics.body.substr(at + key.size()));
}

// Subscribers that never read: what the server holds for them stays within its budget while a
// fast subscriber still gets everything, and they are disconnected.
TEST(SseTest, StalledSubscribersBuffersStayWithinTheBudget) {
  constexpr int64_t kBudget = 256 * 1024;
  TestServer server([](ServerConfig& config) {
    config.sse.max_buffer_bytes = 64 * 1024;
    config.limits.max_sse_buffer_bytes = kBudget;
    config.sse.write_timeout_ms = 1500;
  });
  ASSERT_TRUE(server.server_started());
  auto fast = SseStream::Open(server.url(), "/subscribe?from_position=1");
  ASSERT_OK(fast);
  std::vector<std::unique_ptr<testing::RawConnection>> stalled;
  for (int i = 0; i < 10; ++i) {
    auto connection = testing::RawConnection::Open(server.server().port(), 4096);
    ASSERT_OK(connection);
    ASSERT_OK((*connection)->Send("GET /subscribe?from_position=1 HTTP/1.1\r\nHost: t\r\n\r\n"));
    stalled.push_back(std::move(*connection));
  }
  for (int i = 0; i < 200 && SubscriberGauge(server) != 11; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_EQ(SubscriberGauge(server), 11);
  constexpr int kAppends = 100;
  constexpr int kPerAppend = 50;
  const std::string padding(1000, 'x');
  std::string batch;
  for (int i = 0; i < kPerAppend; ++i) {
    if (i > 0) batch += ',';
    batch += R"({"type":"Big","data":{"pad":")" + padding + R"("}})";
  }
  std::atomic<bool> writing{true};
  std::atomic<int64_t> most{-1};
  std::thread writer([&] {
    auto client = server.NewClient();
    for (int i = 0; i < kAppends; ++i) AppendOrFail(*client, "big-1", batch);
    writing.store(false);
  });
  std::thread sampler([&] {
    while (writing.load()) {
      most.store(std::max(most.load(), GaugeOf(server, "triad_sse_buffered_bytes")));
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  });
  for (int64_t expected = 1; expected <= kAppends * kPerAppend; ++expected) {
    auto event = NextEvent(**fast);
    ASSERT_OK(event);
    ASSERT_EQ(PositionOf(*event), expected);
  }
  writer.join();
  sampler.join();
  EXPECT_GT(most.load(), 0);
  EXPECT_LE(most.load(), kBudget);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (SubscriberGauge(server) != 1 && std::chrono::steady_clock::now() < deadline) {
    (void)(*fast)->Next(50);
  }
  EXPECT_EQ(SubscriberGauge(server), 1);
  EXPECT_EQ(GaugeOf(server, "triad_sse_buffered_bytes"), 0);
}

// /subscribe checks its parameters as GET /events does, and refuses them with the same 400
// before streaming (not a 200 that ends at once).
TEST(SseTest, OutOfRangeLastEventIdAndBadFiltersAre400LikeEvents) {
  TestServer server;
  ASSERT_TRUE(server.server_started());
  AppendOrFail(server.client(), "s-1", R"({"type":"A"})");
  auto huge = SseStream::Open(server.url(), "/subscribe", "9223372036854775807");
  EXPECT_ERROR_CODE(huge, kInvalidArgument);
  EXPECT_NE(huge.status().message().find("Last-Event-ID"), std::string::npos);
  EXPECT_ERROR_CODE(SseStream::Open(server.url(), "/subscribe", "9223372036854775806"),
                    kInvalidArgument);
  // The largest resume point still streams.
  EXPECT_OK(SseStream::Open(server.url(), "/subscribe", "9223372036854775805"));
  auto client = HttpClient::Connect("127.0.0.1", server.server().port(),
                                    {.connect_timeout_ms = 5'000, .request_timeout_ms = 5'000});
  ASSERT_OK(client);
  for (const std::string query : {"type=", "type=1bad", "type=A&type=no%20spaces", "category="}) {
    SCOPED_TRACE(query);
    auto events = (*client)->Send("GET", "/events?" + query);
    ASSERT_OK(events);
    ASSERT_EQ(events->status, 400) << events->body;
    auto subscribed = (*client)->Send("GET", "/subscribe?" + query);
    ASSERT_OK(subscribed);
    EXPECT_EQ(subscribed->status, 400) << subscribed->body;
    EXPECT_EQ(JsonOf(*subscribed), JsonOf(*events));
  }
}

TEST(SseTest, ShutdownSendsDisconnectToSubscribers) {
  TestServer server;
  ASSERT_TRUE(server.server_started());
  auto stream = SseStream::Open(server.url(), "/subscribe");
  ASSERT_OK(stream);
  std::thread stopper([&] {
    server.server().RequestStop();
    EXPECT_OK(server.server().Wait());
  });
  auto event = NextEvent(**stream);
  stopper.join();
  ASSERT_OK(event);
  EXPECT_EQ(event->event, "disconnect");
  EXPECT_EQ(nlohmann::json::parse(event->data)["reason"], "shutting_down");
}

}  // namespace
}  // namespace triad::server
