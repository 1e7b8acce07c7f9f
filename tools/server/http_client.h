// A small blocking HTTP/1.1 client for the Triad server: the CLI's `--url` mode and the server
// tests use it. One HttpClient holds one keep-alive connection; SseStream reads a
// `text/event-stream` (GET /subscribe) event by event.
//
//   auto client = triad::server::HttpClient::FromUrl("http://127.0.0.1:7700");
//   if (!client.ok()) return client.status();
//   auto response = (*client)->Send("GET", "/streams/account-1");
//   if (response.ok() && response->status == 200) use(response->body);
//
// Transport failures (refused, reset, timed out) are errors (kUnavailable, kDeadlineExceeded);
// an HTTP error status is not: it is a ClientResponse with that status and the server's body.
// Nothing here throws.
//
// Thread-safety: an HttpClient or SseStream is used by one thread at a time; distinct objects
// are independent.
#pragma once

#include "triad/result.h"
#include "triad/status.h"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace triad::server {

// "http://host:port[/base]" split into parts. Only plain http is supported (TLS is terminated by
// a reverse proxy, docs/operations.md).
struct Url {
  std::string host;
  uint16_t port = 80;
  // The path prefix without a trailing '/', usually empty; prepended to every request target.
  std::string base_path;
};

// Parses `url`. A missing port is 80; "host:port" without a scheme is accepted.
// Errors: kInvalidArgument naming the URL (another scheme, an empty host, a bad port).
Result<Url> ParseUrl(std::string_view url);

// Header name/value pairs; names compare case-insensitively.
using HeaderList = std::vector<std::pair<std::string, std::string>>;

struct ClientResponse {
  int status = 0;
  std::string content_type;
  std::string body;
  // Every response header, names lower-cased.
  HeaderList headers;

  // The first header `lower_case_name`, or nullopt.
  std::optional<std::string_view> Header(std::string_view lower_case_name) const;
};

struct ClientOptions {
  // Sent as `Authorization: Bearer <token>` when not empty.
  std::string bearer_token;
  // Bound on connecting (DNS + TCP). Default: 5 s.
  int64_t connect_timeout_ms = 5'000;
  // Bound on one request: writing it and reading the whole response. Default: 120 s, above the
  // longest wait a request may ask for (limits.max_wait_ms).
  int64_t request_timeout_ms = 120'000;
};

class HttpClient {
 public:
  // Connects to host:port. Errors: kUnavailable (resolve or connect failed, naming host:port),
  // kDeadlineExceeded (connect_timeout_ms passed).
  static Result<std::unique_ptr<HttpClient>> Connect(std::string host, uint16_t port,
                                                     ClientOptions options = {});
  // Connects to the server at `url` (ParseUrl). Errors: ParseUrl's, then Connect's.
  static Result<std::unique_ptr<HttpClient>> FromUrl(std::string_view url,
                                                     ClientOptions options = {});

  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;
  ~HttpClient();

  // Sends one request and reads its response over the kept-alive connection. A connection the
  // server closed while idle is re-opened once and the request re-sent (it had not been read).
  // `body` non-empty is sent with Content-Type application/json unless `headers` names another.
  // Errors: kUnavailable (connection failed or broke mid-response), kDeadlineExceeded
  // (request_timeout_ms passed; the connection is closed, the request may have been processed).
  Result<ClientResponse> Send(std::string_view method, std::string_view target,
                              std::string_view body = {}, const HeaderList& headers = {});

  // host:port this client talks to, for messages.
  std::string Endpoint() const;

 private:
  struct Impl;
  explicit HttpClient(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// One Server-Sent Event, or a heartbeat comment.
struct SseEvent {
  // The `id:` field (an event's position on /subscribe); empty when the event had none.
  std::string id;
  // The `event:` field; "message" when absent (the SSE default).
  std::string event;
  // The `data:` lines joined by '\n'.
  std::string data;
  // True for a comment line (": heartbeat"); the other fields are then empty.
  bool heartbeat = false;
};

class SseStream {
 public:
  // Opens GET `target` (e.g. "/subscribe?type=A") with Accept: text/event-stream, and
  // `Last-Event-ID: last_event_id` when given. Errors: kUnavailable/kDeadlineExceeded as
  // HttpClient::Connect; a non-200 answer is the error ErrorOfResponse() makes of it
  // (e.g. 401 → kUnavailable naming "unauthorized", 503 too_many_subscribers → kResourceExhausted).
  static Result<std::unique_ptr<SseStream>> Open(const Url& url, std::string_view target,
                                                 std::optional<std::string> last_event_id = {},
                                                 ClientOptions options = {});

  SseStream(const SseStream&) = delete;
  SseStream& operator=(const SseStream&) = delete;
  ~SseStream();

  // The next event or heartbeat. Errors: kDeadlineExceeded when none arrives within
  // `timeout_ms` (the stream stays usable); kUnavailable when the server closed the stream
  // (after an `event: disconnect`, which is returned first as an ordinary event).
  Result<SseEvent> Next(int64_t timeout_ms);

  // Closes the socket at once (a client that goes away mid-stream). Next() then fails.
  void Close();

 private:
  struct Impl;
  explicit SseStream(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// The Status an error answer stands for, so that a client gets the code the embedded library
// would have returned. The JSON `error.code` decides when the body has one
// (wrong_expected_version → kAborted with `current_version`; not_found → kNotFound;
// invalid_json, invalid_argument, too_many_events, body_too_large, headers_too_large →
// kInvalidArgument; already_exists → kAlreadyExists; failed_precondition, unauthorized,
// forbidden, method_not_allowed → kFailedPrecondition; deadline_exceeded → kDeadlineExceeded;
// resource_exhausted, too_many_subscribers → kResourceExhausted; unavailable, shutting_down,
// cancelled → kUnavailable; internal → kInternal), else the HTTP status does (400/413/431
// kInvalidArgument, 404 kNotFound, 408 kDeadlineExceeded, 429 kResourceExhausted, 500 kInternal,
// other 5xx kUnavailable, other 4xx kFailedPrecondition). The message is the server's
// `error.message`, or "server answered HTTP <status>: <body start>". REQUIRES: status >= 400.
Status ErrorOfResponse(const ClientResponse& response);

}  // namespace triad::server
