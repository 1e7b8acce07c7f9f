// Calls route handlers in-process, without a socket: builds an HttpRequest, matches it with a
// Router the way the transport does, and runs the handler. For tests of route logic; the
// transport (parsing, auth, limits) has its own end-to-end tests.
#pragma once

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <string>
#include <utility>
#include <vector>

#include "server/http_types.h"
#include "server/router.h"

namespace triad::server::testing {

struct RouteCall {
  std::string method = "GET";
  std::string path;
  std::vector<std::pair<std::string, std::string>> query;
  std::string body;
  Role role = Role::kAdmin;
};

// The handler's response; 404/405 as the transport would answer when nothing matches.
inline HttpResponse Dispatch(const Router& router, const RouteCall& call) {
  bool path_known = false;
  auto match = router.Match(call.method, call.path, &path_known);
  if (!match.has_value()) {
    return ErrorResponse(path_known ? 405 : 404, path_known ? "method_not_allowed" : "not_found",
                         "no route");
  }
  HttpRequest request;
  request.method = call.method;
  request.path = call.path;
  request.query = call.query;
  request.path_params = match->path_params;
  request.body = call.body;
  request.role = call.role;
  return (*match->handler)(request);
}

// The response body as JSON; a test failure when it is not JSON.
inline nlohmann::json BodyOf(const HttpResponse& response) {
  auto json = nlohmann::json::parse(response.body, nullptr, false);
  EXPECT_FALSE(json.is_discarded()) << response.body;
  return json;
}

// The error code of an error response ("" when it is not one).
inline std::string ErrorCode(const HttpResponse& response) {
  auto json = nlohmann::json::parse(response.body, nullptr, false);
  if (!json.is_object() || !json.contains("error")) return "";
  return json["error"].value("code", "");
}

}  // namespace triad::server::testing
