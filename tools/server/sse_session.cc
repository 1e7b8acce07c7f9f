#include "server/sse_session.h"

// GCC 12 reports Asio's coroutine frame allocator as a mismatched new/delete pair (a known false
// positive: awaitable_frame_base defines both operators as a pair).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif

#include "triad/event_json.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <charconv>
#include <chrono>
#include <limits>
#include <malloc.h>
#include <memory>
#include <string>
#include <vector>

#include "server/metrics.h"
#include "server/request_log.h"
#include "server/routes/stream_routes.h"

namespace triad::server {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
using Clock = std::chrono::steady_clock;
using ErrorCode = boost::system::error_code;
constexpr auto kUseTuple = asio::as_tuple(asio::use_awaitable);

// What one subscriber shares with the hub's wake-up and with its peer-close detector.
// `notified` is set by a commit and cleared before each read, so that a commit during the read
// skips the wait.
struct SubscriberState : WakeableTimer {
  using WakeableTimer::WakeableTimer;
  // Set when the client closed its side (detected by a pending one-byte read).
  std::atomic<bool> peer_closed{false};
  char probe = 0;
};

// Frames built straight from the log (no copy of the events is kept), at most batch_events of
// them and about max_buffer_bytes (always at least one event).
struct Batch {
  Status status;
  Position head = 0;
  std::string frames;
  size_t count = 0;
  Position last = 0;
  bool full = false;  // stopped by a limit: more may follow at once
};

RecordedEvent CopyOf(const EventView& view) {
  return RecordedEvent{.id = std::string(view.id),
                       .stream = std::string(view.stream),
                       .version = view.version,
                       .position = view.position,
                       .type = std::string(view.type),
                       .data = std::string(view.data),
                       .metadata = std::string(view.metadata),
                       .correlation_id = std::string(view.correlation_id),
                       .causation_id = std::string(view.causation_id),
                       .recorded_at_us = view.recorded_at_us};
}

void AppendFrame(std::string& out, const RecordedEvent& event) {
  out += "id: ";
  out += std::to_string(event.position);
  out += "\nevent: event\ndata: ";
  out += EventToJson(event);
  out += "\n\n";
}

std::string DisconnectFrame(const nlohmann::json& data) {
  return "event: disconnect\ndata: " + data.dump() + "\n\n";
}

// GCC 12 miscompiles braced JSON initializers inside co_await expressions; build them here.
nlohmann::json ReasonOf(std::string_view reason, Position position) {
  nlohmann::json out;
  out["reason"] = reason;
  out["position"] = position;
  return out;
}

// The resume point: the next read starts after it, so it is at most kMaxReadPosition - 1 (the
// range of GET /events' from_position, shifted by one).
Result<Position> ParseLastEventId(std::string_view text) {
  Position value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value < 0 ||
      value > kMaxReadPosition - 1) {
    return InvalidArgumentError("Last-Event-ID '" + std::string(text.substr(0, 40)) +
                                "' is not a position (an integer in [0, " +
                                std::to_string(kMaxReadPosition - 1) + "])");
  }
  return value;
}

}  // namespace

// Above this peak of buffered bytes, the allocator is asked to return freed memory once the
// buffers are empty again (their pages would otherwise stay with the process).
constexpr size_t kTrimAfterPeakBytes = size_t{8} << 20;

bool SseHub::Reserve(size_t bytes) {
  size_t current = buffered_.load();
  do {
    if (current + bytes > budget_) return false;
  } while (!buffered_.compare_exchange_weak(current, current + bytes));
  size_t peak = peak_since_trim_.load();
  while (current + bytes > peak && !peak_since_trim_.compare_exchange_weak(peak, current + bytes)) {
  }
  if (metrics_ != nullptr) metrics_->AddSseBufferedBytes(static_cast<int64_t>(bytes));
  return true;
}

