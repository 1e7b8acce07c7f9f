// The consumer-group routes in-process (no socket): status codes and exact JSON bodies.
#include "server/routes/group_routes.h"

#include "testing/simulated_clock.h"

#include "triad/consumer_groups.h"
#include "triad/event_store.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "route_harness.h"
#include "server/server_context.h"

namespace triad::server {
namespace {

using nlohmann::json;
using testing::BodyOf;
using testing::Dispatch;
using testing::ErrorCode;
using testing::RouteCall;

class GroupRoutesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Options options;
    options.clock = &clock_;
    auto store = EventStore::Open(options, "memory:");
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    store_ = *std::move(store);
    auto groups = ConsumerGroups::Open(store_.get(), {.clock = &clock_});
    ASSERT_TRUE(groups.ok()) << groups.status().ToString();
    groups_ = *std::move(groups);
    context_.store = store_.get();
    context_.groups = groups_.get();
    context_.clock = &clock_;
    RegisterGroupRoutes(router_, context_);
  }

  Position Append(const std::string& stream, const std::string& type = "Placed") {
    NewEvent e{.type = type, .data = R"({"n":1})"};
    auto r = store_->Append(stream, ExpectedVersion::Any(), {&e, 1});
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? r->last_position : 0;
  }

  HttpResponse Call(std::string method, std::string path, std::string body = "",
                    std::vector<std::pair<std::string, std::string>> query = {}) {
    return Dispatch(router_, RouteCall{.method = std::move(method),
                                       .path = std::move(path),
                                       .query = std::move(query),
                                       .body = std::move(body)});
  }

  triad::testing::SimulatedClock clock_;
  std::unique_ptr<EventStore> store_;
  std::unique_ptr<ConsumerGroups> groups_;
  ServerContext context_;
  Router router_;
};

TEST_F(GroupRoutesTest, RoutesHaveTheDocumentedRoles) {
  std::map<std::string, Role> roles;
  for (const RouteInfo& r : router_.Routes()) roles[r.method + " " + r.pattern] = r.min_role;
  const std::map<std::string, Role> expected = {
      {"PUT /groups/{group}", Role::kAdmin},
      {"GET /groups/{group}", Role::kRead},
      {"GET /groups", Role::kRead},
      {"DELETE /groups/{group}", Role::kAdmin},
      {"POST /groups/{group}/poll", Role::kWrite},
      {"POST /groups/{group}/ack", Role::kWrite},
      {"POST /groups/{group}/nack", Role::kWrite},
      {"GET /groups/{group}/parked", Role::kRead},
      {"POST /groups/{group}/parked/replay", Role::kAdmin}};
  EXPECT_EQ(roles, expected);
}

TEST_F(GroupRoutesTest, CreateGetListDelete) {
  const std::string settings =
      R"({"categories":["order"],"max_attempts":3,"ack_timeout_ms":5000,"member_lease_ms":2000})";
  HttpResponse created = Call("PUT", "/groups/billing", settings);
  ASSERT_EQ(created.status, 201) << created.body;
  const json expected_settings = {{"event_types", json::array()}, {"categories", {"order"}},
                                  {"start_position", 1},          {"max_attempts", 3},
                                  {"ack_timeout_ms", 5000},       {"member_lease_ms", 2000},
                                  {"retry_backoff_ms", 1000},     {"max_retry_backoff_ms", 60000}};
  const std::string created_at = FormatTimestamp(clock_.NowMicros());
  json expected = {{"name", "billing"},
                   {"settings", expected_settings},
                   {"checkpoint", 0},
                   {"head_position", 0},
                   {"in_flight", 0},
                   {"retrying", 0},
                   {"parked", 0},
                   {"members", json::array()},
                   {"created_at", created_at},
                   {"created", true}};
  EXPECT_EQ(BodyOf(created), expected);

  HttpResponse again = Call("PUT", "/groups/billing", settings);
  EXPECT_EQ(again.status, 200);
  EXPECT_EQ(BodyOf(again)["created"], false);
  HttpResponse other = Call("PUT", "/groups/billing", R"({"max_attempts":4})");
  EXPECT_EQ(other.status, 409);
  EXPECT_EQ(ErrorCode(other), "already_exists");

  HttpResponse got = Call("GET", "/groups/billing");
  ASSERT_EQ(got.status, 200);
  expected.erase("created");
  EXPECT_EQ(BodyOf(got), expected);
  HttpResponse list = Call("GET", "/groups");
  ASSERT_EQ(list.status, 200);
  EXPECT_EQ(BodyOf(list), (json{{"groups", {expected}}}));

  HttpResponse deleted = Call("DELETE", "/groups/billing");
  ASSERT_EQ(deleted.status, 200);
  EXPECT_EQ(BodyOf(deleted), (json{{"name", "billing"}, {"deleted", true}}));
  EXPECT_EQ(Call("GET", "/groups/billing").status, 404);
  EXPECT_EQ(ErrorCode(Call("DELETE", "/groups/billing")), "not_found");
}

