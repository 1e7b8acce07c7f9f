#include "server/http_server.h"

// GCC 12 reports Asio's coroutine frame allocator as a mismatched new/delete pair (a known false
// positive: awaitable_frame_base defines both operators as a pair).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif

#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <atomic>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <exception>
#include <limits>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <thread>
#include <tuple>
#include <vector>

#include "server/commit_wakers.h"
#include "server/metrics.h"
#include "server/request_log.h"
#include "server/request_target.h"
#include "server/sse_session.h"
#include "server/worker_pool.h"

namespace triad::server {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using ErrorCode = boost::system::error_code;
using SteadyClock = std::chrono::steady_clock;
constexpr auto kUseTuple = asio::as_tuple(asio::use_awaitable);
constexpr std::array<std::string_view, 4> kMethods = {"GET", "POST", "PUT", "DELETE"};
// How soon a parked request is checked again after a commit, and the longest interval between
// checks (the backoff doubles from the first to the second).
constexpr auto kFirstRecheck = std::chrono::milliseconds(2);
constexpr auto kMaxRecheck = std::chrono::milliseconds(250);
// The status logged for a parked request whose client went away (nginx's convention).
constexpr int kClientClosedRequest = 499;

// Accepting when out of file descriptors: how many idle connections to close at a time, the
// pause after closing some (for the closes to happen), the pause when none could be closed, and
// the quiet time after which running out again is logged again (one warning per episode).
constexpr size_t kShedBatch = 16;
constexpr auto kShedPause = std::chrono::milliseconds(10);
constexpr auto kAcceptErrorPause = std::chrono::milliseconds(100);
constexpr auto kExhaustedEpisodeGap = std::chrono::seconds(10);

// Connections allowed before shedding idle ones: RLIMIT_NOFILE less max(32, 1/8 of it).
int64_t ConnectionLimit() {
  rlimit files{};
  if (getrlimit(RLIMIT_NOFILE, &files) != 0 || files.rlim_cur == RLIM_INFINITY) {
    return std::numeric_limits<int64_t>::max();
  }
  const auto limit = static_cast<int64_t>(files.rlim_cur);
  return std::max<int64_t>(1, limit - std::max<int64_t>(32, limit / 8));
}

// One connection as the shedding of idle connections sees it. Touched on the connection's
// strand only (ShedIdle posts there).
struct ConnectionSlot {
  beast::tcp_stream* stream = nullptr;  // null once the session ended
  bool idle = false;                    // waiting for the next request's header
};

struct IdleEntry {
  asio::any_io_executor executor;
  std::weak_ptr<ConnectionSlot> slot;
};

// A parked request's wake-ups (Park()). Touched only on the connection's strand, except
// `notified` (WakeableTimer).
struct ParkedState : WakeableTimer {
  using WakeableTimer::WakeableTimer;
  // A wait for the socket to become readable is pending.
  bool watch_pending = false;
  // The socket became readable: the client closed, reset, or pipelined a request.
  bool readable = false;
};

HttpResponse RunHandler(const Handler& handler, HttpRequest& request) {
  try {
    return handler(request);
  } catch (const std::exception& e) {
    return ErrorResponse(500, "internal", std::string("handler failed: ") + e.what());
  } catch (...) {
    return ErrorResponse(500, "internal", "handler failed with an unknown exception");
  }
}

http::response<http::string_body> ToBeast(HttpResponse&& response, const std::string& request_id,
                                          unsigned version, bool keep_alive) {
  http::response<http::string_body> out;
  out.version(version);
  out.result(static_cast<unsigned>(response.status));
  out.set(http::field::content_type, response.content_type);
  out.set("x-request-id", request_id);
  for (const auto& [name, value] : response.headers) out.set(name, value);
  out.body() = std::move(response.body);
  out.keep_alive(keep_alive);
  out.prepare_payload();
  return out;
}

// RFC 9112 section 6.1: a request with a transfer coding the server does not understand is
// answered 501 and its connection closed (its body cannot be framed). Beast decodes "chunked"
// only, and would otherwise frame an unknown coding by Content-Length.
std::optional<HttpResponse> RefuseTransferEncoding(
    const http::request<http::string_body>& message) {
  std::string codings;
  int chunked = 0;
  int other = 0;
  bool present = false;
  for (const auto& field : message) {
    if (field.name() != http::field::transfer_encoding) continue;
    present = true;
    if (!codings.empty()) codings += ", ";
    codings += std::string(field.value());
    for (auto token : http::token_list(field.value())) {
      if (beast::iequals(token, "chunked")) {
        ++chunked;
      } else {
        ++other;
      }
    }
  }
  if (!present || (chunked == 1 && other == 0)) return std::nullopt;
  nlohmann::json details = {{"transfer_encoding", codings.substr(0, 200)}};
  return ErrorResponse(
      501, "not_implemented",
      "Transfer-Encoding '" + codings.substr(0, 200) + "' is not supported (only chunked)",
      &details);
}

}  // namespace

