#include "server/http_client.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <cctype>
#include <charconv>
#include <chrono>
#include <poll.h>
#include <system_error>
#include <utility>

namespace triad::server {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using ErrorCode = boost::system::error_code;

std::string Lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

bool HasHeader(const HeaderList& headers, std::string_view lower_name) {
  return std::any_of(headers.begin(), headers.end(),
                     [&](const auto& h) { return Lower(h.first) == lower_name; });
}

// Resolves and connects `stream` within `timeout_ms`.
Status ConnectStream(asio::io_context& io, beast::tcp_stream& stream, const std::string& host,
                     uint16_t port, int64_t timeout_ms) {
  const std::string endpoint = host + ":" + std::to_string(port);
  ErrorCode ec;
  tcp::resolver resolver(io);
  auto endpoints = resolver.resolve(host, std::to_string(port), ec);
  if (ec)
    return Status(StatusCode::kUnavailable, "cannot resolve " + endpoint + ": " + ec.message());
  stream.expires_after(std::chrono::milliseconds(timeout_ms));
  stream.connect(endpoints, ec);
  stream.expires_never();
  if (ec == beast::error::timeout) {
    return Status(StatusCode::kDeadlineExceeded, "connecting to " + endpoint + " took more than " +
                                                     std::to_string(timeout_ms) + " ms");
  }
  if (ec)
    return Status(StatusCode::kUnavailable, "cannot connect to " + endpoint + ": " + ec.message());
  stream.socket().set_option(tcp::no_delay(true), ec);
  return Status::OK();
}

http::request<http::string_body> BuildRequest(std::string_view method, const std::string& target,
                                              const std::string& host, std::string_view body,
                                              const HeaderList& headers,
                                              const ClientOptions& options) {
  http::request<http::string_body> request;
  request.method_string(std::string(method));
  request.target(target);
  request.version(11);
  request.set(http::field::host, host);
  request.set(http::field::user_agent, "triad");
  if (!options.bearer_token.empty()) {
    request.set(http::field::authorization, "Bearer " + options.bearer_token);
  }
  for (const auto& [name, value] : headers) request.set(name, value);
  if (!body.empty() && !HasHeader(headers, "content-type")) {
    request.set(http::field::content_type, "application/json");
  }
  request.body() = std::string(body);
  request.prepare_payload();
  return request;
}

ClientResponse ToClientResponse(http::response<http::string_body>&& response) {
  ClientResponse out;
  out.status = static_cast<int>(response.result_int());
  for (const auto& field : response) {
    out.headers.emplace_back(Lower(field.name_string()), std::string(field.value()));
  }
  if (auto type = out.Header("content-type")) out.content_type = std::string(*type);
  out.body = std::move(response.body());
  return out;
}

// An error body is short; a proxy's HTML page may not be. Messages stay one readable line.
constexpr size_t kMaxQuotedBody = 200;

// The library code an error `code` of docs/http-api.md stands for.
std::optional<StatusCode> CodeOfErrorName(std::string_view name) {
  static const std::pair<std::string_view, StatusCode> kCodes[] = {
      {"wrong_expected_version", StatusCode::kAborted},
      {"not_found", StatusCode::kNotFound},
      {"invalid_json", StatusCode::kInvalidArgument},
      {"invalid_argument", StatusCode::kInvalidArgument},
      {"too_many_events", StatusCode::kInvalidArgument},
      {"body_too_large", StatusCode::kInvalidArgument},
      {"headers_too_large", StatusCode::kInvalidArgument},
      {"already_exists", StatusCode::kAlreadyExists},
      {"failed_precondition", StatusCode::kFailedPrecondition},
      {"unauthorized", StatusCode::kFailedPrecondition},
      {"forbidden", StatusCode::kFailedPrecondition},
      {"method_not_allowed", StatusCode::kFailedPrecondition},
      {"deadline_exceeded", StatusCode::kDeadlineExceeded},
      {"resource_exhausted", StatusCode::kResourceExhausted},
      {"too_many_subscribers", StatusCode::kResourceExhausted},
      {"unavailable", StatusCode::kUnavailable},
      {"shutting_down", StatusCode::kUnavailable},
      {"cancelled", StatusCode::kUnavailable},
      {"internal", StatusCode::kInternal},
  };
  for (const auto& [known, code] : kCodes) {
    if (known == name) return code;
  }
  return std::nullopt;
}

// The library code of an HTTP status whose body is not an error object (a proxy's page).
StatusCode CodeOfHttpStatus(int http_status) {
  switch (http_status) {
    case 400:
    case 413:
    case 431:
      return StatusCode::kInvalidArgument;
    case 404:
      return StatusCode::kNotFound;
    case 408:
      return StatusCode::kDeadlineExceeded;
    case 429:
      return StatusCode::kResourceExhausted;
    case 500:
      return StatusCode::kInternal;
    default:
      break;
  }
  return http_status >= 500 ? StatusCode::kUnavailable : StatusCode::kFailedPrecondition;
}

std::string QuoteBody(std::string_view body) {
  std::string text(body.substr(0, kMaxQuotedBody));
  for (char& c : text) {
    if (static_cast<unsigned char>(c) < 0x20) c = ' ';
  }
  if (body.size() > kMaxQuotedBody) text += "...";
  return text;
}

}  // namespace

