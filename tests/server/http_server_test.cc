// The transport on its own (a hand-made router over a memory store): a throwing handler is a
// 500 JSON error, every answer has x-request-id, and a shutdown lets a running request finish
// while refusing new ones with 503 "shutting_down".
#include "server/http_server.h"

#include "testing/test_util.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <thread>

#include "server/http_client.h"
#include "server/metrics.h"
#include "support/raw_connection.h"

namespace triad::server {
namespace {

class HttpServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto store = EventStore::Open(Options{}, "memory:");
    ASSERT_OK(store);
    store_ = std::move(*store);
    context_.store = store_.get();
    context_.metrics = &metrics_;
    router_.Add("GET", "/throw", Role::kRead, "throw",
                [](HttpRequest&) -> HttpResponse { throw std::runtime_error("boom"); });
    router_.Add("GET", "/block", Role::kRead, "block", [this](HttpRequest&) {
      std::unique_lock lock(mutex_);
      entered_ = true;
      cv_.notify_all();
      cv_.wait(lock, [this] { return released_; });
      return JsonResponse(200, {{"finished", true}});
    });
    router_.Add("GET", "/health", Role::kNone, "health", [](HttpRequest&) {
      return JsonResponse(200, {{"status", "ok"}});
    });
    router_.Add("POST", "/echo", Role::kRead, "echo", [this](HttpRequest& request) {
      echoed_.fetch_add(1);
      return JsonResponse(201, {{"body", request.body}});
    });
    auto http = HttpServer::Start(router_, context_, auth_, {.host = "127.0.0.1", .port = 0});
    ASSERT_OK(http);
    http_ = std::move(*http);
  }

  std::unique_ptr<HttpClient> Client() {
    auto client = HttpClient::Connect("127.0.0.1", http_->port());
    EXPECT_OK(client);
    return client.ok() ? std::move(*client) : nullptr;
  }

  std::unique_ptr<EventStore> store_;
  Metrics metrics_;
  ServerContext context_;
  Router router_;
  Authenticator auth_{{}};
  std::unique_ptr<HttpServer> http_;
  std::mutex mutex_;
  std::condition_variable cv_;
  bool entered_ = false;
  bool released_ = false;
  std::atomic<int> echoed_{0};
};

TEST_F(HttpServerTest, ThrowingHandlerIs500InternalWithRequestId) {
  auto response = Client()->Send("GET", "/throw");
  ASSERT_OK(response);
  EXPECT_EQ(response->status, 500);
  auto body = nlohmann::json::parse(response->body);
  EXPECT_EQ(body["error"]["code"], "internal");
  EXPECT_NE(body["error"]["message"].get<std::string>().find("boom"), std::string::npos);
  auto id = response->Header("x-request-id");
  ASSERT_TRUE(id.has_value());
  EXPECT_TRUE(id->starts_with("r-"));
  // The connection survives the failed handler.
  auto again = Client()->Send("GET", "/health");
  ASSERT_OK(again);
  EXPECT_EQ(again->status, 200);
  EXPECT_NE(again->Header("x-request-id"), id);
}

TEST_F(HttpServerTest, ShutdownFinishesRunningRequestsAndRefusesNewOnes) {
  auto idle = Client();
  ASSERT_EQ(idle->Send("GET", "/health")->status, 200);  // an open, kept-alive connection
  Result<ClientResponse> blocked = UnavailableError("not answered");
  std::thread caller([&] { blocked = Client()->Send("GET", "/block"); });
  {
    std::unique_lock lock(mutex_);
    cv_.wait(lock, [this] { return entered_; });
  }
  http_->BeginShutdown();
  std::thread stopper([&] { http_->Stop(10'000); });
  // A request read after the shutdown began is refused, /health included.
  auto refused = idle->Send("GET", "/health");
  ASSERT_OK(refused);
  EXPECT_EQ(refused->status, 503);
  EXPECT_EQ(nlohmann::json::parse(refused->body)["error"]["code"], "shutting_down");
  {
    std::lock_guard lock(mutex_);
    released_ = true;
  }
  cv_.notify_all();
  caller.join();
  stopper.join();
  ASSERT_OK(blocked);
  EXPECT_EQ(blocked->status, 200);
  EXPECT_EQ(nlohmann::json::parse(blocked->body)["finished"], true);
}

// What the server answers to one raw request, read until it closes the connection (5 s at most).
std::string RawExchange(uint16_t port, const std::string& request) {
  auto connection = testing::RawConnection::Open(port);
  EXPECT_OK(connection);
  if (!connection.ok()) return "";
  EXPECT_OK((*connection)->Send(request));
  auto answer = (*connection)->ReadUntilClose(5'000);
  EXPECT_OK(answer);
  return answer.value_or("");
}

TEST_F(HttpServerTest, UnknownTransferEncodingIs501AndClosesTheConnection) {
  for (const std::string coding : {"xchunked", "gzip", "identity", "gzip, deflate"}) {
    SCOPED_TRACE(coding);
    // Keep-alive asked, and a Content-Length the server must not frame the body by.
    const std::string answer = RawExchange(
        http_->port(), "POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: " + coding +
                           "\r\nContent-Length: 2\r\n\r\n{}");
    EXPECT_TRUE(answer.starts_with("HTTP/1.1 501")) << answer;
    EXPECT_NE(answer.find("\"not_implemented\""), std::string::npos) << answer;
    EXPECT_NE(answer.find("Transfer-Encoding"), std::string::npos) << answer;
  }
  EXPECT_EQ(echoed_.load(), 0);
  // chunked itself is understood.
  const std::string chunked = RawExchange(
      http_->port(),
      "POST /echo HTTP/1.1\r\nHost: t\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\n"
      "2\r\n{}\r\n0\r\n\r\n");
  EXPECT_TRUE(chunked.starts_with("HTTP/1.1 201")) << chunked;
  EXPECT_EQ(echoed_.load(), 1);
}

}  // namespace
}  // namespace triad::server
