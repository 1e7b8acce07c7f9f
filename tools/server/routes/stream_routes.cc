#include "server/routes/stream_routes.h"

#include "triad/event_json.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <limits>
#include <string>
#include <variant>

#include "server/metrics.h"
#include "server/request_log.h"
#include "server/routes/append_body.h"

namespace triad::server {
namespace {

constexpr int64_t kDefaultLimit = 1000;
constexpr int64_t kMaxPosition = kMaxReadPosition;

HttpResponse RawJson(int status, std::string body) {
  return HttpResponse{
      .status = status, .content_type = "application/json", .body = std::move(body)};
}

// `limit` in [1, max_read_limit], default min(1000, max_read_limit).
Result<size_t> LimitOf(const HttpRequest& request, const Limits& limits) {
  auto limit = QueryInt(request, "limit", 1, limits.max_read_limit);
  if (!limit.ok()) return limit.status();
  return static_cast<size_t>(limit->value_or(std::min(kDefaultLimit, limits.max_read_limit)));
}

void AppendEvents(std::string& out, const std::vector<RecordedEvent>& events) {
  out += "\"events\":[";
  for (size_t i = 0; i < events.size(); ++i) {
    if (i > 0) out += ',';
    out += EventToJson(events[i]);
  }
  out += ']';
}

HttpResponse Append(ServerContext& context, HttpRequest& request) {
  auto parsed = ParseAppendBody(request.body, context.limits.max_events_per_append);
  if (auto* error = std::get_if<HttpResponse>(&parsed)) return std::move(*error);
  const AppendBody& body = std::get<AppendBody>(parsed);
  const std::string_view stream = request.Param("stream");
  auto result = context.store->Append(stream, body.expected, body.events);
  if (!result.ok()) {
    HttpResponse error = ErrorFromStatus(result.status());
    // A storage failure (a full disk, an I/O error) is the operator's business: say why.
    if (error.status >= 500) {
      LogEvent("warn", "append failed",
               {{"stream", std::string(stream)}, {"error", result.status().ToString()}});
    }
    return error;
  }
  if (context.metrics != nullptr) {
    context.metrics->RecordAppend(
        result->already_stored ? 0 : result->last_position - result->first_position + 1);
  }
  return RawJson(result->already_stored ? 200 : 201, AppendResultToJson(stream, *result));
}

HttpResponse ReadStream(ServerContext& context, HttpRequest& request) {
  ReadStreamOptions options;
  auto limit = LimitOf(request, context.limits);
  if (!limit.ok()) return ErrorFromStatus(limit.status());
  options.limit = *limit;
  auto from_version = QueryInt(request, "from_version", 0, kMaxPosition);
  if (!from_version.ok()) return ErrorFromStatus(from_version.status());
  options.from_version = *from_version;
  if (auto direction = request.Query("direction")) {
    if (*direction == "backward") {
      options.direction = ReadDirection::kBackward;
    } else if (*direction != "forward") {
      return ErrorResponse(
          400, "invalid_argument",
          "direction '" + std::string(*direction) + "' is not forward or backward");
    }
  }
  const std::string_view stream = request.Param("stream");
  auto info = context.store->GetStreamInfo(stream);
  if (!info.ok()) return ErrorFromStatus(info.status());
  auto events = context.store->ReadStream(stream, options);
  if (!events.ok()) return ErrorFromStatus(events.status());
  std::string out = "{\"stream\":";
  AppendJsonString(out, stream);
  out += ",\"version\":" + std::to_string(info->version) + ",";
  AppendEvents(out, *events);
  out += '}';
  return RawJson(200, std::move(out));
}

HttpResponse ListStreams(ServerContext& context, HttpRequest& request) {
  ListStreamsOptions options;
  auto limit = LimitOf(request, context.limits);
  if (!limit.ok()) return ErrorFromStatus(limit.status());
  options.limit = *limit;
  options.prefix = std::string(request.Query("prefix").value_or(""));
  options.category = std::string(request.Query("category").value_or(""));
  options.after = std::string(request.Query("after").value_or(""));
  auto streams = context.store->ListStreams(options);
  if (!streams.ok()) return ErrorFromStatus(streams.status());
  nlohmann::json list = nlohmann::json::array();
  for (const StreamInfo& info : *streams) {
    list.push_back({{"name", info.name},
                    {"category", info.category},
                    {"version", info.version},
                    {"first_position", info.first_position},
                    {"last_position", info.last_position},
                    {"event_count", info.event_count},
                    {"last_recorded_at", FormatTimestamp(info.last_recorded_at_us)}});
  }
  nlohmann::json next_after = nullptr;
  if (streams->size() == options.limit && !streams->empty()) next_after = streams->back().name;
  return JsonResponse(200, {{"streams", std::move(list)}, {"next_after", std::move(next_after)}});
}

HttpResponse ReadEvents(ServerContext& context, HttpRequest& request) {
  ReadAllOptions options;
  auto limit = LimitOf(request, context.limits);
  if (!limit.ok()) return ErrorFromStatus(limit.status());
  options.limit = *limit;
  auto from_position = QueryInt(request, "from_position", 0, kMaxPosition);
  if (!from_position.ok()) return ErrorFromStatus(from_position.status());
  options.from_position = std::max<Position>(from_position->value_or(1), 1);
  ReadEventFilters(request, options);
  // The head is read before the scan: a scan that ends early has then seen every event up to
  // it, so the next read may start after it even when the filters skipped its tail.
  auto head = context.store->HeadPosition();
  if (!head.ok()) return ErrorFromStatus(head.status());
  auto events = context.store->ReadAll(options);
  if (!events.ok()) return ErrorFromStatus(events.status());
  Position next = options.from_position;
  if (!events->empty()) next = events->back().position + 1;
  if (events->size() < options.limit) next = std::max(next, *head + 1);
  const Position reported_head = std::max(*head, events->empty() ? 0 : events->back().position);
  std::string out = "{";
  AppendEvents(out, *events);
  out += ",\"next_position\":" + std::to_string(next) +
         ",\"head_position\":" + std::to_string(reported_head) + "}";
  return RawJson(200, std::move(out));
}

}  // namespace

void ReadEventFilters(const HttpRequest& request, ReadAllOptions& options) {
  for (std::string_view type : request.QueryAll("type")) options.types.emplace_back(type);
  for (std::string_view category : request.QueryAll("category")) {
    options.categories.emplace_back(category);
  }
}

void RegisterStreamRoutes(Router& router, ServerContext& context) {
  router.Add("POST", "/streams/{stream}", Role::kWrite, "append",
             [&context](HttpRequest& request) { return Append(context, request); });
  router.Add("GET", "/streams/{stream}", Role::kRead, "read_stream",
             [&context](HttpRequest& request) { return ReadStream(context, request); });
  router.Add("GET", "/streams", Role::kRead, "list_streams",
             [&context](HttpRequest& request) { return ListStreams(context, request); });
  router.Add("GET", "/events", Role::kRead, "read_events",
             [&context](HttpRequest& request) { return ReadEvents(context, request); });
  router.AddStreaming("GET", "/subscribe", Role::kRead, "subscribe");
}

}  // namespace triad::server
