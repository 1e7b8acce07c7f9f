// Routes of documents (docs/http-api.md, "Projections and documents"):
//   GET  /collections/{collection}/docs/{id}  read   (min_position + wait_ms, fresh)
//   GET  /collections/{collection}/docs       read   (where, order_by, limit, after, count)
//   POST /collections/{collection}/batch      write  (a client projection's batch)
#pragma once

#include "server/http_types.h"
#include "server/router.h"
#include "server/server_context.h"

namespace triad::server {

// Registers the routes above. `context` must outlive the router.
void RegisterDocumentRoutes(Router& router, ServerContext& context);

}  // namespace triad::server
