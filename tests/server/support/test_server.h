// An in-process Server on a free loopback port over a store in a temporary folder, with an HTTP
// client connected to it, for end-to-end route tests that need no child process.
#pragma once

#include "testing/temp_dir.h"

#include <nlohmann/json.hpp>

#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "server/config.h"
#include "server/http_client.h"
#include "server/server.h"

namespace triad::server::testing {

using triad::testing::TempDir;

class TestServer {
 public:
  // A config for a store in `dir`, listening on 127.0.0.1:0, quiet logs.
  static ServerConfig DefaultConfig(const TempDir& dir);

  // Starts a server with DefaultConfig() changed by `customize` (a test failure when it does not
  // start: check server_started()).
  explicit TestServer(const std::function<void(ServerConfig&)>& customize = {});
  bool server_started() const { return server_ != nullptr; }
  ~TestServer();

  Server& server() { return *server_; }
  HttpClient& client() { return *client_; }
  Url url() const;
  // A new client (e.g. one per thread) with `token`.
  std::unique_ptr<HttpClient> NewClient(const std::string& token = "") const;

  // Sends a request and returns the response; a test failure (status 0) on transport errors.
  ClientResponse Call(std::string_view method, std::string_view target, std::string_view body = {});
  // The store's head position.
  int64_t Head();

 private:
  TempDir dir_;
  std::unique_ptr<Server> server_;
  std::unique_ptr<HttpClient> client_;
};

// The body as JSON; a test failure (and null) when it is not JSON.
nlohmann::json JsonOf(const ClientResponse& response);

}  // namespace triad::server::testing
