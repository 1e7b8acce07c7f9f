#include "server/http_types.h"

#include <nlohmann/json.hpp>

#include <charconv>
#include <limits>
#include <string>
#include <system_error>

namespace triad::server {
namespace {

constexpr std::string_view kRoleNames[] = {"none", "read", "write", "admin"};

struct HttpError {
  int status;
  std::string_view code;
};

HttpError HttpErrorFor(StatusCode code) {
  switch (code) {
    case StatusCode::kInvalidArgument:
      return {400, "invalid_argument"};
    case StatusCode::kNotFound:
      return {404, "not_found"};
    case StatusCode::kAlreadyExists:
      return {409, "already_exists"};
    case StatusCode::kAborted:
      return {409, "wrong_expected_version"};
    case StatusCode::kFailedPrecondition:
      return {409, "failed_precondition"};
    case StatusCode::kDeadlineExceeded:
      return {408, "deadline_exceeded"};
    case StatusCode::kResourceExhausted:
      return {429, "resource_exhausted"};
    case StatusCode::kUnavailable:
      return {503, "unavailable"};
    case StatusCode::kCancelled:
      return {503, "cancelled"};
    case StatusCode::kOk:
    case StatusCode::kDataLoss:
    case StatusCode::kInternal:
      break;
  }
  return {500, "internal"};
}

}  // namespace

int64_t BlockingWaitUs(const HttpRequest& request, int64_t wait_us) {
  return request.park_waits ? 0 : wait_us;
}

bool ShouldPark(const HttpRequest& request, int64_t wait_us) {
  return request.park_waits && !request.wait_over && wait_us > 0;
}

HttpResponse WaitResponse(int64_t wait_us) {
  HttpResponse response;
  response.wait_ms = (wait_us + 999) / 1000;
  return response;
}

std::string_view RoleName(Role role) { return kRoleNames[static_cast<size_t>(role)]; }

std::optional<Role> ParseRole(std::string_view name) {
  for (size_t i = 0; i < std::size(kRoleNames); ++i) {
    if (kRoleNames[i] == name) return static_cast<Role>(i);
  }
  return std::nullopt;
}

std::optional<std::string_view> HttpRequest::Query(std::string_view name) const {
  for (const auto& [key, value] : query) {
    if (key == name) return value;
  }
  return std::nullopt;
}

std::vector<std::string_view> HttpRequest::QueryAll(std::string_view name) const {
  std::vector<std::string_view> values;
  for (const auto& [key, value] : query) {
    if (key == name) values.emplace_back(value);
  }
  return values;
}

std::string_view HttpRequest::Param(std::string_view name) const {
  for (const auto& [key, value] : path_params) {
    if (key == name) return value;
  }
  return {};
}

std::optional<std::string_view> HttpRequest::Header(std::string_view lower_case_name) const {
  for (const auto& [key, value] : headers) {
    if (key == lower_case_name) return value;
  }
  return std::nullopt;
}

HttpResponse JsonResponse(int status, const nlohmann::json& body) {
  // Replace, not throw, on invalid UTF-8: a response must always be produced.
  return HttpResponse{.status = status,
                      .content_type = "application/json",
                      .body = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace),
                      .headers = {}};
}

HttpResponse ErrorResponse(int status, std::string_view code, std::string_view message,
                           const nlohmann::json* details) {
  nlohmann::json error = {{"code", code}, {"message", message}};
  if (details != nullptr && details->is_object()) {
    for (const auto& [key, value] : details->items()) error[key] = value;
  }
  return JsonResponse(status, nlohmann::json{{"error", std::move(error)}});
}

HttpResponse ErrorFromStatus(const Status& status) {
  const HttpError error = HttpErrorFor(status.code());
  nlohmann::json details = nlohmann::json::object();
  if (status.current_version().has_value()) details["current_version"] = *status.current_version();
  return ErrorResponse(error.status, error.code, status.message(), &details);
}

Result<std::optional<int64_t>> QueryInt(const HttpRequest& request, std::string_view name,
                                        int64_t min, int64_t max) {
  const auto text = request.Query(name);
  if (!text.has_value()) return std::optional<int64_t>();
  int64_t value = 0;
  const char* end = text->data() + text->size();
  const auto [ptr, ec] = std::from_chars(text->data(), end, value);
  if (ec != std::errc() || ptr != end || text->empty()) {
    return Status(StatusCode::kInvalidArgument, "query parameter '" + std::string(name) +
                                                    "' must be an integer, got '" +
                                                    std::string(*text) + "'");
  }
  if (value < min || value > max) {
    return Status(StatusCode::kInvalidArgument, "query parameter '" + std::string(name) +
                                                    "' must be between " + std::to_string(min) +
                                                    " and " + std::to_string(max) + ", got " +
                                                    std::to_string(value));
  }
  return std::optional<int64_t>(value);
}

Result<std::optional<bool>> QueryBool(const HttpRequest& request, std::string_view name) {
  const auto text = request.Query(name);
  if (!text.has_value()) return std::optional<bool>();
  if (*text == "true" || *text == "1") return std::optional<bool>(true);
  if (*text == "false" || *text == "0") return std::optional<bool>(false);
  return Status(StatusCode::kInvalidArgument, "query parameter '" + std::string(name) +
                                                  "' must be true or false, got '" +
                                                  std::string(*text) + "'");
}

}  // namespace triad::server