Result<Url> ParseUrl(std::string_view url) {
  const std::string text(url);
  auto bad = [&](std::string_view why) {
    return Status(
        StatusCode::kInvalidArgument,
        "invalid server URL '" + text + "': " + std::string(why) + " (expected http://HOST:PORT)");
  };
  std::string_view rest = url;
  if (const size_t scheme = rest.find("://"); scheme != std::string_view::npos) {
    if (Lower(rest.substr(0, scheme)) != "http") {
      return bad("only http is supported; put TLS in a reverse proxy");
    }
    rest.remove_prefix(scheme + 3);
  }
  Url out;
  const size_t slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  if (slash != std::string_view::npos) {
    std::string_view base = rest.substr(slash);
    while (!base.empty() && base.back() == '/') base.remove_suffix(1);
    out.base_path = std::string(base);
  }
  std::string_view host = authority;
  std::optional<std::string_view> port_text;
  if (authority.starts_with('[')) {
    // An IPv6 literal: "[::1]:7700". The brackets are URL syntax, not part of the address.
    const size_t close = authority.find(']');
    if (close == std::string_view::npos) return bad("unclosed '[' in the host");
    host = authority.substr(1, close - 1);
    const std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return bad("junk after ']'");
      port_text = after.substr(1);
    }
  } else if (const size_t colon = authority.rfind(':'); colon != std::string_view::npos) {
    host = authority.substr(0, colon);
    port_text = authority.substr(colon + 1);
  }
  if (port_text.has_value()) {
    unsigned port = 0;
    const char* end = port_text->data() + port_text->size();
    const auto [ptr, ec] = std::from_chars(port_text->data(), end, port);
    if (ec != std::errc() || ptr != end || port == 0 || port > 65535) {
      return bad("bad port '" + std::string(*port_text) + "'");
    }
    out.port = static_cast<uint16_t>(port);
  }
  if (host.empty()) return bad("no host");
  out.host = std::string(host);
  return out;
}

std::optional<std::string_view> ClientResponse::Header(std::string_view lower_case_name) const {
  for (const auto& [name, value] : headers) {
    if (name == lower_case_name) return value;
  }
  return std::nullopt;
}

struct HttpClient::Impl {
  std::string host;
  uint16_t port = 0;
  std::string base_path;
  ClientOptions options;
  asio::io_context io;
  std::optional<beast::tcp_stream> stream;
  beast::flat_buffer buffer;

  Status Open() {
    stream.emplace(io);
    buffer.clear();
    return ConnectStream(io, *stream, host, port, options.connect_timeout_ms);
  }

  // One attempt. `sent_nothing_read` tells the caller the failure happened before any byte of
  // the response arrived, so a stale kept-alive connection can be retried safely.
  Result<ClientResponse> Exchange(http::request<http::string_body>& request,
                                  bool& nothing_received) {
    nothing_received = true;
    ErrorCode ec;
    stream->expires_after(std::chrono::milliseconds(options.request_timeout_ms));
    http::write(*stream, request, ec);
    if (!ec) {
      http::response_parser<http::string_body> parser;
      parser.body_limit(boost::none);
      parser.header_limit(1024 * 1024);
      http::read(*stream, buffer, parser, ec);
      nothing_received = !parser.got_some();
      if (!ec) {
        stream->expires_never();
        auto response = parser.release();
        const bool keep_alive = response.keep_alive();
        ClientResponse out = ToClientResponse(std::move(response));
        if (!keep_alive) stream.reset();
        return out;
      }
    }
    stream.reset();
    const std::string endpoint = host + ":" + std::to_string(port);
    if (ec == beast::error::timeout) {
      nothing_received = false;  // the server may be processing it: never resend
      return Status(StatusCode::kDeadlineExceeded, "no answer from " + endpoint + " within " +
                                                       std::to_string(options.request_timeout_ms) +
                                                       " ms");
    }
    return Status(StatusCode::kUnavailable,
                  "the connection to " + endpoint + " failed: " + ec.message());
  }
};

