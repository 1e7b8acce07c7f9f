// Routes of projections (docs/http-api.md, "Projections and documents"): status, Lua deploys and
// operator actions.
//   GET  /projections                      read
//   GET  /projections/{name}               read
//   GET  /projections/{name}/diff          read   (blue/green: serving vs newest version)
//   GET  /projections/{name}/dead_letters  read
//   PUT  /projections/{name}               admin  (deploy a Lua projection)
//   POST /projections/{name}/{action}      admin  (pause resume reset trigger promote replay)
#pragma once

#include "triad/projection_engine.h"

#include <nlohmann/json.hpp>

#include "server/router.h"
#include "server/server_context.h"

namespace triad::server {

// Registers the routes above. `context` must outlive the router.
void RegisterProjectionRoutes(Router& router, ServerContext& context);

// A status as served by GET /projections; `scripted` says whether it is a Lua projection.
nlohmann::json ProjectionStatusJson(const ProjectionStatus& status, bool scripted);

}  // namespace triad::server
