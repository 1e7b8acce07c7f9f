// GET /subscribe: a live, resumable feed of the log as Server-Sent Events (docs/http-api.md).
//
// Each subscriber is a cursor over the log, not a queue: the position of the last event sent.
// It reads batches on the worker pool, writes them with a write timeout, and when caught up
// waits on a timer that commits wake (SseHub) or a short poll (other processes' commits). A slow
// client therefore costs one cursor and one socket buffer, never holds writers back, and is cut
// off (`event: disconnect`) when it lags too far or stops taking writes.
//
// Included only by the transport (it pulls in Beast).
//
// Thread-safety: SseHub is safe from any thread; ServeSubscription runs on one connection's
// strand.
#pragma once

#include "triad/event_store.h"

#include <atomic>
#include <boost/asio/awaitable.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <cstdint>
#include <functional>
#include <optional>
#include <utility>

#include "server/commit_wakers.h"
#include "server/http_server.h"
#include "server/http_types.h"
#include "server/server_context.h"
#include "server/worker_pool.h"

namespace triad::server {

// The registry of open subscribers: wakes them on commits, counts them against the limit, and
// tells them to leave at shutdown.
class SseHub {
 public:
  // Registers a commit listener on `store` (non-owning; must outlive the hub).
  SseHub(EventStore* store, size_t max_subscribers) : wakers_(store, max_subscribers) {}

  // Admits a subscriber whose `wake` is called (from any thread, quickly) after commits and at
  // shutdown. Returns its id, or nullopt when max_subscribers are already open.
  std::optional<uint64_t> Add(std::function<void()> wake) { return wakers_.Add(std::move(wake)); }
  // Removes a subscriber; `wake` is not called after this returns.
  void Remove(uint64_t id) { wakers_.Remove(id); }
  // Sets shutting_down() and wakes every subscriber.
  void Shutdown() { wakers_.Shutdown(); }
  bool shutting_down() const { return wakers_.shutting_down(); }
  size_t size() const { return wakers_.size(); }

 private:
  CommitWakers wakers_;
};

// Serves GET /subscribe on `stream` after the route and role were checked. Returns a response
// for the connection to write when the subscription is refused before streaming (400 for bad
// parameters, 503 "too_many_subscribers"); nullopt when it streamed, after which the connection
// must be closed.
boost::asio::awaitable<std::optional<HttpResponse>> ServeSubscription(
    boost::beast::tcp_stream& stream, const HttpRequest& request, ServerContext& context,
    SseHub& hub, WorkerPool& pool, const SseOptions& options);

}  // namespace triad::server
