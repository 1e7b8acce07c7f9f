// GET /ping (no role): a constant JSON answer that touches no storage. Load balancers may use it
// as a liveness probe, and the HTTP benchmark uses it as the baseline of the transport's own
// cost (docs/performance.md).
#pragma once

#include "server/router.h"

namespace triad::server {

void RegisterPingRoute(Router& router);

}  // namespace triad::server
