#include "server/routes/health_routes.h"

#include <nlohmann/json.hpp>

#include "server/metrics.h"

namespace triad::server {

void RegisterHealthRoutes(Router& router, ServerContext& context) {
  router.Add("GET", "/health", Role::kNone, "health", [&context](HttpRequest&) {
    auto head = context.store->HeadPosition();
    if (!head.ok()) {
      // The process is up but cannot serve: a load balancer should look elsewhere.
      return ErrorResponse(503, "unavailable",
                           "the store is unavailable: " + head.status().ToString());
    }
    return JsonResponse(
        200, {{"status", "ok"}, {"head_position", *head}, {"store", context.store->Describe()}});
  });
  router.Add("GET", "/metrics", Role::kRead, "metrics", [&context](HttpRequest&) {
    std::string text =
        context.metrics != nullptr ? context.metrics->Render(context.store, context.engine) : "";
    return HttpResponse{.status = 200,
                        .content_type = "text/plain; version=0.0.4; charset=utf-8",
                        .body = std::move(text)};
  });
}

}  // namespace triad::server
