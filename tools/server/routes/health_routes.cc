#include "server/routes/health_routes.h"

#include <nlohmann/json.hpp>

#include "server/metrics.h"

namespace triad::server {

void RegisterHealthRoutes(Router& router, ServerContext& context) {
  router.Add("GET", "/health", Role::kNone, "health", [&context](HttpRequest& request) {
    auto head = context.store->HeadPosition();
    if (!head.ok()) {
      // The process is up but cannot serve: a load balancer should look elsewhere.
      return ErrorResponse(503, "unavailable",
                           "the store is unavailable: " + head.status().ToString());
    }
    // Reads work but appends fail (e.g. the disk is full): not a node to send writes to.
    if (Status writes = context.store->WriteHealth(); !writes.ok()) {
      return ErrorResponse(503, "unavailable", "the store cannot write: " + writes.ToString());
    }
    nlohmann::json body = {{"status", "ok"}, {"head_position", *head}};
    // Which store this is (its URI, password masked) is for callers with a token only: an
    // unauthenticated caller learns that the server is up and nothing about where it keeps data.
    if (request.role >= Role::kRead) body["store"] = context.store->Describe();
    return JsonResponse(200, body);
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
