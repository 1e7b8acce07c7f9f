// docs/openapi.json describes exactly the routes the server serves: the same (method, path)
// pairs, each with the least role the server requires (x-triad-role), and operation ids that
// are the routes' names.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <utility>

#include "server/router.h"
#include "support/test_server.h"

namespace triad::server {
namespace {

nlohmann::json LoadOpenApi() {
  std::ifstream in(std::string(TRIAD_SOURCE_DIR) + "/docs/openapi.json");
  std::stringstream text;
  text << in.rdbuf();
  return nlohmann::json::parse(text.str(), nullptr, /*allow_exceptions=*/false);
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