struct HttpServer::Impl {
  Impl(const Router& router_in, ServerContext& context_in, const Authenticator& auth_in,
       HttpServerOptions options_in)
      : router(router_in),
        context(context_in),
        auth(auth_in),
        options(std::move(options_in)),
        pool(static_cast<size_t>(options.worker_threads)),
        background_pool(static_cast<size_t>(std::max(2, options.worker_threads / 4))),
        hub(context.store, context.limits.max_sse_clients, context.limits.max_sse_buffer_bytes,
            context.metrics),
        waiters(context.store, context.limits.max_waiters),
        acceptor(ioc),
        work(asio::make_work_guard(ioc)) {
    std::random_device random;
    char prefix[16];
    std::snprintf(prefix, sizeof prefix, "r-%06x-", random() & 0xffffffU);
    id_prefix = prefix;
  }

  const Router& router;
  ServerContext& context;
  const Authenticator& auth;
  HttpServerOptions options;
  // Declared before `ioc` so that they outlive it: destroying the io_context destroys the
  // suspended coroutines, whose frames still refer to the pool and the hub.
  WorkerPool pool;
  // Re-checks of parked requests and SSE reads run here, so that however many there are, the
  // workers that appends need stay free.
  WorkerPool background_pool;
  SseHub hub;
  // Parked requests (Park()), woken by commits.
  CommitWakers waiters;
  asio::io_context ioc;
  tcp::acceptor acceptor;
  asio::executor_work_guard<asio::io_context::executor_type> work;
  std::vector<std::thread> io_threads;
  std::string id_prefix;
  std::atomic<uint64_t> next_request{1};
  std::atomic<bool> shutting_down{false};
  std::atomic<bool> stopped{false};
  std::atomic<int64_t> in_flight{0};
  // Open connections, and how many may be open before the longest-idle ones are closed as new
  // ones come: the descriptor limit less a reserve for the store's files and the process.
  std::atomic<int64_t> connections{0};
  int64_t max_connections = ConnectionLimit();
  // Idle connections by when they became idle (ids grow), for ShedIdle().
  std::mutex idle_mutex;
  uint64_t next_idle_id = 1;
  std::map<uint64_t, IdleEntry> idle;

  std::string NextRequestId() {
    char suffix[20];
    std::snprintf(suffix, sizeof suffix, "%llx",
                  static_cast<unsigned long long>(next_request.fetch_add(1)));
    return id_prefix + suffix;
  }

  // Marks a connection idle (waiting for its next request) until the returned id is passed to
  // LeaveIdle(); the oldest idle ones are closed when file descriptors run out.
  uint64_t EnterIdle(const std::shared_ptr<ConnectionSlot>& slot,
                     const asio::any_io_executor& executor) {
    std::lock_guard lock(idle_mutex);
    const uint64_t id = next_idle_id++;
    idle.emplace(id, IdleEntry{executor, slot});
    return id;
  }

  void LeaveIdle(uint64_t id) {
    std::lock_guard lock(idle_mutex);
    idle.erase(id);
  }

  // Closes up to `count` of the connections idle the longest (a client's kept-alive connection
  // may be closed at any time while idle: it reconnects). Returns how many were asked to close.
  size_t ShedIdle(size_t count) {
    std::vector<IdleEntry> victims;
    {
      std::lock_guard lock(idle_mutex);
      while (!idle.empty() && victims.size() < count) {
        victims.push_back(std::move(idle.begin()->second));
        idle.erase(idle.begin());
      }
    }
    for (IdleEntry& victim : victims) {
      asio::post(victim.executor, [weak = victim.slot] {
        auto slot = weak.lock();
        if (!slot || !slot->idle || slot->stream == nullptr) return;
        ErrorCode ignored;
        slot->stream->socket().close(ignored);
      });
    }
    return victims.size();
  }