void SseHub::Release(size_t bytes) {
  const size_t left = buffered_.fetch_sub(bytes) - bytes;
  if (metrics_ != nullptr) metrics_->AddSseBufferedBytes(-static_cast<int64_t>(bytes));
#if defined(__GLIBC__)
  if (left == 0 && peak_since_trim_.exchange(0) > kTrimAfterPeakBytes) malloc_trim(0);
#else
  (void)left;
#endif
}

asio::awaitable<std::optional<HttpResponse>> ServeSubscription(beast::tcp_stream& stream,
                                                               const HttpRequest& request,
                                                               ServerContext& context, SseHub& hub,
                                                               WorkerPool& pool,
                                                               const SseOptions& options) {
  EventStore* store = context.store;
  ReadAllOptions filter;
  ReadEventFilters(request, filter);
  filter.limit = std::max<size_t>(options.batch_events, 1);
  auto from_position = QueryInt(request, "from_position", 0, kMaxReadPosition);
  if (!from_position.ok()) co_return ErrorFromStatus(from_position.status());
  std::optional<Position> last_event_id;
  if (auto header = request.Header("last-event-id")) {
    auto parsed = ParseLastEventId(*header);
    if (!parsed.ok()) co_return ErrorFromStatus(parsed.status());
    last_event_id = *parsed;
  }

  // The cursor: the position of the last event sent (or skipped by the filters).
  Position cursor = 0;
  if (last_event_id) {
    cursor = *last_event_id;
  } else if (*from_position) {
    cursor = std::max<Position>(**from_position, 1) - 1;
  } else {
    auto head = co_await pool.Run([store] { return store->HeadPosition(); });
    if (!head.ok()) co_return ErrorFromStatus(head.status());
    cursor = *head;
  }
  // The filters are checked as GET /events checks them, by the store, before the 200: a bad
  // `type` is a 400 with the same error, not a stream that ends at once.
  Status checked = co_await pool.Run([store, &filter, cursor] {
    ReadAllOptions probe = filter;
    probe.from_position = cursor + 1;
    probe.limit = 1;
    return store->ScanAll(probe, [](const EventView&) { return false; }).status();
  });
  if (!checked.ok()) co_return ErrorFromStatus(checked);

  const asio::any_io_executor executor = co_await asio::this_coro::executor;
  auto state = std::make_shared<SubscriberState>(executor);
  auto id = hub.Add(TimerWake(state, executor));
  if (!id) {
    nlohmann::json details;
    details["limit"] = context.limits.max_sse_clients;
    co_return ErrorResponse(503, "too_many_subscribers",
                            "the server already has " +
                                std::to_string(context.limits.max_sse_clients) +
                                " subscribers (limits.max_sse_clients)",
                            &details);
  }
  if (context.metrics != nullptr) context.metrics->AddSseSubscriber();
  struct Leave {
    SseHub& hub;
    uint64_t id;
    Metrics* metrics;
    ~Leave() {
      hub.Remove(id);
      if (metrics != nullptr) metrics->RemoveSseSubscriber();
    }
  } leave{hub, *id, context.metrics};

  const auto write_timeout = std::chrono::milliseconds(options.write_timeout_ms);
  auto write = [&stream, write_timeout](const std::string& bytes) -> asio::awaitable<bool> {
    stream.expires_after(write_timeout);
    auto [ec, n] = co_await asio::async_write(stream, asio::buffer(bytes), kUseTuple);
    stream.expires_never();
    co_return !ec;
  };

  std::string head_text =
      "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n"
      "Connection: close\r\nx-request-id: " +
      request.request_id + "\r\n\r\n";
  if (!co_await write(head_text)) co_return std::nullopt;

  // The client sends nothing after its request; a completed read means it went away.
  stream.socket().async_read_some(asio::buffer(&state->probe, 1), [state](ErrorCode, size_t) {
    state->peer_closed.store(true);
    state->timer.cancel();
  });

  auto last_write = Clock::now();
  bool caught_up_once = false;
  std::string disconnect_reason = "client_closed";
  while (true) {
    if (state->peer_closed.load()) break;
    if (hub.shutting_down()) {
      const std::string frame = DisconnectFrame(ReasonOf("shutting_down", cursor));
      co_await write(frame);
      disconnect_reason = "shutting_down";
      break;
    }
    state->notified.store(false);
    filter.from_position = cursor + 1;
    // The subscriber's buffer is charged to the server-wide budget before it is filled; when
    // the budget is spent (by subscribers whose sockets do not take their writes), this one
    // waits without holding anything, and stalled ones leave by write_timeout_ms.
    const size_t cap = std::min(std::max<size_t>(options.max_buffer_bytes, 1), hub.budget());
    if (!hub.Reserve(cap)) {
      state->timer.expires_after(std::chrono::milliseconds(10));
      co_await state->timer.async_wait(kUseTuple);
      continue;
    }
    struct Charge {
      SseHub& hub;
      size_t bytes;
      ~Charge() { hub.Release(bytes); }
    } charge{hub, cap};
    Batch batch = co_await pool.Run([store, &filter, cap] {
      Batch out;
      auto head = store->HeadPosition();
      if (!head.ok()) {
        out.status = head.status();
        return out;
      }
      out.head = *head;
      auto scanned = store->ScanAll(filter, [&out, &filter, cap](const EventView& view) {
        AppendFrame(out.frames, CopyOf(view));
        out.last = view.position;
        ++out.count;
        out.full = out.count >= filter.limit || out.frames.size() >= cap;
        return !out.full;
      });
      if (!scanned.ok()) out.status = scanned.status();
      return out;
    });
    if (!batch.status.ok()) {
      nlohmann::json reason = ReasonOf("error", cursor);
      reason["message"] = batch.status.ToString();
      const std::string frame = DisconnectFrame(reason);
      co_await write(frame);
      disconnect_reason = "error";
      break;
    }
    if (caught_up_once && batch.head - cursor > options.max_lag_events) {
      const std::string frame = DisconnectFrame(ReasonOf("lagging", cursor));
      co_await write(frame);
      disconnect_reason = "lagging";
      break;
    }
    // Hold only what was built while the socket takes it, then nothing.
    const size_t held = std::min(cap, batch.frames.size());
    hub.Release(cap - held);
    charge.bytes = held;
    if (batch.count > 0) {
      if (!co_await write(batch.frames)) {
        disconnect_reason = "write_failed";
        break;
      }
      cursor = batch.last;
      last_write = Clock::now();
    }
    std::string().swap(batch.frames);
    hub.Release(held);
    charge.bytes = 0;
    if (batch.full) continue;  // more to read now
    // The log was read to its end as of `batch.head` (read before the scan): events the filters
    // skipped up to there need not be scanned again.
    cursor = std::max(cursor, batch.head);
    caught_up_once = true;
    if (state->notified.load()) continue;
    const auto heartbeat_at = last_write + std::chrono::milliseconds(options.heartbeat_ms);
    const auto poll_at = Clock::now() + std::chrono::milliseconds(options.poll_interval_ms);
    state->timer.expires_at(std::min(heartbeat_at, poll_at));
    co_await state->timer.async_wait(kUseTuple);
    if (Clock::now() >= heartbeat_at && !state->peer_closed.load()) {
      const std::string heartbeat = ": heartbeat\n\n";
      if (!co_await write(heartbeat)) {
        disconnect_reason = "write_failed";
        break;
      }
      last_write = Clock::now();
    }
  }
  LogEvent("info", "subscriber closed",
           {{"request_id", request.request_id},
            {"reason", disconnect_reason},
            {"position", std::to_string(cursor)}});
  ErrorCode ignored;
  stream.socket().shutdown(asio::ip::tcp::socket::shutdown_send, ignored);
  stream.close();
  co_return std::nullopt;
}

}  // namespace triad::server
