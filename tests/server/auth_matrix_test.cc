// Every route the running server serves (Router::Routes(), so routes added later are covered
// too) × {no token, read, write, admin} with tokens configured: a caller below the route's role
// gets 401 (no valid token) or 403 (with required_role); a caller at or above it never does.
#include "testing/test_util.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <regex>
#include <string>
#include <vector>

#include "server/auth.h"
#include "server/http_client.h"
#include "support/test_server.h"

namespace triad::server {
namespace {

using testing::JsonOf;
using testing::TestServer;

struct Caller {
  std::string token;
  Role role;
};

// "/groups/{group}/parked" → "/groups/x-1/parked".
std::string Concrete(const std::string& pattern) {
  return std::regex_replace(pattern, std::regex(R"(\{[^}]+\})"), "x-1");
}

TEST(AuthMatrixTest, EveryRouteEnforcesItsRole) {
  TestServer server([](ServerConfig& config) {
    config.tokens = {{"reader", "token-read", Role::kRead},
                     {"writer", "token-write", Role::kWrite},
                     {"operator", "token-admin", Role::kAdmin}};
  });
  ASSERT_TRUE(server.server_started());
  const std::vector<Caller> callers = {{"", Role::kNone},
                                       {"token-read", Role::kRead},
                                       {"token-write", Role::kWrite},
                                       {"token-admin", Role::kAdmin},
                                       {"wrong-token", Role::kNone}};
  const auto routes = server.server().router().Routes();
  ASSERT_GE(routes.size(), 7U);
  for (const RouteInfo& route : routes) {
    const std::string target = Concrete(route.pattern);
    for (const Caller& caller : callers) {
      SCOPED_TRACE(route.method + " " + target + " as " + std::string(RoleName(caller.role)) +
                   " (" + caller.token + ")");
      const bool allowed = caller.role >= route.min_role;
      if (route.streaming && allowed) {
        auto stream =
            SseStream::Open(server.url(), target, std::nullopt, {.bearer_token = caller.token});
        EXPECT_OK(stream);
        continue;
      }
      auto client = server.NewClient(caller.token);
      ASSERT_NE(client, nullptr);
      auto response = client->Send(route.method, target, route.method == "GET" ? "" : "{}");
      ASSERT_OK(response);
      if (allowed) {
        EXPECT_NE(response->status, 401) << response->body;
        EXPECT_NE(response->status, 403) << response->body;
        continue;
      }
      auto error = JsonOf(*response)["error"];
      if (caller.role == Role::kNone) {
        EXPECT_EQ(response->status, 401) << response->body;
        EXPECT_EQ(error["code"], "unauthorized");
      } else {
        EXPECT_EQ(response->status, 403) << response->body;
        EXPECT_EQ(error["code"], "forbidden");
        EXPECT_EQ(error["required_role"], RoleName(route.min_role));
      }
    }
  }
}

TEST(AuthMatrixTest, HealthNeedsNoTokenAndAppendNeedsWrite) {
  TestServer server([](ServerConfig& config) {
    config.tokens = {{"reader", "token-read", Role::kRead}};
  });
  ASSERT_TRUE(server.server_started());
  EXPECT_EQ(server.Call("GET", "/health").status, 200);
  auto reader = server.NewClient("token-read");
  auto append = reader->Send("POST", "/streams/a-1", R"({"events":[{"type":"A"}]})");
  ASSERT_OK(append);
  EXPECT_EQ(append->status, 403);
  EXPECT_EQ(server.Head(), 0);
}

TEST(AuthMatrixTest, OnlyTheWholeTokenMatches) {
  Authenticator auth(
      {{"reader", "token-read", Role::kRead}, {"admin", "token-admin", Role::kAdmin}});
  EXPECT_EQ(auth.RoleOf("Bearer token-read"), Role::kRead);
  EXPECT_EQ(auth.RoleOf("Bearer token-admin"), Role::kAdmin);
  for (std::string_view wrong :
       {"Bearer token-rea", "Bearer token-readx", "Bearer token-reae", "Bearer ",
        "Bearer token-admin ", "bearer token-read", "token-read"}) {
    EXPECT_EQ(auth.RoleOf(wrong), Role::kNone) << wrong;
  }
  EXPECT_EQ(auth.RoleOf(std::nullopt), Role::kNone);
  EXPECT_EQ(Authenticator({}).RoleOf(std::nullopt), Role::kAdmin);  // no tokens: loopback only
}

TEST(AuthMatrixTest, HealthNamesTheStoreOnlyToCallersWithAToken) {
  TestServer server([](ServerConfig& config) {
    config.tokens = {{"reader", "token-read", Role::kRead}};
  });
  ASSERT_TRUE(server.server_started());
  auto anonymous = server.Call("GET", "/health");
  EXPECT_EQ(anonymous.status, 200);
  auto body = JsonOf(anonymous);
  EXPECT_EQ(body["status"], "ok");
  EXPECT_EQ(body["head_position"], 0);
  EXPECT_FALSE(body.contains("store")) << anonymous.body;
  auto reader = server.NewClient("token-read");
  auto known = reader->Send("GET", "/health");
  ASSERT_OK(known);
  EXPECT_EQ(known->status, 200);
  EXPECT_EQ(JsonOf(*known)["store"], server.server().store()->Describe()) << known->body;
}

}  // namespace
}  // namespace triad::server
