// Bad bodies on every POST/PUT route of the running server (Router::Routes()): invalid JSON,
// wrong types, invalid UTF-8, unknown fields, an oversized body. Each answers 4xx with a JSON
// error body, and nothing is stored (the head position does not move), per promise 7.
#include "testing/test_util.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <regex>
#include <string>
#include <vector>

#include "server/http_client.h"
#include "support/test_server.h"

namespace triad::server {
namespace {

using testing::JsonOf;
using testing::TestServer;

constexpr size_t kMaxBody = 64 * 1024;

struct BadBody {
  std::string name;
  std::string body;
};

std::vector<BadBody> BadBodies() {
  return {
      {"truncated JSON", R"({"events":[{"type":"A")"},
      {"not JSON", "hello"},
      {"an array", R"([{"type":"A"}])"},
      {"wrong types",
       R"({"events":5,"expected_version":true,"source":7,"member":[],"positions":"x"})"},
      {"invalid UTF-8",
       std::string(R"({"events":[{"type":"A","data":{"s":")") + "\xff\xfe" + R"("}}]})"},
      {"unknown field", R"({"zzz_unknown_field":1,"events":[{"type":"A"}]})"},
      {"oversized",
       R"({"events":[{"type":"A","data":{"pad":")" + std::string(kMaxBody, 'x') + R"("}}]})"},
  };
}

TEST(MalformedInputTest, EveryWriteRouteRefusesBadBodiesAndStoresNothing) {
  TestServer server([](ServerConfig& config) { config.limits.max_body_bytes = kMaxBody; });
  ASSERT_TRUE(server.server_started());
  // One real event, so that a route that would write has something to write after.
  ASSERT_EQ(server.Call("POST", "/streams/x-1", R"({"events":[{"type":"Seed"}]})").status, 201);
  const int64_t head = server.Head();
  int checked = 0;
  for (const RouteInfo& route : server.server().router().Routes()) {
    if (route.method != "POST" && route.method != "PUT") continue;
    const std::string target = std::regex_replace(route.pattern, std::regex(R"(\{[^}]+\})"), "x-1");
    for (const BadBody& bad : BadBodies()) {
      SCOPED_TRACE(route.method + " " + target + " with " + bad.name);
      auto client = server.NewClient();
      auto response = client->Send(route.method, target, bad.body);
      ASSERT_OK(response);
      EXPECT_GE(response->status, 400) << response->body;
      EXPECT_LT(response->status, 500) << response->body;
      auto error = JsonOf(*response)["error"];
      EXPECT_TRUE(error.is_object()) << response->body;
      EXPECT_TRUE(error["code"].is_string()) << response->body;
      EXPECT_FALSE(error["message"].get<std::string>().empty());
      if (bad.name == "oversized") {
        EXPECT_EQ(response->status, 413);
        EXPECT_EQ(error["code"], "body_too_large");
      }
      EXPECT_EQ(server.Head(), head);
      ++checked;
    }
  }
  EXPECT_GE(checked, 7);
}

TEST(MalformedInputTest, AppendErrorsNameWhatWasWrong) {
  TestServer server([](ServerConfig& config) { config.limits.max_events_per_append = 2; });
  ASSERT_TRUE(server.server_started());
  struct Case {
    std::string body;
    std::string code;
    std::string mentions;
  };
  const std::vector<Case> cases = {
      {"{", "invalid_json", "not valid JSON"},
      {"[]", "invalid_json", "not a JSON object"},
      {std::string(R"({"events":[{"type":"A","data":{"s":")") + "\xc3\x28" + R"("}}]})",
       "invalid_json", "UTF-8"},
      {R"({"events":[{"type":"A","colour":1}]})", "invalid_argument", "colour"},
      {R"({"evnts":[]})", "invalid_argument", "evnts"},
      {R"({"events":[{"type":"A","data":[1]}]})", "invalid_argument", "events[0].data"},
      {R"({"events":[{"type":"A","metadata":"m"}]})", "invalid_argument", "events[0].metadata"},
      {R"({"events":[{"data":{}}]})", "invalid_argument", "events[0].type"},
      {R"({"events":[]})", "invalid_argument", "empty"},
      {R"({"expected_version":"sometimes","events":[{"type":"A"}]})", "invalid_argument",
       "expected_version"},
      {R"({"events":[{"type":"A"},{"type":"B"},{"type":"C"}]})", "too_many_events", "2"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.body);
    auto response = server.Call("POST", "/streams/acc-1", c.body);
    EXPECT_EQ(response.status, 400) << response.body;
    auto error = JsonOf(response)["error"];
    EXPECT_EQ(error["code"], c.code) << response.body;
    EXPECT_NE(error["message"].get<std::string>().find(c.mentions), std::string::npos)
        << response.body;
  }
  EXPECT_EQ(server.Head(), 0);
}

TEST(MalformedInputTest, RepeatedKeysAreRefusedOnEveryRouteNamingTheKey) {
  TestServer server;
  ASSERT_TRUE(server.server_started());
  struct Case {
    std::string method;
    std::string target;
    std::string body;
    std::string mentions;
  };
  // Each body would be accepted but for the repeated key.
  const std::vector<Case> cases = {
      {"POST", "/streams/dup-1", R"({"events":[{"type":"A"}],"events":[{"type":"B"}]})",
       "key 'events' appears twice at the top level"},
      {"POST", "/streams/dup-1",
       R"({"expected_version":"no_stream","expected_version":"any","events":[{"type":"A"}]})",
       "key 'expected_version' appears twice"},
      {"POST", "/streams/dup-1", R"({"events":[{"type":"A","type":"B"}]})",
       "key 'type' appears twice in 'events[0]'"},
      {"POST", "/streams/dup-1", R"({"events":[{"type":"A","data":{"n":{"x":1,"x":2}}}]})",
       "key 'x' appears twice in 'events[0].data.n'"},
      {"POST", "/streams/dup-1", R"({"events":[{"type":"A","metadata":{"m":1,"m":2}}]})",
       "key 'm' appears twice in 'events[0].metadata'"},
      {"PUT", "/groups/dup-group", R"({"ack_timeout_ms":1000,"ack_timeout_ms":2000})",
       "key 'ack_timeout_ms' appears twice"},
      {"PUT", "/projections/dup_projection",
       R"({"source":"function on_event() end","source":"function on_event() end"})",
       "key 'source' appears twice"},
      {"POST", "/projections/dup_projection/replay", R"({"position":1,"position":2})",
       "key 'position' appears twice"},
      {"POST", "/collections/dup/batch", R"({"projection":"p","projection":"q"})",
       "key 'projection' appears twice"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.method + " " + c.target + " " + c.body);
    auto response = server.Call(c.method, c.target, c.body);
    EXPECT_EQ(response.status, 400) << response.body;
    auto error = JsonOf(response)["error"];
    EXPECT_EQ(error["code"], "invalid_argument") << response.body;
    EXPECT_NE(error["message"].get<std::string>().find(c.mentions), std::string::npos)
        << response.body;
  }
  EXPECT_EQ(server.Head(), 0);
  EXPECT_EQ(server.Call("GET", "/groups/dup-group").status, 404);
  EXPECT_EQ(server.Call("GET", "/projections/dup_projection").status, 404);
}

TEST(MalformedInputTest, OversizedHeadersAre431) {
  TestServer server([](ServerConfig& config) { config.limits.max_header_bytes = 2048; });
  ASSERT_TRUE(server.server_started());
  auto response = server.client().Send("GET", "/health", "", {{"x-big", std::string(4096, 'h')}});
  ASSERT_OK(response);
  EXPECT_EQ(response->status, 431);
  EXPECT_EQ(JsonOf(*response)["error"]["code"], "headers_too_large");
  // The connection was closed after the refusal; the client reconnects for the next request.
  EXPECT_EQ(server.Call("GET", "/health").status, 200);
}

}  // namespace
}  // namespace triad::server