HttpClient::HttpClient(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
HttpClient::~HttpClient() = default;

Result<std::unique_ptr<HttpClient>> HttpClient::Connect(std::string host, uint16_t port,
                                                        ClientOptions options) {
  auto impl = std::make_unique<Impl>();
  impl->host = std::move(host);
  impl->port = port;
  impl->options = std::move(options);
  if (Status s = impl->Open(); !s.ok()) return s;
  return std::unique_ptr<HttpClient>(new HttpClient(std::move(impl)));
}

Result<std::unique_ptr<HttpClient>> HttpClient::FromUrl(std::string_view url,
                                                        ClientOptions options) {
  auto parsed = ParseUrl(url);
  if (!parsed.ok()) return parsed.status();
  auto client = Connect(parsed->host, parsed->port, std::move(options));
  if (client.ok()) (*client)->impl_->base_path = parsed->base_path;
  return client;
}

Result<ClientResponse> HttpClient::Send(std::string_view method, std::string_view target,
                                        std::string_view body, const HeaderList& headers) {
  Impl& impl = *impl_;
  auto request = BuildRequest(method, impl.base_path + std::string(target), impl.host, body,
                              headers, impl.options);
  const bool reused = impl.stream.has_value();
  if (!reused) {
    if (Status s = impl.Open(); !s.ok()) return s;
  }
  bool nothing_received = false;
  auto response = impl.Exchange(request, nothing_received);
  if (response.ok() || !reused || !nothing_received) return response;
  // The server closed the idle kept-alive connection before reading the request: re-send once.
  if (Status s = impl.Open(); !s.ok()) return s;
  return impl.Exchange(request, nothing_received);
}

std::string HttpClient::Endpoint() const { return impl_->host + ":" + std::to_string(impl_->port); }

struct SseStream::Impl {
  asio::io_context io;
  std::optional<beast::tcp_stream> stream;
  // Bytes received and not yet returned as events.
  std::string pending;
  bool closed = false;

  // Removes one complete event (up to a blank line) from `pending`; nullopt when none is whole.
  std::optional<SseEvent> TakeEvent() {
    for (;;) {
      size_t end = pending.find("\n\n");
      if (end == std::string::npos) return std::nullopt;
      std::string block = pending.substr(0, end);
      pending.erase(0, end + 2);
      SseEvent event;
      bool any_field = false;
      bool comment = false;
      size_t start = 0;
      while (start <= block.size()) {
        size_t newline = block.find('\n', start);
        if (newline == std::string::npos) newline = block.size();
        std::string_view line(block.data() + start, newline - start);
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        start = newline + 1;
        if (line.empty()) continue;
        if (line.front() == ':') {
          comment = true;
          continue;
        }
        const size_t colon = line.find(':');
        std::string_view field = line.substr(0, colon);
        std::string_view value = colon == std::string_view::npos ? "" : line.substr(colon + 1);
        if (!value.empty() && value.front() == ' ') value.remove_prefix(1);
        any_field = true;
        if (field == "id") {
          event.id = std::string(value);
        } else if (field == "event") {
          event.event = std::string(value);
        } else if (field == "data") {
          if (!event.data.empty()) event.data += '\n';
          event.data += value;
        }
      }
      if (any_field) {
        if (event.event.empty()) event.event = "message";
        return event;
      }
      if (comment) {
        SseEvent heartbeat;
        heartbeat.heartbeat = true;
        return heartbeat;
      }
    }
  }
};

SseStream::SseStream(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
SseStream::~SseStream() = default;

Result<std::unique_ptr<SseStream>> SseStream::Open(const Url& url, std::string_view target,
                                                   std::optional<std::string> last_event_id,
                                                   ClientOptions options) {
  auto impl = std::make_unique<Impl>();
  impl->stream.emplace(impl->io);
  if (Status s =
          ConnectStream(impl->io, *impl->stream, url.host, url.port, options.connect_timeout_ms);
      !s.ok()) {
    return s;
  }
  HeaderList headers = {{"Accept", "text/event-stream"}};
  if (last_event_id.has_value()) headers.emplace_back("Last-Event-ID", *last_event_id);
  auto request =
      BuildRequest("GET", url.base_path + std::string(target), url.host, {}, headers, options);
  ErrorCode ec;
  beast::flat_buffer buffer;
  impl->stream->expires_after(std::chrono::milliseconds(options.request_timeout_ms));
  http::write(*impl->stream, request, ec);
  http::response_parser<http::string_body> parser;
  parser.body_limit(boost::none);
  if (!ec) http::read_header(*impl->stream, buffer, parser, ec);
  const std::string endpoint = url.host + ":" + std::to_string(url.port);
  if (ec) {
    return Status(StatusCode::kUnavailable,
                  "subscribing at " + endpoint + " failed: " + ec.message());
  }
  if (parser.get().result_int() != 200) {
    http::read(*impl->stream, buffer, parser, ec);
    return ErrorOfResponse(ToClientResponse(parser.release()));
  }
  impl->stream->expires_never();
  // The server sends the event stream unframed (Connection: close), so whatever followed the
  // header in the buffer is the start of the stream.
  const auto data = buffer.data();
  impl->pending.assign(static_cast<const char*>(data.data()), data.size());
  return std::unique_ptr<SseStream>(new SseStream(std::move(impl)));
}

Result<SseEvent> SseStream::Next(int64_t timeout_ms) {
  Impl& impl = *impl_;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  for (;;) {
    if (auto event = impl.TakeEvent()) return *std::move(event);
    if (impl.closed || !impl.stream.has_value()) {
      return Status(StatusCode::kUnavailable, "the event stream is closed");
    }
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    // poll() rather than a stream timeout: Beast closes a stream whose timer fires, and a
    // quiet stream must stay usable after a timed-out Next().
    pollfd fd{.fd = impl.stream->socket().native_handle(), .events = POLLIN, .revents = 0};
    const int ready = ::poll(&fd, 1, static_cast<int>(std::max<int64_t>(0, left.count())));
    if (ready == 0) {
      return Status(StatusCode::kDeadlineExceeded,
                    "no event within " + std::to_string(timeout_ms) + " ms");
    }
    char chunk[16 * 1024];
    ErrorCode ec;
    const size_t n = impl.stream->socket().read_some(asio::buffer(chunk), ec);
    if (ec) {
      impl.closed = true;
      continue;  // return the events still pending, then kUnavailable
    }
    impl.pending.append(chunk, n);
  }
}

void SseStream::Close() {
  if (impl_->stream.has_value()) {
    ErrorCode ec;
    impl_->stream->socket().shutdown(tcp::socket::shutdown_both, ec);
    impl_->stream->socket().close(ec);
  }
  impl_->closed = true;
  impl_->pending.clear();
}

Status ErrorOfResponse(const ClientResponse& response) {
  const std::string_view body = response.body;
  const int http_status = response.status;
  const nlohmann::json json = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  const bool is_error = json.is_object() && json.contains("error") && json["error"].is_object() &&
                        json["error"].value("code", nlohmann::json()).is_string();
  if (!is_error) {
    return {CodeOfHttpStatus(http_status), "server answered HTTP " + std::to_string(http_status) +
                                               (body.empty() ? "" : ": " + QuoteBody(body))};
  }
  const nlohmann::json& error = json["error"];
  const std::string name = error["code"].get<std::string>();
  std::string message = error.value("message", nlohmann::json()).is_string()
                            ? error["message"].get<std::string>()
                            : name;
  if (message.empty()) message = name;
  Status status(CodeOfErrorName(name).value_or(CodeOfHttpStatus(http_status)), std::move(message));
  if (status.code() == StatusCode::kAborted && error.contains("current_version") &&
      error["current_version"].is_number_integer()) {
    status = status.WithCurrentVersion(error["current_version"].get<int64_t>());
  }
  return status;
}

}  // namespace triad::server
