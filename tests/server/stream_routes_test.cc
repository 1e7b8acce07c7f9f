// The stream, event, health and metrics routes over HTTP against an in-process server: exact
// bodies and statuses of docs/http-api.md, plus the transport's 404/405/400 answers.
#include "testing/test_util.h"

#include "triad/event.h"

#include <gtest/gtest.h>

#include <regex>
#include <string>

#include "support/test_server.h"

namespace triad::server {
namespace {

using testing::JsonOf;
using testing::TestServer;

class StreamRoutesTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(server_.server_started()); }
  TestServer server_;
};

TEST_F(StreamRoutesTest, AppendAnswers201WithPositionsAndStoresDataByteForByte) {
  auto response =
      server_.Call("POST", "/streams/account-1",
                   R"({"expected_version":"no_stream","events":[)"
                   R"({"id":"0193a1b2-0000-7000-8000-000000000001","type":"Opened",)"
                   R"("data":{"owner" : "ada",  "n":1.50},"metadata":{"correlation_id":"c-1"}},)"
                   R"({"type":"Deposited","data":{"amount":100}}]})");
  EXPECT_EQ(response.status, 201) << response.body;
  EXPECT_EQ(response.content_type, "application/json");
  EXPECT_EQ(response.body,
            R"({"stream":"account-1","first_version":0,"last_version":1,"first_position":1,)"
            R"("last_position":2,"already_stored":false})");
  EXPECT_TRUE(response.Header("x-request-id").has_value());
  auto events = server_.server().store()->ReadStream("account-1", {});
  ASSERT_OK(events);
  ASSERT_EQ(events->size(), 2U);
  EXPECT_EQ((*events)[0].data, R"({"owner" : "ada",  "n":1.50})");
  EXPECT_EQ((*events)[0].correlation_id, "c-1");
  EXPECT_EQ((*events)[1].metadata, "{}");
}

// `levels` nested objects: {"a":{"a":{}}} is 3 levels.
std::string Nested(int levels) {
  std::string text;
  for (int i = 1; i < levels; ++i) text += R"({"a":)";
  text += "{}";
  text.append(static_cast<size_t>(levels - 1), '}');
  return text;
}

TEST_F(StreamRoutesTest, DataNestedDeeperThanTheLimitIs400NamingTheLimit) {
  for (int levels : {kMaxJsonDepth + 1, 1000}) {
    auto deep = server_.Call("POST", "/streams/deep-1",
                             R"({"events":[{"type":"Deep","data":)" + Nested(levels) + "}]}");
    EXPECT_EQ(deep.status, 400) << deep.body;
    EXPECT_EQ(JsonOf(deep)["error"]["code"], "invalid_argument");
    EXPECT_EQ(JsonOf(deep)["error"]["message"],
              "event 0: data nests objects and arrays deeper than 128 levels; the limit is 128")
        << levels;
  }
  EXPECT_EQ(server_.Head(), 0);
  auto at_limit = server_.Call("POST", "/streams/deep-1",
                               R"({"events":[{"type":"Deep","data":)" + Nested(kMaxJsonDepth) +
                                   R"(,"metadata":)" + Nested(kMaxJsonDepth) + "}]}");
  EXPECT_EQ(at_limit.status, 201) << at_limit.body;
  EXPECT_EQ(server_.Head(), 1);
}

TEST_F(StreamRoutesTest, IdempotentRetryAnswers200AlreadyStored) {
  const std::string body =
      R"({"expected_version":"no_stream","events":[{"id":"0193a1b2-0000-7000-8000-0000000000aa","type":"A"}]})";
  EXPECT_EQ(server_.Call("POST", "/streams/s-1", body).status, 201);
  auto retry = server_.Call("POST", "/streams/s-1", body);
  EXPECT_EQ(retry.status, 200) << retry.body;
  EXPECT_EQ(JsonOf(retry)["already_stored"], true);
  EXPECT_EQ(JsonOf(retry)["last_position"], 1);
  EXPECT_EQ(server_.Head(), 1);
}

