#include "server/routes/projection_routes.h"

#include "triad/status.h"

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "server/json_body.h"
#include "server/scripted_projections.h"

namespace triad::server {
namespace {

constexpr int64_t kMaxVersion = std::numeric_limits<int32_t>::max();

bool IsScripted(const ServerContext& context, const ProjectionStatus& status) {
  return context.scripts != nullptr &&
         context.scripts->Source(status.name, status.version).has_value();
}

nlohmann::json StatusListJson(const ServerContext& context,
                              const std::vector<ProjectionStatus>& statuses) {
  nlohmann::json list = nlohmann::json::array();
  for (const ProjectionStatus& status : statuses) {
    list.push_back(ProjectionStatusJson(status, IsScripted(context, status)));
  }
  return nlohmann::json{{"projections", std::move(list)}};
}

// The `version` query parameter; 0 (the engine's default: the serving version) when absent.
Result<int32_t> VersionParam(const HttpRequest& request) {
  auto version = QueryInt(request, "version", 1, kMaxVersion);
  if (!version.ok()) return version.status();
  return static_cast<int32_t>(version->value_or(0));
}

HttpResponse ListAll(ServerContext& context) {
  auto statuses = context.engine->ListStatus();
  if (!statuses.ok()) return ErrorFromStatus(statuses.status());
  return JsonResponse(200, StatusListJson(context, *statuses));
}

HttpResponse ListOne(ServerContext& context, const HttpRequest& request) {
  const std::string_view name = request.Param("name");
  auto statuses = context.engine->ListStatus();
  if (!statuses.ok()) return ErrorFromStatus(statuses.status());
  std::vector<ProjectionStatus> mine;
  for (ProjectionStatus& status : *statuses) {
    if (status.name == name) mine.push_back(std::move(status));
  }
  if (mine.empty()) {
    return ErrorResponse(404, "not_found", "no projection '" + std::string(name) + "'");
  }
  return JsonResponse(200, StatusListJson(context, mine));
}

HttpResponse DiffRoute(ServerContext& context, const HttpRequest& request) {
  auto diff = context.engine->Diff(request.Param("name"));
  if (!diff.ok()) return ErrorFromStatus(diff.status());
  nlohmann::json collections = nlohmann::json::array();
  for (const CollectionDiff& c : diff->collections) {
    collections.push_back({{"collection", c.collection},
                           {"old_count", c.old_count},
                           {"new_count", c.new_count},
                           {"only_in_old", c.only_in_old},
                           {"only_in_new", c.only_in_new},
                           {"changed", c.changed},
                           {"sample_ids", c.sample_ids}});
  }
  return JsonResponse(200, {{"name", diff->name},
                            {"old_version", diff->old_version},
                            {"new_version", diff->new_version},
                            {"old_checkpoint", diff->old_checkpoint},
                            {"new_checkpoint", diff->new_checkpoint},
                            {"identical", diff->identical()},
                            {"collections", std::move(collections)}});
}

HttpResponse DeadLettersRoute(ServerContext& context, const HttpRequest& request) {
  auto version = VersionParam(request);
  if (!version.ok()) return ErrorFromStatus(version.status());
  auto letters = context.engine->ListDeadLetters(request.Param("name"), *version);
  if (!letters.ok()) return ErrorFromStatus(letters.status());
  nlohmann::json list = nlohmann::json::array();
  for (const DeadLetter& letter : *letters) {
    list.push_back({{"position", letter.position},
                    {"stream", letter.stream},
                    {"stream_version", letter.stream_version},
                    {"type", letter.event_type},
                    {"kind", letter.kind == DeadLetterKind::kParked ? "parked" : "skipped"},
                    {"error", letter.error},
                    {"attempts", letter.attempts},
                    {"recorded_at", FormatTimestamp(letter.recorded_at_us)}});
  }
  return JsonResponse(200, {{"dead_letters", std::move(list)}});
}

HttpResponse Deploy(ServerContext& context, const HttpRequest& request) {
  if (context.scripts == nullptr) {
    return ErrorResponse(503, "unavailable", "scripted projections are not enabled here");
  }
  auto body = ParseObjectBody(request, {"source", "version"});
  if (!body.ok()) return BodyErrorResponse(body.status());
  auto source = OptionalString(*body, "source");
  if (!source.ok()) return ErrorFromStatus(source.status());
  if (!source->has_value()) {
    return ErrorResponse(400, "invalid_argument", "'source' (the Lua script) is required");
  }
  auto version = OptionalInt(*body, "version", 1, kMaxDeployedVersion);
  if (!version.ok()) return ErrorFromStatus(version.status());
  std::optional<int32_t> wanted;
  if (version->has_value()) wanted = static_cast<int32_t>(**version);
  auto deployed = context.scripts->Deploy(request.Param("name"), **source, wanted);
  if (!deployed.ok()) return ErrorFromStatus(deployed.status());
  return JsonResponse(
      deployed->created ? 201 : 200,
      {{"name", deployed->name}, {"version", deployed->version}, {"created", deployed->created}});
}

HttpResponse Act(ServerContext& context, const HttpRequest& request) {
  const std::string name(request.Param("name"));
  const std::string_view action = request.Param("action");
  auto version = VersionParam(request);
  if (!version.ok()) return ErrorFromStatus(version.status());
  ProjectionEngine& engine = *context.engine;
  Status done;
  if (action == "pause") {
    done = engine.Pause(name, *version);
  } else if (action == "resume") {
    done = engine.Resume(name, *version);
  } else if (action == "reset") {
    done = engine.Reset(name, *version);
  } else if (action == "skip") {
    done = engine.Skip(name, *version);
  } else if (action == "promote") {
    if (*version != 0) {
      return ErrorResponse(400, "invalid_argument",
                           "promote takes no version: it promotes the newest version");
    }
    done = engine.Promote(name);
  } else if (action == "trigger" || action == "replay") {
    const bool trigger = action == "trigger";
    auto body = ParseObjectBody(request, {trigger ? "up_to" : "position"}, true);
    if (!body.ok()) return BodyErrorResponse(body.status());
    auto position =
        OptionalInt(*body, trigger ? "up_to" : "position", 1, std::numeric_limits<int64_t>::max());
    if (!position.ok()) return ErrorFromStatus(position.status());
    if (trigger) {
      done = engine.Trigger(name, *position, *version);
    } else {
      auto replayed = engine.ReplayDeadLetters(name, *position, *version);
      if (!replayed.ok()) return ErrorFromStatus(replayed.status());
    }
  } else {
    return ErrorResponse(404, "not_found",
                         "unknown projection action '" + std::string(action) +
                             "' (actions: pause, resume, reset, skip, trigger, promote, replay)");
  }
  if (!done.ok()) return ErrorFromStatus(done);
  // Promote acts on the newest version, which now serves: report the serving one.
  auto status = engine.GetStatus(name, action == "promote" ? 0 : *version);
  if (!status.ok()) return ErrorFromStatus(status.status());
  return JsonResponse(200, ProjectionStatusJson(*status, IsScripted(context, *status)));
}

}  // namespace

nlohmann::json ProjectionStatusJson(const ProjectionStatus& status, bool scripted) {
  return nlohmann::json{{"name", status.name},
                        {"version", status.version},
                        {"state", ProjectionStateName(status.state)},
                        {"serving", status.serving},
                        {"registered", status.registered},
                        {"leased", status.leased},
                        {"scripted", scripted},
                        {"checkpoint", status.checkpoint},
                        {"head_position", status.head_position},
                        {"lag_events", status.lag_events},
                        {"lag_seconds", status.lag_seconds},
                        {"events_per_second", status.events_per_second},
                        {"last_error", status.last_error},
                        {"last_error_position", status.last_error_position},
                        {"dead_letters", status.dead_letters},
                        {"collections", status.collections},
                        {"error_policy", status.error_policy},
                        {"trigger", status.trigger}};
}

void RegisterProjectionRoutes(Router& router, ServerContext& context) {
  ServerContext* c = &context;
  router.Add("GET", "/projections", Role::kRead, "list_projections",
             [c](HttpRequest&) { return ListAll(*c); });
  router.Add("GET", "/projections/{name}", Role::kRead, "get_projection",
             [c](HttpRequest& r) { return ListOne(*c, r); });
  router.Add("GET", "/projections/{name}/diff", Role::kRead, "diff_projection",
             [c](HttpRequest& r) { return DiffRoute(*c, r); });
  router.Add("GET", "/projections/{name}/dead_letters", Role::kRead, "projection_dead_letters",
             [c](HttpRequest& r) { return DeadLettersRoute(*c, r); });
  router.Add("PUT", "/projections/{name}", Role::kAdmin, "deploy_projection",
             [c](HttpRequest& r) { return Deploy(*c, r); });
  router.Add("POST", "/projections/{name}/{action}", Role::kAdmin, "projection_action",
             [c](HttpRequest& r) { return Act(*c, r); });
}

}  // namespace triad::server
