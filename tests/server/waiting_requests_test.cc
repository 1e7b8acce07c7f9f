// Waiting requests (GET with min_position/wait_ms, consumer-group poll with wait_ms) end to end:
// they are parked without a worker thread, so that more waiters than workers leave appends and
// /health answering at once; a waiter whose client disconnects releases its place at once;
// limits.max_waiters refuses more with a retryable 503; a parked request is answered as soon
// as what it waits for is there, or when its wait runs out.
#include "testing/test_util.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

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
using testing::RawConnection;
using testing::TestServer;
using SteadyClock = std::chrono::steady_clock;

// A wait no one will satisfy: far beyond the head, for the longest wait allowed.
constexpr char kEndlessWait[] = "/collections/c/docs/x?min_position=999999999&wait_ms=60000";

// A client whose requests fail after 5 s instead of hanging for the 60 s waits under test.
std::unique_ptr<HttpClient> QuickClient(TestServer& server) {
  auto client = HttpClient::Connect("127.0.0.1", server.server().port(),
                                    {.connect_timeout_ms = 5'000, .request_timeout_ms = 5'000});
  EXPECT_OK(client);
  return client.ok() ? std::move(*client) : nullptr;
}

// The value of gauge `name` in /metrics; -1 when it cannot be read.
int64_t Gauge(TestServer& server, const std::string& name) {
  auto client = QuickClient(server);
  if (client == nullptr) return -1;
  auto metrics = client->Send("GET", "/metrics");
  if (!metrics.ok() || metrics->status != 200) return -1;
  const std::string key = "\n" + name + " ";
  const size_t at = metrics->body.find(key);
  if (at == std::string::npos) return -1;
  return std::stoll(metrics->body.substr(at + key.size()));
}

// Polls the gauge until it equals `expected` (up to 10 s); returns the last value read.
int64_t AwaitGauge(TestServer& server, const std::string& name, int64_t expected) {
  const auto deadline = SteadyClock::now() + std::chrono::seconds(10);
  int64_t value = Gauge(server, name);
  while (value != expected && SteadyClock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    value = Gauge(server, name);
  }
  return value;
}

// A client projection owning collection `c` at checkpoint 0, so reads of `c` wait for it.
void CreateCollection(TestServer& server) {
  auto created =
      server.Call("POST", "/collections/c/batch",
                  R"({"projection":"cp","expected_checkpoint":0,"checkpoint":0,"upserts":[]})");
  ASSERT_EQ(created.status, 200) << created.body;
}

std::unique_ptr<RawConnection> OpenWaiter(TestServer& server, const std::string& target) {
  auto waiter = RawConnection::Open(server.server().port());
  EXPECT_OK(waiter);
  if (!waiter.ok()) return nullptr;
  EXPECT_OK((*waiter)->Send("GET " + target + " HTTP/1.1\r\nHost: test\r\n\r\n"));
  return std::move(*waiter);
}

double SecondsSince(SteadyClock::time_point start) {
  return std::chrono::duration<double>(SteadyClock::now() - start).count();
}

TEST(WaitingRequestsTest, MoreWaitersThanWorkersLeaveAppendsAndHealthAnswering) {
  TestServer server([](ServerConfig& config) { config.worker_threads = 4; });
  ASSERT_TRUE(server.server_started());
  CreateCollection(server);
  std::vector<std::unique_ptr<RawConnection>> waiters;
  for (int i = 0; i < 12; ++i) waiters.push_back(OpenWaiter(server, kEndlessWait));
  // Time for the server to read them all (not an assertion: the gauge is checked below).
  std::this_thread::sleep_for(std::chrono::milliseconds(500));

  auto client = QuickClient(server);
  ASSERT_NE(client, nullptr);
  const auto start = SteadyClock::now();
  auto appended = client->Send("POST", "/streams/s-1", R"({"events":[{"type":"A"}]})");
  ASSERT_OK(appended);
  EXPECT_EQ(appended->status, 201) << appended->body;
  auto health = client->Send("GET", "/health");
  ASSERT_OK(health);
  EXPECT_EQ(health->status, 200) << health->body;
  auto ping = client->Send("GET", "/ping");
  ASSERT_OK(ping);
  EXPECT_EQ(ping->status, 200);
  EXPECT_LT(SecondsSince(start), 5.0);
  EXPECT_EQ(AwaitGauge(server, "triad_waiting_requests", 12), 12);

  // A client that goes away ends its wait and frees its place.
  for (size_t i = 0; i < waiters.size(); i += 2) waiters[i]->Close();
  EXPECT_EQ(AwaitGauge(server, "triad_waiting_requests", 6), 6);
  waiters.clear();
  EXPECT_EQ(AwaitGauge(server, "triad_waiting_requests", 0), 0);
  EXPECT_EQ(server.server().store()->HeadPosition().value_or(-1), 1);
}