TEST_F(StreamRoutesTest, WrongExpectedVersionIs409WithCurrentVersion) {
  EXPECT_EQ(
      server_.Call("POST", "/streams/s-1", R"({"events":[{"type":"A"},{"type":"B"}]})").status,
      201);
  auto conflict =
      server_.Call("POST", "/streams/s-1", R"({"expected_version":0,"events":[{"type":"C"}]})");
  EXPECT_EQ(conflict.status, 409);
  auto error = JsonOf(conflict)["error"];
  EXPECT_EQ(error["code"], "wrong_expected_version");
  EXPECT_EQ(error["current_version"], 1);
  EXPECT_EQ(server_.Head(), 2);
}

TEST_F(StreamRoutesTest, ReadStreamForwardBackwardAndNotFound) {
  ASSERT_EQ(server_
                .Call("POST", "/streams/acc-1",
                      R"({"events":[{"type":"A","data":{"i":0}},{"type":"B","data":{"i":1}},)"
                      R"({"type":"C","data":{"i":2}}]})")
                .status,
            201);
  auto forward = JsonOf(server_.Call("GET", "/streams/acc-1?from_version=1&limit=1"));
  EXPECT_EQ(forward["stream"], "acc-1");
  EXPECT_EQ(forward["version"], 2);
  ASSERT_EQ(forward["events"].size(), 1U);
  EXPECT_EQ(forward["events"][0]["type"], "B");
  EXPECT_EQ(forward["events"][0]["data"], nlohmann::json({{"i", 1}}));
  EXPECT_EQ(forward["events"][0]["position"], 2);
  EXPECT_EQ(forward["events"][0]["stream"], "acc-1");

  auto backward = JsonOf(server_.Call("GET", "/streams/acc-1?direction=backward"));
  ASSERT_EQ(backward["events"].size(), 3U);
  EXPECT_EQ(backward["events"][0]["version"], 2);
  EXPECT_EQ(backward["events"][2]["version"], 0);

  auto missing = server_.Call("GET", "/streams/nope-1");
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(JsonOf(missing)["error"]["code"], "not_found");
  auto bad = server_.Call("GET", "/streams/acc-1?direction=sideways");
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(JsonOf(bad)["error"]["code"], "invalid_argument");
  EXPECT_EQ(server_.Call("GET", "/streams/acc-1?limit=0").status, 400);
  EXPECT_EQ(server_.Call("GET", "/streams/acc-1?limit=10001").status, 400);
}

TEST_F(StreamRoutesTest, ListStreamsPagesWithNextAfter) {
  for (const char* stream : {"a-1", "a-2", "b-1"}) {
    ASSERT_EQ(
        server_.Call("POST", std::string("/streams/") + stream, R"({"events":[{"type":"T"}]})")
            .status,
        201);
  }
  auto page = JsonOf(server_.Call("GET", "/streams?limit=2"));
  ASSERT_EQ(page["streams"].size(), 2U);
  EXPECT_EQ(page["streams"][0]["name"], "a-1");
  EXPECT_EQ(page["streams"][0]["category"], "a");
  EXPECT_EQ(page["streams"][0]["version"], 0);
  EXPECT_EQ(page["streams"][0]["first_position"], 1);
  EXPECT_EQ(page["streams"][0]["last_position"], 1);
  EXPECT_EQ(page["streams"][0]["event_count"], 1);
  EXPECT_TRUE(page["streams"][0]["last_recorded_at"].is_string());
  EXPECT_EQ(page["next_after"], "a-2");
  auto rest = JsonOf(server_.Call("GET", "/streams?limit=2&after=a-2"));
  ASSERT_EQ(rest["streams"].size(), 1U);
  EXPECT_EQ(rest["streams"][0]["name"], "b-1");
  EXPECT_TRUE(rest["next_after"].is_null());
  auto category = JsonOf(server_.Call("GET", "/streams?category=b"));
  ASSERT_EQ(category["streams"].size(), 1U);
  auto prefix = JsonOf(server_.Call("GET", "/streams?prefix=a-"));
  EXPECT_EQ(prefix["streams"].size(), 2U);
}

