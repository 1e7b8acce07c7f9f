// Two `triad serve` processes on one PostgreSQL store (docs/postgres.md, "Several nodes"): an
// append made through either node is delivered live to an SSE subscriber on the other, and a
// document written by the projection (running on whichever node holds its lease) is answered by
// both, with the exact fold of the appends. A consumer group created on one node is served by
// both: a message polled through one is acked through the other.
#include "testing/pg_test_env.h"
#include "testing/temp_dir.h"
#include "testing/test_util.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <csignal>
#include <filesystem>
#include <memory>
#include <string>
#include <unistd.h>
#include <vector>

#include "server/http_client.h"
#include "support/server_process.h"

namespace triad::server::testing {
namespace {

using ::triad::testing::DropPostgresSchema;
using ::triad::testing::FreshPostgresUri;
using ::triad::testing::PostgresTestUrl;

class MultiNodeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!PostgresTestUrl()) GTEST_SKIP() << "TRIAD_TEST_POSTGRES is not set";
    uri_ = FreshPostgresUri("multinode");
  }
  void TearDown() override {
    nodes_.clear();
    if (!uri_.empty()) DropPostgresSchema(uri_);
  }

  // Starts node `name` with the bank's `accounts` projection (Lua) in its own scripts folder.
  ServerProcess& StartNode(const std::string& name) {
    const std::filesystem::path scripts = dir_.path() / (name + ".scripts");
    std::filesystem::create_directories(scripts);
    std::filesystem::copy_file(
        std::filesystem::path(TRIAD_SOURCE_DIR) / "examples/bank/projections/accounts.lua",
        scripts / "accounts.lua");
    auto node = ServerProcess::Start(ServerProcessOptions{.data = uri_,
                                                          .args = {"--scripts", scripts.string()},
                                                          .log_file = dir_.File(name + ".log")});
    EXPECT_OK(node);
    nodes_.push_back(std::move(*node));
    return *nodes_.back();
  }

  // Sends `body` to `node` and expects `status`; returns the parsed answer.
  static nlohmann::json Call(HttpClient& node, const std::string& method, const std::string& path,
                             const nlohmann::json& body, int status) {
    auto response = node.Send(method, path, body.is_null() ? "" : body.dump());
    EXPECT_OK(response);
    if (!response.ok()) return nullptr;
    EXPECT_EQ(response->status, status) << method << " " << path << ": " << response->body;
    return nlohmann::json::parse(response->body, nullptr, /*allow_exceptions=*/false);
  }

  static std::unique_ptr<HttpClient> Client(const ServerProcess& node) {
    auto client = HttpClient::FromUrl(node.url());
    EXPECT_OK(client);
    return std::move(*client);
  }

  // Appends one event through `node`; returns the position it got.
  static int64_t Append(HttpClient& node, const std::string& stream, const nlohmann::json& event) {
    const nlohmann::json body = {{"expected_version", "any"}, {"events", {event}}};
    auto response = node.Send("POST", "/streams/" + stream, body.dump());
    EXPECT_OK(response);
    if (!response.ok()) return 0;
    EXPECT_EQ(response->status, 201) << response->body;
    return nlohmann::json::parse(response->body).value("last_position", int64_t{0});
  }

  std::string uri_;
  triad::testing::TempDir dir_{"triad-multi-node"};
  std::vector<std::unique_ptr<ServerProcess>> nodes_;
};