  // Logs once per episode (kExhaustedEpisodeGap of quiet ends one) that idle connections are
  // being closed for lack of file descriptors.
  void WarnDescriptorPressure(std::optional<SteadyClock::time_point>& last, const std::string& why,
                              int64_t open) {
    const auto now = SteadyClock::now();
    if (!last || now - *last > kExhaustedEpisodeGap) {
      LogEvent("warn", "file descriptor limit: closing the longest-idle connections",
               {{"reason", why},
                {"connections", std::to_string(open)},
                {"max_connections", std::to_string(max_connections)},
                {"idle_connections", std::to_string(IdleCount())}});
    }
    last = now;
  }

  asio::awaitable<void> Accept() {
    asio::steady_timer backoff(acceptor.get_executor());
    std::optional<SteadyClock::time_point> last_exhausted;
    while (true) {
      auto [ec, socket] = co_await acceptor.async_accept(asio::make_strand(ioc), kUseTuple);
      if (ec) {
        if (ec == asio::error::operation_aborted || !acceptor.is_open()) co_return;
        // Out of descriptors (or another accept failure): accepting again at once would spin,
        // since the pending connection stays queued. Shed the oldest idle connections so that
        // new clients can be served, and retry after a short pause.
        const bool exhausted = ec == boost::system::errc::too_many_files_open ||
                               ec == boost::system::errc::too_many_files_open_in_system;
        size_t shed = 0;
        if (exhausted) {
          WarnDescriptorPressure(last_exhausted, ec.message(), connections.load());
          shed = ShedIdle(kShedBatch);
        }
        backoff.expires_after(shed > 0 ? kShedPause : kAcceptErrorPause);
        co_await backoff.async_wait(kUseTuple);
        continue;
      }
      ErrorCode ignored;
      socket.set_option(tcp::no_delay(true), ignored);
      // Near the descriptor limit: make room before the process runs out (and before every
      // new connection, the store's files included, would fail).
      const int64_t open = connections.load();
      if (open >= max_connections) {
        WarnDescriptorPressure(last_exhausted, "at the connection limit", open);
        ShedIdle(static_cast<size_t>(open - max_connections + 1));
      }
      asio::co_spawn(socket.get_executor(), Session(std::move(socket)), asio::detached);
    }
  }

  // Writes `response`, then closes the connection without a reset: the client may still be
  // sending a body we refused, and closing with unread bytes would make the kernel send RST
  // before the client reads our answer.
  asio::awaitable<void> AnswerAndClose(beast::tcp_stream& stream, HttpResponse response,
                                       const std::string& request_id, std::string_view route,
                                       std::string_view method, std::string_view path,
                                       SteadyClock::time_point start) {
    const int status = response.status;
    auto message = ToBeast(std::move(response), request_id, 11, false);
    stream.expires_after(std::chrono::seconds(5));
    co_await http::async_write(stream, message, kUseTuple);
    Record(route, status, method, path, request_id, start);
    ErrorCode ignored;
    stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
    std::array<char, 16 * 1024> sink;
    size_t drained = 0;
    stream.expires_after(std::chrono::seconds(1));
    while (drained < 64 * 1024 * 1024) {
      auto [ec, n] = co_await stream.async_read_some(asio::buffer(sink), kUseTuple);
      if (ec) break;
      drained += n;
    }
    stream.close();
  }

