// GET /health (no role: load balancers probe it) and GET /metrics (role read, Prometheus text).
// While the server shuts down the transport answers /health itself with 503 "shutting_down".
//
// Thread-safety: the handlers are safe to run concurrently.
#pragma once

#include "server/router.h"
#include "server/server_context.h"

namespace triad::server {

// Registers the routes above; `context` must outlive the router's use.
void RegisterHealthRoutes(Router& router, ServerContext& context);

}  // namespace triad::server