TEST_F(StreamRoutesTest, ReadEventsFiltersAndReportsNextAndHead) {
  ASSERT_EQ(
      server_.Call("POST", "/streams/acc-1", R"({"events":[{"type":"A"},{"type":"B"}]})").status,
      201);
  ASSERT_EQ(
      server_.Call("POST", "/streams/user-1", R"({"events":[{"type":"A"},{"type":"C"}]})").status,
      201);
  auto all = JsonOf(server_.Call("GET", "/events?limit=3"));
  ASSERT_EQ(all["events"].size(), 3U);
  EXPECT_EQ(all["next_position"], 4);
  EXPECT_EQ(all["head_position"], 4);
  auto rest = JsonOf(server_.Call("GET", "/events?from_position=4"));
  ASSERT_EQ(rest["events"].size(), 1U);
  EXPECT_EQ(rest["events"][0]["type"], "C");
  EXPECT_EQ(rest["next_position"], 5);
  auto filtered = JsonOf(server_.Call("GET", "/events?type=A&category=user"));
  ASSERT_EQ(filtered["events"].size(), 1U);
  EXPECT_EQ(filtered["events"][0]["stream"], "user-1");
  EXPECT_EQ(filtered["next_position"], 5);
  auto either = JsonOf(server_.Call("GET", "/events?type=B&type=C"));
  EXPECT_EQ(either["events"].size(), 2U);
  auto empty = JsonOf(server_.Call("GET", "/events?from_position=99"));
  EXPECT_EQ(empty["events"].size(), 0U);
  EXPECT_EQ(empty["next_position"], 99);
  EXPECT_EQ(server_.Call("GET", "/events?from_position=-1").status, 400);
}

TEST_F(StreamRoutesTest, HealthAndMetrics) {
  ASSERT_EQ(
      server_.Call("POST", "/streams/acc-1", R"({"events":[{"type":"A"},{"type":"B"}]})").status,
      201);
  auto health = server_.Call("GET", "/health");
  EXPECT_EQ(health.status, 200);
  auto body = JsonOf(health);
  EXPECT_EQ(body["status"], "ok");
  EXPECT_EQ(body["head_position"], 2);
  EXPECT_EQ(body["store"], server_.server().store()->Describe());
  auto metrics = server_.Call("GET", "/metrics");
  EXPECT_EQ(metrics.status, 200);
  EXPECT_EQ(metrics.content_type, "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_NE(metrics.body.find("\ntriad_appends_total 1\n"), std::string::npos) << metrics.body;
  EXPECT_NE(metrics.body.find("\ntriad_appended_events_total 2\n"), std::string::npos);
  EXPECT_NE(metrics.body.find("\ntriad_head_position 2\n"), std::string::npos);
  EXPECT_NE(metrics.body.find("\ntriad_sse_subscribers 0\n"), std::string::npos);
  EXPECT_NE(metrics.body.find(R"(triad_http_requests_total{route="append",status="201"} 1)"),
            std::string::npos);
  EXPECT_NE(metrics.body.find(R"(triad_http_requests_total{route="health",status="200"} 1)"),
            std::string::npos);
  EXPECT_NE(metrics.body.find(R"(triad_http_request_duration_seconds_count{route="append"} 1)"),
            std::string::npos);
}

TEST_F(StreamRoutesTest, TransportAnswers404And405AndBadEncoding) {
  auto missing = server_.Call("GET", "/nothing/here");
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(JsonOf(missing)["error"]["code"], "not_found");
  auto wrong_method = server_.Call("DELETE", "/streams/acc-1");
  EXPECT_EQ(wrong_method.status, 405);
  EXPECT_EQ(JsonOf(wrong_method)["error"]["code"], "method_not_allowed");
  EXPECT_EQ(JsonOf(wrong_method)["error"]["allowed"], nlohmann::json({"GET", "POST"}));
  EXPECT_EQ(wrong_method.Header("allow").value_or(""), "GET, POST");
  auto bad_encoding = server_.Call("GET", "/streams/acc%zz");
  EXPECT_EQ(bad_encoding.status, 400);
  EXPECT_EQ(JsonOf(bad_encoding)["error"]["code"], "invalid_argument");
  // Percent-encoded names route to the decoded stream.
  ASSERT_EQ(server_.Call("POST", "/streams/acc%2D9", R"({"events":[{"type":"A"}]})").status, 201);
  EXPECT_EQ(JsonOf(server_.Call("GET", "/streams/acc-9"))["stream"], "acc-9");
}

TEST_F(StreamRoutesTest, KeepAliveCarriesManyRequestsOnOneConnection) {
  for (int i = 0; i < 20; ++i) {
    auto response = server_.Call("GET", "/health");
    ASSERT_EQ(response.status, 200);
    EXPECT_NE(response.Header("connection").value_or(""), "close");
  }
}

}  // namespace
}  // namespace triad::server