  // Parks a request whose handler answered WaitResponse(wait_ms): no thread is held while it
  // waits. The handler runs again (on the background pool) right after a commit through the
  // store, then at growing intervals (kFirstRecheck doubling to kMaxRecheck: projections catch
  // up shortly after a commit, and other processes' commits are seen by polling), until it
  // answers; once the wait has run out (or the server is shutting down) it runs a last time with
  // request.wait_over. Meanwhile the socket is watched: a client that closes its connection ends
  // the wait. Returns the answer, 503 "too_many_waiters" when limits.max_waiters are parked, or
  // nullopt when the client went away (the connection is then to be closed).
  asio::awaitable<std::optional<HttpResponse>> Park(beast::tcp_stream& stream, HttpRequest& request,
                                                    const Handler& handler, int64_t wait_ms,
                                                    SteadyClock::time_point start) {
    const asio::any_io_executor executor = co_await asio::this_coro::executor;
    auto state = std::make_shared<ParkedState>(executor);
    auto id = waiters.Add(TimerWake(state, executor));
    if (!id) {
      nlohmann::json details;
      details["limit"] = context.limits.max_waiters;
      HttpResponse refused = ErrorResponse(
          503, "too_many_waiters",
          "the server already has " + std::to_string(context.limits.max_waiters) +
              " requests waiting (limits.max_waiters); retry later or with a shorter wait",
          &details);
      refused.headers.emplace_back("retry-after", "1");
      co_return refused;
    }
    struct Leave {
      Impl& impl;
      uint64_t id;
      beast::tcp_stream& stream;
      ~Leave() {
        impl.waiters.Remove(id);
        if (impl.context.metrics != nullptr) impl.context.metrics->AddWaitingRequests(-1);
        // Ends the socket watch; its handler then only touches `state`, which it owns a share of.
        ErrorCode ignored;
        stream.socket().cancel(ignored);
      }
    } leave{*this, *id, stream};
    if (context.metrics != nullptr) context.metrics->AddWaitingRequests(1);

    const auto deadline = start + std::chrono::milliseconds(wait_ms);
    auto backoff = kFirstRecheck;
    auto last_check = SteadyClock::now();
    auto next_check = last_check + kMaxRecheck;
    bool watching = true;  // false once the client pipelined its next request
    while (true) {
      if (watching && !state->watch_pending) {
        state->watch_pending = true;
        stream.socket().async_wait(tcp::socket::wait_read, [state](ErrorCode ec) {
          state->watch_pending = false;
          if (ec) return;
          state->readable = true;
          state->timer.cancel();
        });
      }
      if (state->readable) {
        state->readable = false;
        char byte = 0;
        const ssize_t n =
            ::recv(stream.socket().native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
          co_return std::nullopt;  // closed or reset: nobody to answer
        }
        if (n > 0) watching = false;  // a pipelined request, left for the next read
        continue;
      }
      const auto now = SteadyClock::now();
      const bool over = now >= deadline || waiters.shutting_down();
      if (state->notified.exchange(false)) {
        next_check = std::min(next_check, last_check + kFirstRecheck);
        backoff = kFirstRecheck;
      }
      if (over || now >= next_check) {
        request.wait_over = over;
        last_check = now;
        HttpResponse response = co_await background_pool.Run(
            [&handler, &request] { return RunHandler(handler, request); });
        if (response.wait_ms <= 0 || over) {
          response.wait_ms = 0;
          co_return response;
        }
        next_check = SteadyClock::now() + backoff;
        backoff = std::min(backoff * 2, kMaxRecheck);
        continue;
      }
      state->timer.expires_at(std::min(deadline, next_check));
      co_await state->timer.async_wait(kUseTuple);
    }
  }

  void Record(std::string_view route, int status, std::string_view method, std::string_view path,
              const std::string& request_id, SteadyClock::time_point start) {
    const auto micros =
        std::chrono::duration_cast<std::chrono::microseconds>(SteadyClock::now() - start).count();
    if (context.metrics != nullptr) {
      context.metrics->RecordRequest(route, status, static_cast<double>(micros) / 1e6);
    }
    LogRequest({.request_id = request_id,
                .method = method,
                .path = path,
                .route = route,
                .status = status,
                .duration_us = micros});
  }

  size_t IdleCount() {
    std::lock_guard lock(idle_mutex);
    return idle.size();
  }

