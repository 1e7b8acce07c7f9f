// The event-store routes of docs/http-api.md: POST /streams/{stream} (append),
// GET /streams/{stream} (read a stream), GET /streams (list), GET /events (read the log), and
// GET /subscribe (registered as a streaming route; the transport serves it, sse_session.h).
//
// Thread-safety: the handlers are safe to run concurrently (the store is thread-safe).
#pragma once

#include "triad/event_store.h"

#include <limits>

#include "server/http_types.h"
#include "server/router.h"
#include "server/server_context.h"

namespace triad::server {

// The largest position a read may start from (`from_position`; Last-Event-ID + 1).
inline constexpr Position kMaxReadPosition = std::numeric_limits<Position>::max() - 1;

// The `type` and `category` query parameters of GET /events and GET /subscribe into `options`.
// They are checked by the store (ReadAll/ScanAll: kInvalidArgument naming the bad filter).
void ReadEventFilters(const HttpRequest& request, ReadAllOptions& options);

// Registers the routes above; `context` must outlive the router's use.
void RegisterStreamRoutes(Router& router, ServerContext& context);

}  // namespace triad::server
