#include "server/routes/ping_route.h"

namespace triad::server {

void RegisterPingRoute(Router& router) {
  router.Add("GET", "/ping", Role::kNone, "ping", [](HttpRequest&) {
    return HttpResponse{.status = 200,
                        .content_type = "application/json",
                        .body = R"({"pong":true})",
                        .headers = {}};
  });
}

}  // namespace triad::server