TEST(WaitingRequestsTest, MaxWaitersRefusesMoreWithARetryable503UntilOneLeaves) {
  TestServer server([](ServerConfig& config) { config.limits.max_waiters = 2; });
  ASSERT_TRUE(server.server_started());
  CreateCollection(server);
  auto first = OpenWaiter(server, kEndlessWait);
  auto second = OpenWaiter(server, kEndlessWait);
  ASSERT_EQ(AwaitGauge(server, "triad_waiting_requests", 2), 2);

  auto client = QuickClient(server);
  ASSERT_NE(client, nullptr);
  const std::string short_wait = "/collections/c/docs/x?min_position=999999999&wait_ms=300";
  auto refused = client->Send("GET", short_wait);
  ASSERT_OK(refused);
  EXPECT_EQ(refused->status, 503) << refused->body;
  EXPECT_EQ(JsonOf(*refused)["error"]["code"], "too_many_waiters");
  EXPECT_EQ(JsonOf(*refused)["error"]["limit"], 2);
  EXPECT_EQ(refused->Header("retry-after"), "1");
  // A read that needs no wait is served as usual.
  auto plain = client->Send("GET", "/collections/c/docs/x");
  ASSERT_OK(plain);
  EXPECT_EQ(plain->status, 404) << plain->body;

  first->Close();
  ASSERT_EQ(AwaitGauge(server, "triad_waiting_requests", 1), 1);
  // Admitted now, and answered when its wait runs out.
  const auto start = SteadyClock::now();
  auto timed_out = client->Send("GET", short_wait);
  ASSERT_OK(timed_out);
  EXPECT_EQ(timed_out->status, 408) << timed_out->body;
  EXPECT_EQ(JsonOf(*timed_out)["error"]["code"], "deadline_exceeded");
  EXPECT_GE(SecondsSince(start), 0.25);
}

TEST(WaitingRequestsTest, AParkedReadIsAnsweredWhenTheCheckpointArrives) {
  TestServer server([](ServerConfig& config) { config.worker_threads = 2; });
  ASSERT_TRUE(server.server_started());
  CreateCollection(server);
  Result<ClientResponse> read = UnavailableError("not answered");
  SteadyClock::time_point answered;
  std::thread reader([&] {
    auto client = QuickClient(server);
    read = client->Send("GET", "/collections/c/docs/d-1?min_position=1&wait_ms=4000");
    answered = SteadyClock::now();
  });
  ASSERT_EQ(AwaitGauge(server, "triad_waiting_requests", 1), 1);
  ASSERT_EQ(server.Call("POST", "/streams/s-1", R"({"events":[{"type":"A"}]})").status, 201);
  const auto committed = SteadyClock::now();
  auto batch = server.Call("POST", "/collections/c/batch",
                           R"({"projection":"cp","expected_checkpoint":0,"checkpoint":1,
                               "upserts":[{"id":"d-1","document":{"n":1}}]})");
  ASSERT_EQ(batch.status, 200) << batch.body;
  reader.join();
  ASSERT_OK(read);
  EXPECT_EQ(read->status, 200) << read->body;
  EXPECT_EQ(JsonOf(*read)["document"]["n"], 1);
  EXPECT_EQ(JsonOf(*read)["as_of"], 1);
  EXPECT_LT(std::chrono::duration<double>(answered - committed).count(), 2.0);
}

TEST(WaitingRequestsTest, AParkedPollIsWokenByAnAppend) {
  TestServer server([](ServerConfig& config) { config.worker_threads = 2; });
  ASSERT_TRUE(server.server_started());
  ASSERT_EQ(server.Call("PUT", "/groups/g", "{}").status, 201);
  Result<ClientResponse> polled = UnavailableError("not answered");
  std::thread poller([&] {
    auto client = QuickClient(server);
    polled = client->Send("POST", "/groups/g/poll", R"({"member":"m","wait_ms":4000})");
  });
  ASSERT_EQ(AwaitGauge(server, "triad_waiting_requests", 1), 1);
  const auto start = SteadyClock::now();
  ASSERT_EQ(server.Call("POST", "/streams/s-1", R"({"events":[{"type":"A"}]})").status, 201);
  poller.join();
  ASSERT_OK(polled);
  ASSERT_EQ(polled->status, 200) << polled->body;
  ASSERT_EQ(JsonOf(*polled)["messages"].size(), 1U) << polled->body;
  EXPECT_EQ(JsonOf(*polled)["messages"][0]["position"], 1);
  EXPECT_LT(SecondsSince(start), 2.0);
  EXPECT_EQ(AwaitGauge(server, "triad_waiting_requests", 0), 0);
}

}  // namespace
}  // namespace triad::server
