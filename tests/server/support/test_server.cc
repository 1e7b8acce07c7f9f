#include "support/test_server.h"

#include <gtest/gtest.h>

namespace triad::server::testing {

ServerConfig TestServer::DefaultConfig(const TempDir& dir) {
  ServerConfig config;
  config.listen = "127.0.0.1:0";
  config.data = dir.File("store.db");
  config.scripts_dir = dir.File("scripts");
  config.log_level = "warn";
  config.worker_threads = 8;
  config.shutdown_timeout_ms = 5000;
  return config;
}

TestServer::TestServer(const std::function<void(ServerConfig&)>& customize) {
  ServerConfig config = DefaultConfig(dir_);
  if (customize) customize(config);
  auto server = Server::Start(std::move(config));
  if (!server.ok()) {
    ADD_FAILURE() << "server start failed: " << server.status().ToString();
    return;
  }
  server_ = std::move(*server);
  client_ = NewClient();
}

TestServer::~TestServer() {
  client_.reset();
  if (server_) {
    server_->RequestStop();
    EXPECT_TRUE(server_->Wait().ok());
  }
}

Url TestServer::url() const { return Url{.host = "127.0.0.1", .port = server_->port()}; }

std::unique_ptr<HttpClient> TestServer::NewClient(const std::string& token) const {
  auto client = HttpClient::Connect("127.0.0.1", server_->port(), {.bearer_token = token});
  if (!client.ok()) {
    ADD_FAILURE() << client.status().ToString();
    return nullptr;
  }
  return std::move(*client);
}

ClientResponse TestServer::Call(std::string_view method, std::string_view target,
                                std::string_view body) {
  auto response = client_->Send(method, target, body);
  if (!response.ok()) {
    ADD_FAILURE() << method << " " << target << ": " << response.status().ToString();
    return {};
  }
  return std::move(*response);
}

int64_t TestServer::Head() {
  auto head = server_->store()->HeadPosition();
  EXPECT_TRUE(head.ok());
  return head.value_or(-1);
}

nlohmann::json JsonOf(const ClientResponse& response) {
  auto json = nlohmann::json::parse(response.body, nullptr, false);
  if (json.is_discarded()) {
    ADD_FAILURE() << "not JSON: " << response.body;
    return nullptr;
  }
  return json;
}

}  // namespace triad::server::testing
