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
#include <cstddef>
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

class Metrics;

// The registry of open subscribers: wakes them on commits, counts them against the limit, and
// tells them to leave at shutdown.
class SseHub {
 public:
  // Registers a commit listener on `store` (non-owning; must outlive the hub).
  SseHub(EventStore* store, size_t max_subscribers) : wakers_(store, max_subscribers) {}
  // Also accounts subscriber buffers against `max_buffer_bytes` (server-wide), reported to
  // `metrics` (may be null).
  SseHub(EventStore* store, size_t max_subscribers, size_t max_buffer_bytes, Metrics* metrics)
      : wakers_(store, max_subscribers), budget_(max_buffer_bytes), metrics_(metrics) {}

  // Charges `bytes` of a subscriber's buffer to the budget; false (nothing charged) when it
  // would go over. Release() gives them back; when the total drops to zero after a large
  // peak, freed memory is returned to the system.
  bool Reserve(size_t bytes);
  void Release(size_t bytes);
  size_t buffered_bytes() const { return buffered_.load(); }
  size_t budget() const { return budget_; }

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
  size_t budget_ = SIZE_MAX;
  Metrics* metrics_ = nullptr;
  std::atomic<size_t> buffered_{0};
  std::atomic<size_t> peak_since_trim_{0};
};

// Serves GET /subscribe on `stream` after the route and role were checked. Returns a response
// for the connection to write when the subscription is refused before streaming (400 for bad
// parameters, 503 "too_many_subscribers"); nullopt when it streamed, after which the connection
// must be closed.
boost::asio::awaitable<std::optional<HttpResponse>> ServeSubscription(
    boost::beast::tcp_stream& stream, const HttpRequest& request, ServerContext& context,
    SseHub& hub, WorkerPool& pool, const SseOptions& options);

}  // namespace triad::server
