// Router: pattern matching, literal-over-parameter precedence, 404 vs 405, the route listing.
#include "server/router.h"

#include <gtest/gtest.h>

#include <string>

namespace triad::server {
namespace {

Handler Named(std::string body) {
  return [body = std::move(body)](HttpRequest&) { return HttpResponse{.body = body}; };
}

std::string RunHandlerOf(const RouteMatch& match) {
  HttpRequest request;
  return (*match.handler)(request).body;
}

class RouterTest : public ::testing::Test {
 protected:
  RouterTest() {
    router_.Add("POST", "/streams/{stream}", Role::kWrite, "append", Named("append"));
    router_.Add("GET", "/streams/{stream}", Role::kRead, "read_stream", Named("read"));
    router_.Add("GET", "/streams", Role::kRead, "list_streams", Named("list"));
    router_.Add("POST", "/groups/{group}/{action}", Role::kWrite, "group_action", Named("action"));
    router_.Add("GET", "/groups/{group}/parked", Role::kRead, "parked", Named("parked"));
    router_.Add("GET", "/health", Role::kNone, "health", Named("health"));
    router_.AddStreaming("GET", "/subscribe", Role::kRead, "subscribe");
  }
  Router router_;
};

TEST_F(RouterTest, MatchesParametersAndFillsThem) {
  bool known = false;
  auto match = router_.Match("POST", "/streams/account-1", &known);
  ASSERT_TRUE(match.has_value());
  EXPECT_TRUE(known);
  EXPECT_EQ(match->route->name, "append");
  EXPECT_EQ(match->route->min_role, Role::kWrite);
  ASSERT_EQ(match->path_params.size(), 1U);
  EXPECT_EQ(match->path_params[0].first, "stream");
  EXPECT_EQ(match->path_params[0].second, "account-1");
  EXPECT_EQ(RunHandlerOf(*match), "append");
}

TEST_F(RouterTest, LiteralSegmentsWinOverParameters) {
  auto parked = router_.Match("GET", "/groups/g1/parked", nullptr);
  ASSERT_TRUE(parked.has_value());
  EXPECT_EQ(parked->route->name, "parked");
  auto action = router_.Match("POST", "/groups/g1/ack", nullptr);
  ASSERT_TRUE(action.has_value());
  EXPECT_EQ(action->route->name, "group_action");
  ASSERT_EQ(action->path_params.size(), 2U);
  EXPECT_EQ(action->path_params[1].second, "ack");
}

TEST_F(RouterTest, DistinguishesUnknownPathFromWrongMethod) {
  bool known = true;
  EXPECT_FALSE(router_.Match("GET", "/nothing", &known).has_value());
  EXPECT_FALSE(known);
  EXPECT_FALSE(router_.Match("DELETE", "/streams/a", &known).has_value());
  EXPECT_TRUE(known);
}

TEST_F(RouterTest, EmptySegmentsDoNotMatchParameters) {
  bool known = true;
  EXPECT_FALSE(router_.Match("GET", "/streams/", &known).has_value());
  EXPECT_FALSE(known);
  EXPECT_FALSE(router_.Match("GET", "/streams/a/b", &known).has_value());
  EXPECT_FALSE(known);
  EXPECT_TRUE(router_.Match("GET", "/streams", &known).has_value());
}

TEST_F(RouterTest, RoutesListsEveryRouteInOrderWithStreamingFlag) {
  auto routes = router_.Routes();
  ASSERT_EQ(routes.size(), 7U);
  EXPECT_EQ(routes[0].pattern, "/streams/{stream}");
  EXPECT_EQ(routes[0].method, "POST");
  EXPECT_FALSE(routes[0].streaming);
  EXPECT_EQ(routes[6].name, "subscribe");
  EXPECT_TRUE(routes[6].streaming);
  auto subscribe = router_.Match("GET", "/subscribe", nullptr);
  ASSERT_TRUE(subscribe.has_value());
  EXPECT_FALSE(static_cast<bool>(*subscribe->handler));
}

}  // namespace
}  // namespace triad::server