TEST_F(GroupRoutesTest, CreateRefusesBadBodies) {
  HttpResponse unknown = Call("PUT", "/groups/g", R"({"max_attempts":3,"colour":"red"})");
  EXPECT_EQ(unknown.status, 400);
  EXPECT_EQ(ErrorCode(unknown), "invalid_argument");
  EXPECT_NE(BodyOf(unknown)["error"]["message"].get<std::string>().find("'colour'"),
            std::string::npos);
  HttpResponse wrong_type = Call("PUT", "/groups/g", R"({"max_attempts":"3"})");
  EXPECT_EQ(wrong_type.status, 400);
  EXPECT_NE(BodyOf(wrong_type)["error"]["message"].get<std::string>().find("'max_attempts'"),
            std::string::npos);
  HttpResponse not_json = Call("PUT", "/groups/g", "{nope");
  EXPECT_EQ(not_json.status, 400);
  EXPECT_EQ(ErrorCode(not_json), "invalid_json");
  HttpResponse bad_name = Call("PUT", "/groups/Bad!", "{}");
  EXPECT_EQ(bad_name.status, 400);
  EXPECT_EQ(ErrorCode(bad_name), "invalid_argument");
  HttpResponse backoff =
      Call("PUT", "/groups/g", R"({"retry_backoff_ms":10,"max_retry_backoff_ms":5})");
  EXPECT_EQ(backoff.status, 400);
  // Durations past 24 h and attempts past 1000 are refused, naming the field and the bound.
  for (const std::string field :
       {"ack_timeout_ms", "member_lease_ms", "retry_backoff_ms", "max_retry_backoff_ms"}) {
    HttpResponse huge = Call("PUT", "/groups/g", "{\"" + field + "\":9223372036854775}");
    EXPECT_EQ(huge.status, 400) << field;
    EXPECT_EQ(ErrorCode(huge), "invalid_argument");
    const std::string message = BodyOf(huge)["error"]["message"].get<std::string>();
    EXPECT_NE(message.find("'" + field + "'"), std::string::npos) << message;
    EXPECT_NE(message.find("86400000"), std::string::npos) << message;
  }
  HttpResponse attempts = Call("PUT", "/groups/g", R"({"max_attempts":1001})");
  EXPECT_EQ(attempts.status, 400);
  EXPECT_NE(BodyOf(attempts)["error"]["message"].get<std::string>().find("1000"),
            std::string::npos);
  // Nothing was created by the refused requests.
  EXPECT_EQ(BodyOf(Call("GET", "/groups")), (json{{"groups", json::array()}}));
}

