// The blocking HTTP client and SSE reader against canned, byte-exact server replies.
#include "server/http_client.h"

#include "testing/test_util.h"

#include <gtest/gtest.h>

#include <string>

#include "support/canned_server.h"

namespace triad::server {
namespace {

using testing::CannedServer;

TEST(ParseUrlTest, SplitsHostPortAndBasePath) {
  auto url = ParseUrl("http://127.0.0.1:7700/api/");
  ASSERT_OK(url);
  EXPECT_EQ(url->host, "127.0.0.1");
  EXPECT_EQ(url->port, 7700);
  EXPECT_EQ(url->base_path, "/api");
}

TEST(ParseUrlTest, DefaultsPortAndAcceptsBareHostPort) {
  auto plain = ParseUrl("http://example.org");
  ASSERT_OK(plain);
  EXPECT_EQ(plain->port, 80);
  EXPECT_EQ(plain->base_path, "");
  auto bare = ParseUrl("localhost:9");
  ASSERT_OK(bare);
  EXPECT_EQ(bare->host, "localhost");
  EXPECT_EQ(bare->port, 9);
}

TEST(ParseUrlTest, StripsTheBracketsOfAnIpv6Host) {
  auto url = ParseUrl("http://[::1]:7700");
  ASSERT_OK(url);
  EXPECT_EQ(url->host, "::1");
  EXPECT_EQ(url->port, 7700);
  auto no_port = ParseUrl("[::1]");
  ASSERT_OK(no_port);
  EXPECT_EQ(no_port->host, "::1");
  EXPECT_EQ(no_port->port, 80);
  EXPECT_ERROR_CODE(ParseUrl("http://[::1"), kInvalidArgument);
  EXPECT_ERROR_CODE(ParseUrl("http://[::1]x:1"), kInvalidArgument);
}

TEST(ParseUrlTest, RefusesOtherSchemesAndBadPorts) {
  EXPECT_ERROR_CODE(ParseUrl("https://x:1"), kInvalidArgument);
  EXPECT_ERROR_CODE(ParseUrl("http://x:0"), kInvalidArgument);
  EXPECT_ERROR_CODE(ParseUrl("http://x:70000"), kInvalidArgument);
  EXPECT_ERROR_CODE(ParseUrl("http://:80"), kInvalidArgument);
}

TEST(HttpClientTest, ConnectionRefusedIsUnavailable) {
  uint16_t closed_port = 0;
  {
    CannedServer server({""}, 0);  // takes a free port, then releases it
    closed_port = server.port();
  }
  EXPECT_ERROR_CODE(HttpClient::Connect("127.0.0.1", closed_port), kUnavailable);
}

TEST(HttpClientTest, SendsRequestAndReadsResponse) {
  CannedServer server(
      {"HTTP/1.1 201 Created\r\nContent-Type: application/json\r\nX-Request-Id: r-1\r\n"
       "Content-Length: 11\r\nConnection: close\r\n\r\n{\"ok\":true}"},
      1);
  auto client = HttpClient::Connect("127.0.0.1", server.port(), {.bearer_token = "secret"});
  ASSERT_OK(client);
  auto response = (*client)->Send("POST", "/streams/a", R"({"events":[]})");
  ASSERT_OK(response);
  EXPECT_EQ(response->status, 201);
  EXPECT_EQ(response->content_type, "application/json");
  EXPECT_EQ(response->body, R"({"ok":true})");
  EXPECT_EQ(response->Header("x-request-id").value_or(""), "r-1");
  ASSERT_EQ(server.requests().size(), 1U);
  const std::string head = server.requests()[0];
  EXPECT_NE(head.find("POST /streams/a HTTP/1.1"), std::string::npos) << head;
  EXPECT_NE(head.find("Authorization: Bearer secret"), std::string::npos) << head;
  EXPECT_NE(head.find("Content-Type: application/json"), std::string::npos) << head;
}

TEST(HttpClientTest, ReconnectsWhenTheServerClosedAKeptAliveConnection) {
  // The first connection answers with keep-alive and is then closed by the server; the second
  // request must be re-sent on a new connection.
  CannedServer server({"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\na",
                       "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nb"},
                      2);
  auto client = HttpClient::Connect("127.0.0.1", server.port());
  ASSERT_OK(client);
  auto first = (*client)->Send("GET", "/one");
  ASSERT_OK(first);
  EXPECT_EQ(first->body, "a");
  auto second = (*client)->Send("GET", "/two");
  ASSERT_OK(second);
  EXPECT_EQ(second->body, "b");
  ASSERT_EQ(server.requests().size(), 2U);
  EXPECT_NE(server.requests()[1].find("GET /two"), std::string::npos);
}

TEST(ErrorOfResponseTest, MapsConflictWithCurrentVersion) {
  ClientResponse response{
      .status = 409,
      .body = R"({"error":{"code":"wrong_expected_version","message":"m","current_version":3}})"};
  Status status = ErrorOfResponse(response);
  EXPECT_EQ(status.code(), StatusCode::kAborted);
  EXPECT_EQ(status.current_version(), 3);
  EXPECT_EQ(status.message(), "m");
  EXPECT_EQ(ErrorOfResponse({.status = 404, .body = "{}"}).code(), StatusCode::kNotFound);
}

TEST(SseStreamTest, ParsesEventsHeartbeatsAndEnd) {
  CannedServer server(
      {"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\r\n"
       "id: 7\nevent: event\ndata: {\"a\":1}\n\n: heartbeat\n\ndata: x\ndata: y\n\n"},
      1);
  auto stream = SseStream::Open({.host = "127.0.0.1", .port = server.port()}, "/subscribe", "6");
  ASSERT_OK(stream);
  auto first = (*stream)->Next(5000);
  ASSERT_OK(first);
  EXPECT_EQ(first->id, "7");
  EXPECT_EQ(first->event, "event");
  EXPECT_EQ(first->data, R"({"a":1})");
  auto heartbeat = (*stream)->Next(5000);
  ASSERT_OK(heartbeat);
  EXPECT_TRUE(heartbeat->heartbeat);
  auto joined = (*stream)->Next(5000);
  ASSERT_OK(joined);
  EXPECT_EQ(joined->event, "message");
  EXPECT_EQ(joined->data, "x\ny");
  EXPECT_ERROR_CODE((*stream)->Next(5000), kUnavailable);
  EXPECT_NE(server.requests()[0].find("Last-Event-ID: 6"), std::string::npos);
}

TEST(SseStreamTest, TimesOutWithoutClosing) {
  CannedServer server({"HTTP/1.1 200 OK\r\n\r\n"}, 1, /*keep_open=*/true);
  auto stream = SseStream::Open({.host = "127.0.0.1", .port = server.port()}, "/subscribe");
  ASSERT_OK(stream);
  EXPECT_ERROR_CODE((*stream)->Next(50), kDeadlineExceeded);
  EXPECT_ERROR_CODE((*stream)->Next(50), kDeadlineExceeded);
  (*stream)->Close();
  EXPECT_ERROR_CODE((*stream)->Next(50), kUnavailable);
}

TEST(SseStreamTest, RefusalIsTheServersError) {
  CannedServer refusing({"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 64\r\n\r\n"
                         R"({"error":{"code":"too_many_subscribers","message":"limit is 1"}})"},
                        1);
  auto refused = SseStream::Open({.host = "127.0.0.1", .port = refusing.port()}, "/subscribe");
  EXPECT_ERROR_CODE(refused, kResourceExhausted);
}

}  // namespace
}  // namespace triad::server