  asio::awaitable<void> Session(tcp::socket socket) {
    beast::tcp_stream stream(std::move(socket));
    beast::flat_buffer buffer;
    const asio::any_io_executor executor = co_await asio::this_coro::executor;
    auto slot = std::make_shared<ConnectionSlot>();
    slot->stream = &stream;
    connections.fetch_add(1);
    struct Detach {
      ConnectionSlot& slot;
      std::atomic<int64_t>& connections;
      ~Detach() {
        slot.stream = nullptr;
        connections.fetch_sub(1);
      }
    } detach{*slot, connections};
    while (true) {
      http::request_parser<http::string_body> parser;
      parser.header_limit(static_cast<uint32_t>(context.limits.max_header_bytes));
      parser.body_limit(context.limits.max_body_bytes);
      stream.expires_after(std::chrono::milliseconds(options.idle_timeout_ms));
      slot->idle = true;
      const uint64_t idle_id = EnterIdle(slot, executor);
      auto [read_ec, read_bytes] =
          co_await http::async_read_header(stream, buffer, parser, kUseTuple);
      LeaveIdle(idle_id);
      slot->idle = false;
      const auto start = SteadyClock::now();
      const std::string request_id = NextRequestId();
      if (!read_ec) {
        if (auto refused = RefuseTransferEncoding(parser.get())) {
          co_await AnswerAndClose(stream, std::move(*refused), request_id, "unmatched", "?", "?",
                                  start);
          co_return;
        }
        std::tie(read_ec, read_bytes) =
            co_await http::async_read(stream, buffer, parser, kUseTuple);
      }
      if (read_ec == http::error::body_limit) {
        nlohmann::json details = {{"limit", context.limits.max_body_bytes}};
        co_await AnswerAndClose(
            stream,
            ErrorResponse(413, "body_too_large",
                          "the request body exceeds limits.max_body_bytes (" +
                              std::to_string(context.limits.max_body_bytes) + " bytes)",
                          &details),
            request_id, "unmatched", "?", "?", start);
        co_return;
      }
      if (read_ec == http::error::header_limit) {
        nlohmann::json details = {{"limit", context.limits.max_header_bytes}};
        co_await AnswerAndClose(
            stream,
            ErrorResponse(431, "headers_too_large",
                          "the request headers exceed limits.max_header_bytes (" +
                              std::to_string(context.limits.max_header_bytes) + " bytes)",
                          &details),
            request_id, "unmatched", "?", "?", start);
        co_return;
      }
      if (read_ec) {
        // A parse error with bytes read is a malformed request worth answering; a closed, reset
        // or idle connection is not.
        if (parser.got_some() &&
            read_ec.category() == ErrorCode(http::error::end_of_stream).category() &&
            read_ec != http::error::end_of_stream && read_ec != http::error::partial_message) {
          co_await AnswerAndClose(stream,
                                  ErrorResponse(400, "invalid_argument",
                                                "malformed HTTP request: " + read_ec.message()),
                                  request_id, "unmatched", "?", "?", start);
        }
        co_return;
      }
      in_flight.fetch_add(1);
      struct InFlight {
        std::atomic<int64_t>& count;
        ~InFlight() { count.fetch_sub(1); }
      } in_flight_guard{in_flight};

      auto& message = parser.get();
      const bool keep_alive = message.keep_alive() && !shutting_down.load();
      HttpRequest request;
      request.method = std::string(message.method_string());
      request.request_id = request_id;
      std::string route_name = "unmatched";
      auto respond = [&](HttpResponse response) -> asio::awaitable<bool> {
        const int status = response.status;
        auto out = ToBeast(std::move(response), request_id, message.version(), keep_alive);
        stream.expires_after(std::chrono::milliseconds(options.sse.write_timeout_ms));
        auto [write_ec, written] = co_await http::async_write(stream, out, kUseTuple);
        stream.expires_never();
        Record(route_name, status, request.method, request.path, request_id, start);
        co_return !write_ec && keep_alive;
      };

      if (shutting_down.load()) {
        co_await respond(ErrorResponse(503, "shutting_down", "the server is shutting down"));
        break;
      }
      auto target = DecodeTarget(message.target());
      if (!target.ok()) {
        request.path = std::string(message.target().substr(0, 200));
        if (!co_await respond(ErrorFromStatus(target.status()))) break;
        continue;
      }
      request.path = std::move(target->path);
      request.query = std::move(target->query);
      for (const auto& field : message) {
        std::string name(field.name_string());
        for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        request.headers.emplace_back(std::move(name), std::string(field.value()));
      }
      request.body = std::move(message.body());
      request.role = auth.RoleOf(request.Header("authorization"));

      bool path_known = false;
      auto match = router.Match(request.method, request.path, &path_known);
      if (!match) {
        HttpResponse response;
        if (path_known) {
          nlohmann::json allowed = nlohmann::json::array();
          std::string allow_header;
          for (std::string_view method : kMethods) {
            if (!router.Match(method, request.path, nullptr)) continue;
            allowed.push_back(method);
            if (!allow_header.empty()) allow_header += ", ";
            allow_header += method;
          }
          nlohmann::json details = {{"allowed", allowed}};
          response = ErrorResponse(
              405, "method_not_allowed",
              "method " + request.method + " is not allowed on " + request.path, &details);
          response.headers.emplace_back("allow", std::move(allow_header));
        } else {
          response = ErrorResponse(404, "not_found", "no route for " + request.path);
        }
        if (!co_await respond(std::move(response))) break;
        continue;
      }
      route_name = match->route->name;
      request.path_params = std::move(match->path_params);
      if (request.role < match->route->min_role) {
        HttpResponse response;
        if (request.role == Role::kNone) {
          response = ErrorResponse(401, "unauthorized",
                                   "this route needs a bearer token (Authorization: Bearer "
                                   "TOKEN) with role " +
                                       std::string(RoleName(match->route->min_role)));
        } else {
          nlohmann::json details = {{"required_role", RoleName(match->route->min_role)},
                                    {"role", RoleName(request.role)}};
          response =
              ErrorResponse(403, "forbidden",
                            "route " + route_name + " needs role " +
                                std::string(RoleName(match->route->min_role)) +
                                ", the token has role " + std::string(RoleName(request.role)),
                            &details);
        }
        if (!co_await respond(std::move(response))) break;
        continue;
      }
      if (match->route->streaming) {
        auto refused =
            co_await ServeSubscription(stream, request, context, hub, background_pool, options.sse);
        if (refused) {
          co_await respond(std::move(*refused));
        } else {
          Record(route_name, 200, request.method, request.path, request_id, start);
        }
        co_return;
      }
      const Handler* handler = match->handler;
      request.park_waits = true;
      HttpResponse response =
          co_await pool.Run([handler, &request] { return RunHandler(*handler, request); });
      if (response.wait_ms > 0) {
        auto parked = co_await Park(stream, request, *handler, response.wait_ms, start);
        if (!parked) {
          Record(route_name, kClientClosedRequest, request.method, request.path, request_id, start);
          break;
        }
        response = std::move(*parked);
      }
      if (!co_await respond(std::move(response))) break;
    }
    ErrorCode ignored;
    stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
    stream.close();
  }
};

