// The server's transport-independent view of HTTP: a parsed request, a response, roles, and the
// JSON error shape of docs/http-api.md. Route handlers see only these types, so they can be
// tested without a socket and compile without Boost.Beast.
//
// Thread-safety: plain values.
#pragma once

#include "triad/result.h"
#include "triad/status.h"

#include <nlohmann/json_fwd.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace triad::server {

// What a caller may do. Ordered: each role includes the ones before it.
enum class Role : uint8_t {
  kNone = 0,   // no valid token; only routes that need no role (GET /health)
  kRead = 1,   // reads, queries, subscriptions
  kWrite = 2,  // + appends, consumer-group poll/ack/nack, client projection batches
  kAdmin = 3,  // + projection and group administration
};

// "none", "read", "write", "admin".
std::string_view RoleName(Role role);
// Parses a role name; nullopt when unknown.
std::optional<Role> ParseRole(std::string_view name);

struct HttpRequest {
  // "GET", "POST", "PUT", "DELETE".
  std::string method;
  // The percent-decoded path without the query string, e.g. "/streams/account-1".
  std::string path;
  // Percent-decoded query parameters in the order given; a name may repeat.
  std::vector<std::pair<std::string, std::string>> query;
  // Filled by the router from the route pattern: {"stream", "account-1"}.
  std::vector<std::pair<std::string, std::string>> path_params;
  // Lower-case header names.
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  // The caller's role, decided by the transport from the bearer token before the handler runs.
  Role role = Role::kNone;
  // A per-request id for logs ("r-1f3a…").
  std::string request_id;
  // Set by the transport (http_server.h, "Waiting requests"): a handler that would wait
  // (min_position, a poll's wait_ms) must not block a worker thread. It checks once and, when
  // what it waits for is not there yet, answers WaitResponse(); the transport then parks the
  // request without a thread and runs the handler again after commits and at short intervals.
  // Unset (handlers called directly, e.g. in tests), handlers wait in place.
  bool park_waits = false;
  // Set by the transport for the last run of a parked request, when its wait has passed (or the
  // server is shutting down): the handler answers as a wait that ran out.
  bool wait_over = false;

  // The first query parameter `name`, or nullopt.
  std::optional<std::string_view> Query(std::string_view name) const;
  // Every value of query parameter `name`, in order.
  std::vector<std::string_view> QueryAll(std::string_view name) const;
  // The path parameter `name`; empty when the route has none of that name.
  std::string_view Param(std::string_view name) const;
  // The first header `lower_case_name`, or nullopt.
  std::optional<std::string_view> Header(std::string_view lower_case_name) const;
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  // Extra headers, e.g. {"location", "/streams/x"}.
  std::vector<std::pair<std::string, std::string>> headers;
  // > 0: not an answer but WaitResponse(): the handler wants to be run again until what it
  // waits for is there, for up to this many milliseconds from the request's arrival.
  int64_t wait_ms = 0;
};

// How long a handler asked to wait `wait_us` may block its own thread: 0 when the transport
// parks waits (request.park_waits), else `wait_us`.
int64_t BlockingWaitUs(const HttpRequest& request, int64_t wait_us);

// True when a handler whose check found nothing yet should answer WaitResponse(): the
// transport parks waits, asked for a wait (`wait_us` > 0), and it has not run out yet.
bool ShouldPark(const HttpRequest& request, int64_t wait_us);

// The answer of a handler that checked once, found nothing yet, and wants to wait `wait_us`
// (rounded up to milliseconds) from the request's arrival (see HttpRequest::park_waits).
HttpResponse WaitResponse(int64_t wait_us);

// A JSON response with `body` serialized.
HttpResponse JsonResponse(int status, const nlohmann::json& body);

// {"error": {"code": code, "message": message, ...details}} with `status`. `details` must be a
// JSON object (or null); its members are merged into "error".
HttpResponse ErrorResponse(int status, std::string_view code, std::string_view message,
                           const nlohmann::json* details = nullptr);

// Maps a library Status to the HTTP error of docs/http-api.md:
//   kInvalidArgument 400 "invalid_argument"; kNotFound 404 "not_found";
//   kAlreadyExists 409 "already_exists"; kAborted 409 "wrong_expected_version" (with
//   current_version); kFailedPrecondition 409 "failed_precondition";
//   kDeadlineExceeded 408 "deadline_exceeded"; kResourceExhausted 429 "resource_exhausted";
//   kUnavailable 503 "unavailable"; kCancelled 503 "cancelled"; kDataLoss/kInternal 500 "internal".
HttpResponse ErrorFromStatus(const Status& status);

// Query-parameter parsing shared by the handlers. Each returns kInvalidArgument naming the
// parameter when the value is malformed or out of [min, max]; nullopt when it is absent.
Result<std::optional<int64_t>> QueryInt(const HttpRequest& request, std::string_view name,
                                        int64_t min, int64_t max);
Result<std::optional<bool>> QueryBool(const HttpRequest& request, std::string_view name);

}  // namespace triad::server