TEST_F(MultiNodeTest, APasswordInTheUriStaysOutOfHealthAndTheLogs) {
  // The test cluster trusts local connections, so libpq sends the password to no one; what
  // matters is that the server never shows it.
  const std::string secret = "s3cret-Pa55-" + std::to_string(::getpid());
  const std::string uri = uri_ + "&password=" + secret;
  const std::string log = dir_.File("password.log");
  auto node = ServerProcess::Start(ServerProcessOptions{.data = uri, .log_file = log});
  ASSERT_OK(node);
  auto client = Client(**node);
  ASSERT_EQ(Append(*client, "account-1", {{"type", "AccountOpened"}}), 1);
  auto health = client->Send("GET", "/health");
  ASSERT_OK(health);
  EXPECT_EQ(health->status, 200);
  EXPECT_EQ(health->body.find(secret), std::string::npos) << health->body;
  // No tokens configured: the caller is an admin and sees the store, masked.
  EXPECT_NE(health->body.find("password=***"), std::string::npos) << health->body;
  auto stats = client->Send("GET", "/metrics");
  ASSERT_OK(stats);
  EXPECT_EQ(stats->body.find(secret), std::string::npos);
  (*node)->Signal(SIGTERM);
  ASSERT_OK((*node)->WaitExit(30'000));
  const std::string output = (*node)->Output();
  EXPECT_NE(output.find("listening"), std::string::npos) << output;
  EXPECT_NE(output.find("password=***"), std::string::npos) << output;
  EXPECT_EQ(output.find(secret), std::string::npos) << output;
}

TEST_F(MultiNodeTest, AppendsReachSubscribersOnTheOtherNodeAndBothAnswerQueries) {
  ServerProcess& a = StartNode("a");
  ServerProcess& b = StartNode("b");
  auto client_a = Client(a);
  auto client_b = Client(b);
  auto url_b = ParseUrl(b.url());
  ASSERT_OK(url_b);
  auto stream = SseStream::Open(*url_b, "/subscribe?from_position=1&category=account");
  ASSERT_OK(stream);

  const nlohmann::json opened = {
      {"type", "AccountOpened"},
      {"data", {{"account_id", "1"}, {"owner", "ada"}, {"branch", "london"}}}};
  ASSERT_EQ(Append(*client_a, "account-1", opened), 1);
  int64_t sum = 0;
  int64_t last = 1;
  for (int i = 1; i <= 20; ++i) {
    // Alternate nodes: both write to the one log.
    HttpClient& via = i % 2 == 0 ? *client_a : *client_b;
    last = Append(via, "account-1",
                  {{"type", "MoneyDeposited"}, {"data", {{"amount_cents", i * 100}}}});
    sum += i * 100;
  }
  ASSERT_EQ(last, 21);

  // The subscriber on node b sees all 21 events, in order, without gaps.
  int64_t expected = 1;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (expected <= last && std::chrono::steady_clock::now() < deadline) {
    auto event = (*stream)->Next(5'000);
    ASSERT_OK(event);
    if (event->heartbeat) continue;
    ASSERT_EQ(event->id, std::to_string(expected)) << event->data;
    ++expected;
  }
  EXPECT_EQ(expected, last + 1);

  // Both nodes answer the query with the fold of the 21 events.
  for (HttpClient* node : {client_a.get(), client_b.get()}) {
    auto doc = node->Send("GET", "/collections/accounts/docs/account-1?min_position=" +
                                     std::to_string(last) + "&wait_ms=20000");
    ASSERT_OK(doc);
    ASSERT_EQ(doc->status, 200) << doc->body;
    const auto answer = nlohmann::json::parse(doc->body);
    ASSERT_TRUE(answer.contains("document")) << doc->body;
    const auto& body = answer.at("document");
    EXPECT_EQ(body.value("balance_cents", int64_t{-1}), sum) << doc->body;
    EXPECT_EQ(body.value("owner", ""), "ada") << doc->body;
    EXPECT_EQ(body.at("_meta").value("position", int64_t{-1}), last) << doc->body;
    EXPECT_GE(answer.value("as_of", int64_t{-1}), last) << doc->body;
  }

  // The projection ran on exactly one of the two nodes (its lease); the other stands by.
  int leased = 0;
  for (HttpClient* node : {client_a.get(), client_b.get()}) {
    auto status = node->Send("GET", "/projections/accounts");
    ASSERT_OK(status);
    ASSERT_EQ(status->status, 200) << status->body;
    const auto json = nlohmann::json::parse(status->body);
    const auto& versions = json.contains("versions") ? json.at("versions") : json;
    const std::string text = versions.dump();
    if (text.find("\"leased\":true") != std::string::npos) ++leased;
  }
  EXPECT_EQ(leased, 1);
}

TEST_F(MultiNodeTest, ConsumerGroupsAreSharedByTheNodes) {
  ServerProcess& a = StartNode("a");
  ServerProcess& b = StartNode("b");
  auto client_a = Client(a);
  auto client_b = Client(b);
  const nlohmann::json opened = {
      {"type", "AccountOpened"},
      {"data", {{"account_id", "1"}, {"owner", "ada"}, {"branch", "london"}}}};
  ASSERT_EQ(Append(*client_a, "account-1", opened), 1);
  ASSERT_EQ(Append(*client_b, "account-2", opened), 2);
  ASSERT_EQ(Append(*client_a, "account-1",
                   {{"type", "MoneyDeposited"}, {"data", {{"amount_cents", 100}}}}),
            3);

  const nlohmann::json settings = {{"categories", {"account"}}, {"ack_timeout_ms", 60000}};
  EXPECT_EQ(Call(*client_a, "PUT", "/groups/billing", settings, 201).value("created", false), true);
  // The other node knows it: same settings → 200, other settings → 409.
  EXPECT_EQ(Call(*client_b, "PUT", "/groups/billing", settings, 200).value("created", true), false);
  Call(*client_b, "PUT", "/groups/billing", {{"max_attempts", 2}}, 409);

  // w1 polls through a and gets both streams' first events; w2, through b, gets nothing: the
  // streams are w1's until it acks.
  auto w1 = Call(*client_a, "POST", "/groups/billing/poll", {{"member", "w1"}, {"max", 2}}, 200);
  ASSERT_EQ(w1.at("messages").size(), 2u) << w1.dump();
  EXPECT_EQ(w1.at("messages")[0].value("position", 0), 1);
  EXPECT_EQ(w1.at("messages")[1].value("position", 0), 2);
  auto w2 = Call(*client_b, "POST", "/groups/billing/poll", {{"member", "w2"}}, 200);
  EXPECT_TRUE(w2.at("messages").empty()) << w2.dump();

  // w1 acks through b, then w2 takes account-1's next event through b.
  EXPECT_EQ(
      Call(*client_b, "POST", "/groups/billing/ack", {{"member", "w1"}, {"positions", {1}}}, 200)
          .value("acked", -1),
      1);
  w2 = Call(*client_b, "POST", "/groups/billing/poll", {{"member", "w2"}}, 200);
  ASSERT_EQ(w2.at("messages").size(), 1u) << w2.dump();
  EXPECT_EQ(w2.at("messages")[0].value("position", 0), 3);
  EXPECT_EQ(
      Call(*client_a, "POST", "/groups/billing/ack", {{"member", "w2"}, {"positions", {3}}}, 200)
          .value("acked", -1),
      1);

  // Both nodes describe the same state: 2 still held by w1, so the checkpoint is 1.
  for (HttpClient* node : {client_a.get(), client_b.get()}) {
    auto group = Call(*node, "GET", "/groups/billing", nullptr, 200);
    EXPECT_EQ(group.value("checkpoint", -1), 1) << group.dump();
    EXPECT_EQ(group.value("in_flight", -1), 1) << group.dump();
    ASSERT_EQ(group.at("members").size(), 2u) << group.dump();
    EXPECT_EQ(group.at("members")[0].value("name", ""), "w1");
    EXPECT_EQ(group.at("members")[0].value("in_flight", -1), 1);
  }
  Call(*client_b, "DELETE", "/groups/billing", nullptr, 200);
  Call(*client_a, "GET", "/groups/billing", nullptr, 404);
}

}  // namespace
}  // namespace triad::server::testing