TEST_F(GroupRoutesTest, PollAckNackAndParked) {
  ASSERT_EQ(Call("PUT", "/groups/g", R"({"categories":["order"]})").status, 201);
  const Position p1 = Append("order-1");
  Append("audit-1");
  const Position p3 = Append("order-2");

  HttpResponse polled = Call("POST", "/groups/g/poll", R"({"member":"w1","max":10})");
  ASSERT_EQ(polled.status, 200) << polled.body;
  const json messages = BodyOf(polled)["messages"];
  ASSERT_EQ(messages.size(), 2u);
  EXPECT_EQ(messages[0]["position"], p1);
  EXPECT_EQ(messages[0]["attempt"], 1);
  EXPECT_EQ(messages[0]["event"]["stream"], "order-1");
  EXPECT_EQ(messages[0]["event"]["position"], p1);
  EXPECT_EQ(messages[0]["event"]["type"], "Placed");
  EXPECT_EQ(messages[0]["event"]["data"], (json{{"n", 1}}));
  EXPECT_EQ(messages[1]["position"], p3);

  HttpResponse acked =
      Call("POST", "/groups/g/ack", json{{"member", "w1"}, {"positions", {p1, 99}}}.dump());
  ASSERT_EQ(acked.status, 200);
  EXPECT_EQ(BodyOf(acked), (json{{"acked", 1}}));
  HttpResponse nacked = Call(
      "POST", "/groups/g/nack",
      json{{"member", "w1"}, {"positions", {p3}}, {"reason", "no stock"}, {"park", true}}.dump());
  ASSERT_EQ(nacked.status, 200);
  EXPECT_EQ(BodyOf(nacked), (json{{"nacked", 1}}));

  HttpResponse parked = Call("GET", "/groups/g/parked", "", {{"from_position", "0"}});
  ASSERT_EQ(parked.status, 200);
  EXPECT_EQ(BodyOf(parked), (json{{"parked",
                                   {{{"position", p3},
                                     {"stream", "order-2"},
                                     {"type", "Placed"},
                                     {"attempts", 1},
                                     {"last_error", "no stock"},
                                     {"parked_at", FormatTimestamp(clock_.NowMicros())}}}}}));
  json info = BodyOf(Call("GET", "/groups/g"));
  EXPECT_EQ(info["checkpoint"], p3);
  EXPECT_EQ(info["parked"], 1);
  ASSERT_EQ(info["members"].size(), 1u);
  EXPECT_EQ(info["members"][0], (json{{"name", "w1"},
                                      {"last_seen", FormatTimestamp(clock_.NowMicros())},
                                      {"in_flight", 0},
                                      {"streams", json::array()}}));

  HttpResponse none = Call("POST", "/groups/g/parked/replay", R"({"positions":[]})");
  EXPECT_EQ(BodyOf(none), (json{{"replayed", 0}}));
  HttpResponse replayed = Call("POST", "/groups/g/parked/replay", "");
  ASSERT_EQ(replayed.status, 200);
  EXPECT_EQ(BodyOf(replayed), (json{{"replayed", 1}}));
  json again = BodyOf(Call("POST", "/groups/g/poll", R"({"member":"w2"})"));
  ASSERT_EQ(again["messages"].size(), 1u);
  EXPECT_EQ(again["messages"][0]["position"], p3);
  EXPECT_EQ(again["messages"][0]["attempt"], 1);
}

TEST_F(GroupRoutesTest, PollAckNackRefuseBadBodies) {
  ASSERT_EQ(Call("PUT", "/groups/g", "").status, 201);
  HttpResponse no_member = Call("POST", "/groups/g/poll", "{}");
  EXPECT_EQ(no_member.status, 400);
  EXPECT_NE(BodyOf(no_member)["error"]["message"].get<std::string>().find("'member'"),
            std::string::npos);
  EXPECT_EQ(Call("POST", "/groups/g/poll", R"({"member":"w","max":0})").status, 400);
  EXPECT_EQ(Call("POST", "/groups/g/poll", R"({"member":"w","wait":5})").status, 400);
  EXPECT_EQ(ErrorCode(Call("POST", "/groups/g/poll", "")), "invalid_json");
  EXPECT_EQ(Call("POST", "/groups/g/ack", R"({"member":"w"})").status, 400);
  EXPECT_EQ(Call("POST", "/groups/g/ack", R"({"member":"w","positions":["1"]})").status, 400);
  EXPECT_EQ(Call("POST", "/groups/g/nack", R"({"member":"w","positions":[1],"park":1})").status,
            400);
  EXPECT_EQ(Call("POST", "/groups/nope/poll", R"({"member":"w"})").status, 404);
  EXPECT_EQ(Call("GET", "/groups/g/parked", "", {{"limit", "0"}}).status, 400);
}

TEST_F(GroupRoutesTest, PollWaitIsCappedByTheServerLimit) {
  context_.limits.max_wait_ms = 0;  // a capped wait returns at once even though 60 s were asked
  ASSERT_EQ(Call("PUT", "/groups/g", "").status, 201);
  HttpResponse polled = Call("POST", "/groups/g/poll", R"({"member":"w","wait_ms":60000})");
  ASSERT_EQ(polled.status, 200);
  EXPECT_EQ(BodyOf(polled), (json{{"messages", json::array()}}));
}

TEST_F(GroupRoutesTest, WithoutGroupsEveryRouteIsUnavailable) {
  context_.groups = nullptr;
  HttpResponse response = Call("GET", "/groups");
  EXPECT_EQ(response.status, 503);
  EXPECT_EQ(ErrorCode(response), "unavailable");
}

}  // namespace
}  // namespace triad::server
