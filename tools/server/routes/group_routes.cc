#include "server/routes/group_routes.h"

#include "triad/event_json.h"
#include "triad/status.h"

#include <algorithm>
#include <cstdint>
#include <functional>
#include <limits>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "server/json_body.h"

namespace triad::server {
namespace {

constexpr int64_t kMaxInt = std::numeric_limits<int64_t>::max();
// Millisecond settings are at most the library's bound (24 h), named in the 400 for a larger one.
constexpr int64_t kMaxMs = kMaxGroupDurationUs / 1000;
// A poll's wait_ms may be anything; it is capped by limits.max_wait_ms (microseconds never
// overflow below this).
constexpr int64_t kMaxWaitMs = kMaxInt / 1000;
constexpr int64_t kDefaultParkedLimit = 1000;

HttpResponse Unavailable() {
  return ErrorResponse(503, "unavailable", "consumer groups are not enabled on this server");
}

nlohmann::json SettingsJson(const GroupSettings& s) {
  return {{"event_types", s.event_types},
          {"categories", s.categories},
          {"start_position", s.start_position},
          {"max_attempts", s.max_attempts},
          {"ack_timeout_ms", s.ack_timeout_us / 1000},
          {"member_lease_ms", s.member_lease_us / 1000},
          {"retry_backoff_ms", s.retry_backoff_us / 1000},
          {"max_retry_backoff_ms", s.max_retry_backoff_us / 1000}};
}

// Reads an optional millisecond member into `*us`.
Status MillisInto(const nlohmann::json& body, std::string_view member, int64_t min, int64_t* us) {
  auto ms = OptionalInt(body, member, min, kMaxMs);
  if (!ms.ok()) return ms.status();
  if (ms->has_value()) *us = **ms * 1000;
  return Status::OK();
}

Result<GroupSettings> ParseSettings(const HttpRequest& request) {
  auto body = ParseObjectBody(
      request,
      {"event_types", "categories", "start_position", "max_attempts", "ack_timeout_ms",
       "member_lease_ms", "retry_backoff_ms", "max_retry_backoff_ms"},
      /*empty_is_object=*/true);
  if (!body.ok()) return body.status();
  GroupSettings s;
  auto types = OptionalStringArray(*body, "event_types");
  if (!types.ok()) return types.status();
  if (types->has_value()) s.event_types = std::move(**types);
  auto categories = OptionalStringArray(*body, "categories");
  if (!categories.ok()) return categories.status();
  if (categories->has_value()) s.categories = std::move(**categories);
  auto start = OptionalInt(*body, "start_position", 0, kMaxInt);
  if (!start.ok()) return start.status();
  s.start_position = start->value_or(s.start_position);
  auto attempts = OptionalInt(*body, "max_attempts", 1, kMaxGroupAttempts);
  if (!attempts.ok()) return attempts.status();
  s.max_attempts = static_cast<int32_t>(attempts->value_or(s.max_attempts));
  if (Status st = MillisInto(*body, "ack_timeout_ms", 1, &s.ack_timeout_us); !st.ok()) return st;
  if (Status st = MillisInto(*body, "member_lease_ms", 1, &s.member_lease_us); !st.ok()) return st;
  if (Status st = MillisInto(*body, "retry_backoff_ms", 0, &s.retry_backoff_us); !st.ok()) {
    return st;
  }
  if (Status st = MillisInto(*body, "max_retry_backoff_ms", 0, &s.max_retry_backoff_us); !st.ok()) {
    return st;
  }
  return s;
}

// The `member` of a poll, ack or nack body (required).
Result<std::string> RequiredMember(const nlohmann::json& body) {
  auto member = OptionalString(body, "member");
  if (!member.ok()) return member.status();
  if (!member->has_value()) return InvalidArgumentError("'member' is required");
  return std::move(**member);
}

Result<std::vector<Position>> RequiredPositions(const nlohmann::json& body) {
  auto positions = OptionalIntArray(body, "positions", 1, kMaxInt);
  if (!positions.ok()) return positions.status();
  if (!positions->has_value()) return InvalidArgumentError("'positions' is required");
  return std::move(**positions);
}

HttpResponse Create(ServerContext& context, const HttpRequest& request) {
  auto settings = ParseSettings(request);
  if (!settings.ok()) return BodyErrorResponse(settings.status());
  const std::string name(request.Param("group"));
  auto created = context.groups->Create(name, *settings);
  if (!created.ok()) return ErrorFromStatus(created.status());
  auto info = context.groups->Get(name);
  if (!info.ok()) return ErrorFromStatus(info.status());
  nlohmann::json body = GroupInfoJson(*info);
  body["created"] = *created;
  return JsonResponse(*created ? 201 : 200, body);
}

HttpResponse GetOne(ServerContext& context, const HttpRequest& request) {
  auto info = context.groups->Get(request.Param("group"));
  if (!info.ok()) return ErrorFromStatus(info.status());
  return JsonResponse(200, GroupInfoJson(*info));
}

HttpResponse ListAll(ServerContext& context) {
  auto infos = context.groups->List();
  if (!infos.ok()) return ErrorFromStatus(infos.status());
  nlohmann::json list = nlohmann::json::array();
  for (const GroupInfo& info : *infos) list.push_back(GroupInfoJson(info));
  return JsonResponse(200, nlohmann::json{{"groups", std::move(list)}});
}

HttpResponse DeleteOne(ServerContext& context, const HttpRequest& request) {
  const std::string name(request.Param("group"));
  if (Status s = context.groups->Delete(name); !s.ok()) return ErrorFromStatus(s);
  return JsonResponse(200, nlohmann::json{{"name", name}, {"deleted", true}});
}

HttpResponse Poll(ServerContext& context, const HttpRequest& request) {
  auto body = ParseObjectBody(request, {"member", "max", "wait_ms"});
  if (!body.ok()) return BodyErrorResponse(body.status());
  auto member = RequiredMember(*body);
  if (!member.ok()) return ErrorFromStatus(member.status());
  auto max = OptionalInt(*body, "max", 1, 1000);
  if (!max.ok()) return ErrorFromStatus(max.status());
  auto wait_ms = OptionalInt(*body, "wait_ms", 0, kMaxWaitMs);
  if (!wait_ms.ok()) return ErrorFromStatus(wait_ms.status());
  // A longer wait is capped rather than refused: the client simply polls again.
  const int64_t wait = std::min(wait_ms->value_or(0), context.limits.max_wait_ms);
  PollOptions options{.max_messages = static_cast<size_t>(max->value_or(10)),
                      .wait_us = BlockingWaitUs(request, wait * 1000)};
  auto messages = context.groups->Poll(request.Param("group"), *member, options);
  if (!messages.ok()) return ErrorFromStatus(messages.status());
  // Nothing yet: the transport parks the request (no worker thread) and polls again later.
  if (messages->empty() && ShouldPark(request, wait * 1000)) return WaitResponse(wait * 1000);
  // Events are rendered by EventToJson, the envelope every route serves; no re-parse.
  HttpResponse response;
  response.body = "{\"messages\":[";
  bool first = true;
  for (const GroupMessage& m : *messages) {
    if (!first) response.body += ',';
    first = false;
    response.body += "{\"position\":" + std::to_string(m.event.position) +
                     ",\"attempt\":" + std::to_string(m.attempt) +
                     ",\"event\":" + EventToJson(m.event) + "}";
  }
  response.body += "]}";
  return response;
}

HttpResponse Ack(ServerContext& context, const HttpRequest& request) {
  auto body = ParseObjectBody(request, {"member", "positions"});
  if (!body.ok()) return BodyErrorResponse(body.status());
  auto member = RequiredMember(*body);
  if (!member.ok()) return ErrorFromStatus(member.status());
  auto positions = RequiredPositions(*body);
  if (!positions.ok()) return ErrorFromStatus(positions.status());
  auto acked = context.groups->Ack(request.Param("group"), *member, *positions);
  if (!acked.ok()) return ErrorFromStatus(acked.status());
  return JsonResponse(200, nlohmann::json{{"acked", *acked}});
}

HttpResponse Nack(ServerContext& context, const HttpRequest& request) {
  auto body = ParseObjectBody(request, {"member", "positions", "reason", "park"});
  if (!body.ok()) return BodyErrorResponse(body.status());
  auto member = RequiredMember(*body);
  if (!member.ok()) return ErrorFromStatus(member.status());
  auto positions = RequiredPositions(*body);
  if (!positions.ok()) return ErrorFromStatus(positions.status());
  auto reason = OptionalString(*body, "reason");
  if (!reason.ok()) return ErrorFromStatus(reason.status());
  auto park = OptionalBool(*body, "park");
  if (!park.ok()) return ErrorFromStatus(park.status());
  auto nacked = context.groups->Nack(request.Param("group"), *member, *positions,
                                     reason->value_or(""), park->value_or(false));
  if (!nacked.ok()) return ErrorFromStatus(nacked.status());
  return JsonResponse(200, nlohmann::json{{"nacked", *nacked}});
}

HttpResponse ListParked(ServerContext& context, const HttpRequest& request) {
  auto from = QueryInt(request, "from_position", 0, kMaxInt);
  if (!from.ok()) return ErrorFromStatus(from.status());
  auto limit = QueryInt(request, "limit", 1, context.limits.max_read_limit);
  if (!limit.ok()) return ErrorFromStatus(limit.status());
  auto parked = context.groups->ListParked(
      request.Param("group"), from->value_or(0),
      static_cast<size_t>(
          limit->value_or(std::min(kDefaultParkedLimit, context.limits.max_read_limit))));
  if (!parked.ok()) return ErrorFromStatus(parked.status());
  nlohmann::json list = nlohmann::json::array();
  for (const ParkedMessage& m : *parked) {
    list.push_back({{"position", m.position},
                    {"stream", m.stream},
                    {"type", m.type},
                    {"attempts", m.attempts},
                    {"last_error", m.last_error},
                    {"parked_at", FormatTimestamp(m.parked_at_us)}});
  }
  return JsonResponse(200, nlohmann::json{{"parked", std::move(list)}});
}

HttpResponse Replay(ServerContext& context, const HttpRequest& request) {
  auto body = ParseObjectBody(request, {"positions"}, /*empty_is_object=*/true);
  if (!body.ok()) return BodyErrorResponse(body.status());
  auto positions = OptionalIntArray(*body, "positions", 1, kMaxInt);
  if (!positions.ok()) return ErrorFromStatus(positions.status());
  // [] replays nothing; only an absent list means "all" (the library reads an empty span so).
  if (positions->has_value() && (*positions)->empty()) {
    return JsonResponse(200, nlohmann::json{{"replayed", 0}});
  }
  const std::vector<Position> chosen = positions->value_or(std::vector<Position>{});
  auto replayed = context.groups->ReplayParked(request.Param("group"), chosen);
  if (!replayed.ok()) return ErrorFromStatus(replayed.status());
  return JsonResponse(200, nlohmann::json{{"replayed", *replayed}});
}

// Wraps a handler so that a server without consumer groups answers 503.
Handler Guard(ServerContext& context, std::function<HttpResponse(HttpRequest&)> handler) {
  return [&context, handler = std::move(handler)](HttpRequest& request) {
    if (context.groups == nullptr) return Unavailable();
    return handler(request);
  };
}

}  // namespace

nlohmann::json GroupInfoJson(const GroupInfo& info) {
  nlohmann::json members = nlohmann::json::array();
  for (const GroupMemberInfo& m : info.members) {
    members.push_back({{"name", m.name},
                       {"last_seen", FormatTimestamp(m.last_seen_us)},
                       {"in_flight", m.in_flight},
                       {"streams", m.streams}});
  }
  return {{"name", info.name},
          {"settings", SettingsJson(info.settings)},
          {"checkpoint", info.checkpoint},
          {"head_position", info.head_position},
          {"in_flight", info.in_flight},
          {"retrying", info.retrying},
          {"parked", info.parked},
          {"members", std::move(members)},
          {"created_at", FormatTimestamp(info.created_at_us)}};
}

void RegisterGroupRoutes(Router& router, ServerContext& context) {
  ServerContext* c = &context;
  router.Add("PUT", "/groups/{group}", Role::kAdmin, "create_group",
             Guard(context, [c](HttpRequest& r) { return Create(*c, r); }));
  router.Add("GET", "/groups/{group}", Role::kRead, "get_group",
             Guard(context, [c](HttpRequest& r) { return GetOne(*c, r); }));
  router.Add("GET", "/groups", Role::kRead, "list_groups",
             Guard(context, [c](HttpRequest&) { return ListAll(*c); }));
  router.Add("DELETE", "/groups/{group}", Role::kAdmin, "delete_group",
             Guard(context, [c](HttpRequest& r) { return DeleteOne(*c, r); }));
  router.Add("POST", "/groups/{group}/poll", Role::kWrite, "group_poll",
             Guard(context, [c](HttpRequest& r) { return Poll(*c, r); }));
  router.Add("POST", "/groups/{group}/ack", Role::kWrite, "group_ack",
             Guard(context, [c](HttpRequest& r) { return Ack(*c, r); }));
  router.Add("POST", "/groups/{group}/nack", Role::kWrite, "group_nack",
             Guard(context, [c](HttpRequest& r) { return Nack(*c, r); }));
  router.Add("GET", "/groups/{group}/parked", Role::kRead, "group_parked",
             Guard(context, [c](HttpRequest& r) { return ListParked(*c, r); }));
  router.Add("POST", "/groups/{group}/parked/replay", Role::kAdmin, "group_replay",
             Guard(context, [c](HttpRequest& r) { return Replay(*c, r); }));
}

}  // namespace triad::server