HttpServer::HttpServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

HttpServer::~HttpServer() { Stop(0); }

Result<std::unique_ptr<HttpServer>> HttpServer::Start(const Router& router, ServerContext& context,
                                                      const Authenticator& auth,
                                                      HttpServerOptions options) {
  if (options.io_threads < 1 || options.worker_threads < 1) {
    return InvalidArgumentError("io_threads and worker_threads must be at least 1 (got " +
                                std::to_string(options.io_threads) + " and " +
                                std::to_string(options.worker_threads) + ")");
  }
  if (context.store == nullptr) return InvalidArgumentError("the server needs a store");
  ErrorCode ec;
  std::string host = options.host == "localhost" ? "127.0.0.1" : options.host;
  auto address = asio::ip::make_address(host, ec);
  if (ec) {
    return InvalidArgumentError("listen host '" + options.host + "' is not an IP address");
  }
  const std::string where = options.host + ":" + std::to_string(options.port);
  auto impl = std::make_unique<Impl>(router, context, auth, options);
  tcp::endpoint endpoint(address, options.port);
  impl->acceptor.open(endpoint.protocol(), ec);
  if (!ec) impl->acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) impl->acceptor.bind(endpoint, ec);
  if (!ec) impl->acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return UnavailableError("cannot listen on " + where + ": " + ec.message());
  Impl* raw = impl.get();
  asio::co_spawn(impl->ioc, raw->Accept(), asio::detached);
  for (int i = 0; i < options.io_threads; ++i) {
    impl->io_threads.emplace_back([raw] { raw->ioc.run(); });
  }
  return std::unique_ptr<HttpServer>(new HttpServer(std::move(impl)));
}

uint16_t HttpServer::port() const {
  ErrorCode ec;
  auto endpoint = impl_->acceptor.local_endpoint(ec);
  return ec ? impl_->options.port : endpoint.port();
}

void HttpServer::BeginShutdown() {
  if (impl_->shutting_down.exchange(true)) return;
  asio::post(impl_->acceptor.get_executor(), [impl = impl_.get()] {
    ErrorCode ignored;
    impl->acceptor.close(ignored);
  });
  impl_->hub.Shutdown();
  impl_->waiters.Shutdown();
}

void HttpServer::Stop(int64_t timeout_ms) {
  BeginShutdown();
  if (impl_->stopped.exchange(true)) return;
  // Poll rather than wait on a condition: in_flight changes on io threads in many places, and
  // the wait is at most shutdown_timeout_ms once per process.
  const auto deadline = SteadyClock::now() + std::chrono::milliseconds(timeout_ms);
  while (impl_->in_flight.load() > 0 && SteadyClock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  impl_->work.reset();
  impl_->ioc.stop();
  for (auto& thread : impl_->io_threads) thread.join();
  impl_->pool.Join();
  impl_->background_pool.Join();
}

int64_t HttpServer::in_flight() const { return impl_->in_flight.load(); }

int64_t HttpServer::waiting() const { return static_cast<int64_t>(impl_->waiters.size()); }

}  // namespace triad::server
