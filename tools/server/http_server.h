// The HTTP/1.1 transport of `triad serve`: Boost.Beast on Asio with C++20 coroutines. Io threads
// accept, parse and write; handlers run on a worker pool (appends block on group commits), so an
// io thread never touches storage. It applies the request limits, percent-decodes targets,
// routes (404/405), authenticates (401/403), catches handler exceptions (500), adds
// `x-request-id`, records metrics and logs one line per request. GET /subscribe (a streaming
// route) is served here as Server-Sent Events (sse_session.h).
//
// Waiting requests: a read with min_position or a consumer-group poll with wait_ms does not wait
// on a worker thread. Its handler checks once (HttpRequest::park_waits) and, when nothing is
// there yet, the request is parked on its connection: woken by commits and short re-check
// intervals, ended by the client closing its connection, at most limits.max_waiters at once.
// Re-checks and SSE reads run on a small background pool, so the workers stay free for appends.
//
// This header is free of Beast so that server.cc and tests include it cheaply.
//
// Thread-safety: BeginShutdown() and Stop() may be called from any thread; the rest are safe
// after Start() returns.
#pragma once

#include "triad/result.h"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "server/auth.h"
#include "server/router.h"
#include "server/server_context.h"

namespace triad::server {

// Server-Sent Events settings (docs/operations.md, "sse").
struct SseOptions {
  // A `: heartbeat` comment after this long without a write. Default: 15 s.
  int64_t heartbeat_ms = 15'000;
  // A subscriber that has been live (caught up once) and falls more than this many positions
  // behind the head is sent `event: disconnect` {"reason":"lagging"} and closed.
  int64_t max_lag_events = 100'000;
  // A write the socket does not take within this long closes the subscriber. Default: 10 s.
  int64_t write_timeout_ms = 10'000;
  // Events read from the log and written per batch. Default: 500.
  size_t batch_events = 500;
  // Bytes of frames one subscriber may have built and not yet written (a batch stops there;
  // a larger single event is still sent). Default: 1 MiB.
  size_t max_buffer_bytes = size_t{1} << 20;
  // How often an idle subscriber checks the head for commits made by other processes (commits
  // through this server wake it at once). Default: 250 ms (docs/dependencies.md, PostgreSQL
  // pitfalls).
  int64_t poll_interval_ms = 250;
};

struct HttpServerOptions {
  // Address and port to listen on; port 0 picks a free one (see HttpServer::port()).
  std::string host = "127.0.0.1";
  uint16_t port = 7700;
  // Threads running the Asio event loop. Default: 1.
  int io_threads = 1;
  // Threads running route handlers. Default: 64, so that many appends wait on one group commit.
  int worker_threads = 64;
  // A kept-alive connection idle this long is closed. Default: 60 s.
  int64_t idle_timeout_ms = 60'000;
  SseOptions sse;
};

class HttpServer {
 public:
  // Listens and starts the io threads and worker pool. `router`, `context` and `auth` are
  // non-owning and must outlive the server; the router must not change any more.
  // Errors: kUnavailable naming the address when it cannot be bound; kInvalidArgument for a
  // host that is not an IP address or thread counts below 1.
  static Result<std::unique_ptr<HttpServer>> Start(const Router& router, ServerContext& context,
                                                   const Authenticator& auth,
                                                   HttpServerOptions options);

  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;
  // Stop(0) if Stop() was not called.
  ~HttpServer();

  // The port listened on (the chosen one when options.port was 0).
  uint16_t port() const;

  // Stops accepting connections; every request read from now on is answered 503
  // "shutting_down" (GET /health included) and its connection closed; each SSE subscriber gets
  // `event: disconnect` {"reason":"shutting_down"} and is closed. Requests already running
  // finish. Idempotent.
  void BeginShutdown();

  // BeginShutdown(), then waits up to `timeout_ms` for running requests and subscribers to
  // finish, then stops the io threads and the worker pool (a handler still running is waited
  // for: it holds a store reference). Idempotent.
  void Stop(int64_t timeout_ms);

  // Requests being handled (parked ones included) plus open SSE subscribers.
  int64_t in_flight() const;
  // Requests parked waiting for min_position or consumer-group messages (limits.max_waiters).
  int64_t waiting() const;

 private:
  struct Impl;
  explicit HttpServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace triad::server
