// Routes of consumer groups (docs/http-api.md, "Consumer groups"; docs/consumer-groups.md):
//   PUT    /groups/{group}                 admin  create (201), same settings again (200)
//   GET    /groups/{group}                 read   settings, checkpoint, counts, members
//   GET    /groups                         read   every group
//   DELETE /groups/{group}                 admin
//   POST   /groups/{group}/poll            write  take messages (max, wait_ms)
//   POST   /groups/{group}/ack             write
//   POST   /groups/{group}/nack            write  retry after the backoff, or park
//   GET    /groups/{group}/parked          read   from_position, limit
//   POST   /groups/{group}/parked/replay   admin
// Bodies are strict JSON objects (unknown members are refused, naming them). Durations are in
// milliseconds over HTTP and microseconds in the library.
//
// Thread-safety: the handlers are safe to run concurrently (ConsumerGroups is thread-safe); a
// poll blocks its worker for at most min(wait_ms, limits.max_wait_ms).
#pragma once

#include "triad/consumer_groups.h"

#include <nlohmann/json.hpp>

#include "server/router.h"
#include "server/server_context.h"

namespace triad::server {

// Registers the routes above. `context` must outlive the router. When context.groups is null
// every route answers 503 "unavailable".
void RegisterGroupRoutes(Router& router, ServerContext& context);

// A group as served by GET /groups/{group}.
nlohmann::json GroupInfoJson(const GroupInfo& info);

}  // namespace triad::server
