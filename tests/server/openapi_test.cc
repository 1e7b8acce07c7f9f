// docs/openapi.json describes exactly the routes the server serves: the same (method, path)
// pairs, each with the least role the server requires (x-triad-role), and operation ids that
// are the routes' names. docs/http-api.md names the same routes.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <utility>

#include "server/router.h"
#include "support/test_server.h"

namespace triad::server {
namespace {

std::string ReadDoc(const std::string& name) {
  std::ifstream in(std::string(TRIAD_SOURCE_DIR) + "/docs/" + name);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

nlohmann::json LoadOpenApi() {
  return nlohmann::json::parse(ReadDoc("openapi.json"), nullptr, /*allow_exceptions=*/false);
}

// The (METHOD, /path) pairs docs/http-api.md names in code spans, with the shorthand
// "`POST /groups/{group}/poll` · `/ack`" read as POST /groups/{group}/ack. Planned routes
// (a line starting "planned") are skipped.
std::set<std::pair<std::string, std::string>> RoutesNamedIn(const std::string& markdown) {
  std::set<std::pair<std::string, std::string>> named;
  const std::regex span("`(?:(GET|POST|PUT|DELETE) )?(/[A-Za-z0-9_{}/]*)[^`]*`");
  std::istringstream lines(markdown);
  for (std::string line; std::getline(lines, line);) {
    if (line.find("planned") != std::string::npos) continue;
    std::string method;
    std::string last_path;
    for (std::sregex_iterator it(line.begin(), line.end(), span), end; it != end; ++it) {
      std::string path = (*it)[2];
      if ((*it)[1].matched) {
        method = (*it)[1];
      } else if (method.empty() || last_path.empty() || path.find('/', 1) != std::string::npos) {
        continue;  // a path without a method that is not a sibling shorthand
      } else {
        path = last_path.substr(0, last_path.rfind('/')) + path;  // `/ack` beside .../poll
      }
      named.insert({method, path});
      last_path = path;
    }
  }
  return named;
}

std::string Lower(std::string text) {
  for (char& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return text;
}

struct Described {
  std::string role;
  std::string operation_id;
};

TEST(OpenApiTest, DocumentsExactlyTheRoutesServedWithTheirRoles) {
  const nlohmann::json doc = LoadOpenApi();
  ASSERT_TRUE(doc.is_object()) << "docs/openapi.json is not valid JSON";
  ASSERT_EQ(doc.value("openapi", ""), "3.0.3");

  std::map<std::pair<std::string, std::string>, Described> documented;
  for (const auto& [path, item] : doc["paths"].items()) {
    for (const auto& [method, operation] : item.items()) {
      if (method == "parameters") continue;
      documented[{Lower(method), path}] = {operation.value("x-triad-role", "?"),
                                           operation.value("operationId", "?")};
    }
  }

  testing::TestServer server;
  ASSERT_TRUE(server.server_started());
  std::map<std::pair<std::string, std::string>, Described> served;
  for (const RouteInfo& route : server.server().router().Routes()) {
    served[{Lower(route.method), route.pattern}] = {std::string(RoleName(route.min_role)),
                                                    route.name};
  }

  for (const auto& [key, described] : served) {
    auto it = documented.find(key);
    if (it == documented.end()) {
      ADD_FAILURE() << key.first << " " << key.second << " is served but not in docs/openapi.json";
      continue;
    }
    EXPECT_EQ(it->second.role, described.role) << key.first << " " << key.second;
    EXPECT_EQ(it->second.operation_id, described.operation_id) << key.first << " " << key.second;
  }
  for (const auto& [key, described] : documented) {
    EXPECT_TRUE(served.contains(key))
        << key.first << " " << key.second << " is in docs/openapi.json but not served";
  }
  EXPECT_GE(served.size(), 25u);
}

TEST(OpenApiTest, HttpApiMarkdownNamesExactlyTheRoutesServed) {
  const auto named = RoutesNamedIn(ReadDoc("http-api.md"));
  ASSERT_FALSE(named.empty()) << "docs/http-api.md not found or names no route";
  testing::TestServer server;
  ASSERT_TRUE(server.server_started());
  std::set<std::pair<std::string, std::string>> served;
  for (const RouteInfo& route : server.server().router().Routes()) {
    served.insert({route.method, route.pattern});
  }
  for (const auto& route : served) {
    EXPECT_TRUE(named.contains(route))
        << route.first << " " << route.second << " is served but not in docs/http-api.md";
  }
  for (const auto& route : named) {
    EXPECT_TRUE(served.contains(route))
        << route.first << " " << route.second << " is in docs/http-api.md but not served";
  }
}

TEST(OpenApiTest, EveryOperationDocumentsItsErrors) {
  const nlohmann::json doc = LoadOpenApi();
  ASSERT_TRUE(doc.is_object());
  for (const auto& [path, item] : doc["paths"].items()) {
    for (const auto& [method, operation] : item.items()) {
      if (method == "parameters") continue;
      EXPECT_TRUE(operation["responses"].contains("default")) << method << " " << path;
      // Every {param} of the path is declared as a path parameter.
      std::set<std::string> declared;
      for (const auto& source : {item.value("parameters", nlohmann::json::array()),
                                 operation.value("parameters", nlohmann::json::array())}) {
        for (const auto& p : source) {
          if (p.value("in", "") == "path") declared.insert(p.value("name", ""));
        }
      }
      for (size_t open = path.find('{'); open != std::string::npos;
           open = path.find('{', open + 1)) {
        const std::string name = path.substr(open + 1, path.find('}', open) - open - 1);
        EXPECT_TRUE(declared.contains(name)) << method << " " << path << " lacks {" << name << "}";
      }
    }
  }
}

}  // namespace
}  // namespace triad::server
