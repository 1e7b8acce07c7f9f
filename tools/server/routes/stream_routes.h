// The event-store routes of docs/http-api.md: POST /streams/{stream} (append),
// GET /streams/{stream} (read a stream), GET /streams (list), GET /events (read the log), and
// GET /subscribe (registered as a streaming route; the transport serves it, sse_session.h).
//
// Thread-safety: the handlers are safe to run concurrently (the store is thread-safe).
#pragma once

#include "server/router.h"
#include "server/server_context.h"

namespace triad::server {

// Registers the routes above; `context` must outlive the router's use.
void RegisterStreamRoutes(Router& router, ServerContext& context);

}  // namespace triad::server
